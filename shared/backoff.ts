/**
 * Retry policy for the HTTP client, kept pure so it can be tested without a
 * network: which failures are worth another attempt, how long to wait, and
 * when the server is telling us our clock is wrong.
 *
 * The tools run unattended at boot, when Heat/AWS endpoints, DNS and the
 * network itself may still be coming up, so transient failures are retried;
 * but a retry loop must never run forever (peers' tools retry some errors
 * forever, or for minutes per call), so
 * every retry is bounded by an attempt count and optionally a deadline.
 */
import { ApiError, ConfigError, NetworkError } from './errors';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** stop retrying once this much time has passed since the first attempt */
  deadlineMs?: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 20_000 };

/** Later overrides win; undefined fields do not erase earlier ones. */
export function resolveRetryPolicy(...overrides: Array<Partial<RetryPolicy> | undefined>): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const o of overrides) {
    if (!o) continue;
    for (const key of ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'deadlineMs'] as const) {
      if (o[key] !== undefined) policy[key] = o[key];
    }
  }
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ConfigError(`retry maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  for (const key of ['baseDelayMs', 'maxDelayMs', 'deadlineMs'] as const) {
    const v = policy[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ConfigError(`retry ${key} must be a number >= 0, got ${v}`);
  }
  return policy;
}

/**
 * Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * spreads the retries of many instances that failed together, which is what
 * happens when a whole stack boots against one heat-api-cfn.
 * `retryIndex` is 0 for the first retry.
 */
export function backoffDelay(retryIndex: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retryIndex);
  return Math.floor(random() * ceiling);
}

export type RetryPlan = { retry: true; delayMs: number } | { retry: false; reason: 'attempts' | 'deadline' };

/** The longest Retry-After honoured when no deadline bounds the wait. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * Whether to make attempt number `attemptsMade + 1`. A retry that could only
 * start after the deadline is not made: sleeping just to fail is pointless.
 * A server's Retry-After (`retryAfterMs`) is waited out when it is longer
 * than the backoff: throttling that names its own pace is obeyed, within the
 * deadline (or MAX_RETRY_AFTER_MS without one).
 */
export function planRetry(attemptsMade: number, elapsedMs: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): RetryPlan {
  if (attemptsMade >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  const asked = retryAfterMs === undefined ? 0 : policy.deadlineMs === undefined ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) : retryAfterMs;
  const delayMs = Math.max(backoffDelay(attemptsMade - 1, policy, random), asked);
  if (policy.deadlineMs !== undefined && elapsedMs + delayMs >= policy.deadlineMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}

/** A Retry-After header (seconds, or an HTTP date) as milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Error codes AWS services (and Heat's HeatThrottlingError) use for "slow down", whatever the HTTP status. */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
]);

/**
 * Connection-level failures that a later attempt may not hit. DNS NXDOMAIN
 * (ENOTFOUND) and certificate errors are deliberately absent: they are
 * configuration problems, and retrying only delays the message.
 */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isRetryableStatus(status: number, code?: string): boolean {
  if (code && THROTTLING_CODES.has(code)) return true;
  if (status === 429) return true;
  // 501 Not Implemented will not start being implemented on the next attempt.
  return status >= 500 && status !== 501;
}

export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_NETWORK_CODES.has(code);
}

/** The verdict for one failed attempt; anything that is not ours (a bug) is never retried. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ApiError) return isRetryableStatus(err.status, err.code);
  if (err instanceof NetworkError) return isRetryableNetworkCode(err.code);
  return false;
}

/** Heat/keystone answer a stale timestamp with a plain 403; a Date this far off makes skew the likely cause. */
export const SKEW_THRESHOLD_MS = 5 * 60_000;

const SKEW_CODES = new Set(['RequestExpired', 'RequestTimeTooSkewed', 'RequestInTheFuture']);
const EXPIRED_SIGNATURE_CODES = new Set(['InvalidSignatureException', 'SignatureDoesNotMatch', 'AuthFailure']);

/**
 * True when a 4xx says (or strongly suggests) that our request time is wrong,
 * so correcting the clock from the server's Date and re-signing may succeed.
 */
export function isClockSkewError(
  status: number,
  code: string,
  message: string,
  serverDate: string | undefined,
  localNow: Date,
): boolean {
  if (status < 400 || status >= 500) return false;
  if (SKEW_CODES.has(code)) return true;
  if (EXPIRED_SIGNATURE_CODES.has(code) && /expired/i.test(message)) return true;
  if ((status !== 401 && status !== 403) || !serverDate) return false;
  const server = Date.parse(serverDate);
  return !Number.isNaN(server) && Math.abs(server - localNow.getTime()) > SKEW_THRESHOLD_MS;
}
