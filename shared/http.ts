/**
 * The HTTP client every tool uses to talk to heat-api-cfn, AWS and the
 * metadata services. It runs unattended, so every attempt has a timeout,
 * transient failures are retried a bounded number of times with jittered
 * backoff, each retry is signed afresh, and a skewed VM clock is corrected
 * from the server's Date. Errors and logs never show URL signatures or
 * proxy passwords.
 *
 * Requests are made with node:http/https directly rather than node-fetch 2:
 * node-fetch never settles a response whose body ends before its
 * Content-Length (it only detects truncated chunked bodies), which would
 * turn a dropped connection into a full timeout.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { parseAwsError } from './aws-error';
import {
  isClockSkewError,
  isRetryable,
  parseRetryAfter,
  planRetry,
  resolveRetryPolicy,
  type RetryPolicy,
} from './backoff';
import { Clock } from './clock';
import { ApiError, ConfigError, LimitError, NetworkError } from './errors';
import { nullLogger, type Logger } from './log';
import { AgentPool } from './proxy';
import { redact, redactUrl } from './redact';
import { sleep, startTimer, type Timer } from './timer';
import type { HttpRequest, HttpResponse, Signer } from './request';
import { describeCertificateError, isCertificateError, resolveTls } from './tls';
import type { TransportOptions } from './transport-options';

export type { RetryPolicy } from './backoff';

export interface HttpClientOptions {
  transport?: TransportOptions;
  /** per attempt, default 30000; covers connect + headers + body */
  timeoutMs?: number;
  /** defaults: 5 attempts, base 500 ms, cap 20 s */
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  /** for jitter; injectable for tests */
  random?: () => number;
  logger?: Logger;
  userAgent?: string;
  /** Monotonic milliseconds for deadlines (default performance.now); injectable for tests. */
  monotonicMs?: () => number;
}

export interface RequestOptions {
  signer?: Signer;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  /** Fail an attempt when no byte (headers or body) arrives for this long; retried like a timeout. */
  idleTimeoutMs?: number;
  /** The most body bytes accepted from a 2xx answer; more is a LimitError (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Stream a 2xx body into this file (created 0600, truncated on each attempt) instead of memory; `body` is then empty. */
  toFile?: string;
  /** The `--limit` name that raises maxBodyBytes, for the error message. */
  bodyLimitName?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Answers of the APIs are kilobytes; a server sending more than this is broken or hostile. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Of an error answer only the message is read. */
const ERROR_BODY_BYTES = 64 * 1024;
export const MAX_REDIRECTS = 5;
const DEFAULT_USER_AGENT = `cfntools (Node.js ${process.version}; ${process.platform})`;
const FOLLOW_REDIRECT_METHODS = new Set(['GET', 'HEAD']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class HttpClient {
  readonly clock: Clock;
  private readonly agents: AgentPool;
  private readonly logger: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly monotonicMs: () => number;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly userAgent: string;
  /** The CA override file when it is the whole trust store, for certificate errors. */
  private readonly caOverride?: string;

  /** Throws ConfigError for an unreadable CA bundle or a malformed proxy setting. */
  constructor(opts: HttpClientOptions = {}) {
    this.clock = opts.clock ?? new Clock();
    this.logger = opts.logger ?? nullLogger;
    this.sleep = opts.sleep ?? sleep;
    this.random = opts.random ?? Math.random;
    this.monotonicMs = opts.monotonicMs ?? (() => performance.now());
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = resolveRetryPolicy(opts.retry);
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    const transport = opts.transport ?? {};
    const tlsSettings = resolveTls(transport);
    for (const w of tlsSettings.warnings) this.logger.warn(w);
    if (!tlsSettings.rejectUnauthorized) {
      this.logger.warn('TLS certificate verification is disabled (--insecure): the server is not authenticated');
    }
    if (tlsSettings.override) this.logger.debug(`trusting only the CAs of the CA override ${tlsSettings.override}`);
    this.caOverride = tlsSettings.override;
    this.agents = new AgentPool(transport, tlsSettings);
  }

  /**
   * Resolves with the response on 2xx. Otherwise throws ApiError (status,
   * code, serverMessage, redacted url, serverDate) or NetworkError
   * (refused/reset/DNS/TLS/timeout/truncated body), after any retries.
   */
  async request(req: HttpRequest, opts: RequestOptions = {}): Promise<HttpResponse> {
    const policy = resolveRetryPolicy(this.retry, opts.retry);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const base = this.withDefaultHeaders(req);
    const what = `${req.method} ${redactUrl(req.url)}`;
    const started = this.monotonicMs();
    let attempts = 0;
    let skewRetried = false;
    for (;;) {
      attempts++;
      // Counted attempts exclude the one re-signed after a clock correction.
      const counted = attempts - (skewRetried ? 1 : 0);
      const label = `attempt ${counted}/${policy.maxAttempts}`;
      const elapsed = this.monotonicMs() - started;
      const limit = policy.deadlineMs === undefined ? timeoutMs : Math.min(timeoutMs, Math.max(1, policy.deadlineMs - elapsed));
      try {
        const signed = opts.signer ? await opts.signer(base, this.clock.now()) : base;
        // Rounded up: an attempt cut short by rounding would end just before the deadline and start a pointless last one.
        return await this.attempt(withContentLength(signed), Math.ceil(limit), label, opts);
      } catch (err) {
        if (!skewRetried && err instanceof ApiError && this.correctedSkew(err) && opts.signer) {
          skewRetried = true;
          continue;
        }
        if (!isRetryable(err)) throw err;
        const retryAfter = err instanceof ApiError ? parseRetryAfter(err.retryAfter, this.clock.now()) : undefined;
        const plan = planRetry(counted, this.monotonicMs() - started, policy, this.random, retryAfter);
        if (!plan.retry) {
          this.logger.debug(`${what}: giving up after ${attempts} attempt(s) (${plan.reason === 'deadline' ? `deadline ${policy.deadlineMs} ms` : 'attempt limit'})`);
          throw err instanceof NetworkError && attempts > 1
            ? new NetworkError(`${err.message}; gave up after ${attempts} attempts`, err.url, err.code, { cause: err })
            : err;
        }
        this.logger.debug(`${what}: ${summary(err)} (${label}); retrying in ${plan.delayMs} ms`);
        await this.sleep(plan.delayMs);
      }
    }
  }

  /** Close idle sockets; the client must not be used afterwards. */
  close(): void {
    this.agents.destroy();
  }

  private withDefaultHeaders(req: HttpRequest): HttpRequest {
    const names = new Set(Object.keys(req.headers).map((h) => h.toLowerCase()));
    const headers = { ...req.headers };
    if (!names.has('user-agent')) headers['User-Agent'] = this.userAgent;
    return { ...req, headers };
  }

  /**
   * On an error that blames our clock, adopt the server's time. Returns true
   * when the clock moved, i.e. a re-signed retry has a chance.
   */
  private correctedSkew(err: ApiError): boolean {
    if (!isClockSkewError(err.status, err.code, err.serverMessage, err.serverDate, this.clock.now())) return false;
    const before = this.clock.offset;
    if (!this.clock.correctFrom(err.serverDate)) return false;
    const seconds = Math.round((this.clock.offset - before) / 1000);
    this.logger.warn(
      `clock skew: ${err.url} answered ${err.status} ${err.code} with Date ${err.serverDate}, ` +
        `${Math.abs(seconds)} s ${seconds > 0 ? 'ahead of' : 'behind'} this host; signing with the server's time (offset ${Math.round(this.clock.offset / 1000)} s)`,
    );
    return true;
  }

  /** One attempt: the request plus any redirects, all within one timeout (and, when asked, an idle timeout). */
  private async attempt(req: HttpRequest, timeoutMs: number, label: string, opts: RequestOptions): Promise<HttpResponse> {
    const controller = new AbortController();
    const timer = startTimer(() => controller.abort(), timeoutMs);
    const limits = { idleMs: opts.idleTimeoutMs, idled: false, maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, toFile: opts.toFile, limitName: opts.bodyLimitName };
    let idle: Timer | undefined;
    const progress = () => {
      if (limits.idleMs === undefined) return;
      idle?.clear();
      idle = startTimer(() => {
        limits.idled = true;
        controller.abort();
      }, limits.idleMs);
    };
    progress();
    try {
      let current = req;
      for (let redirects = 0; ; redirects++) {
        const { res, proxy } = await this.send(current, controller.signal, timeoutMs, limits, progress);
        this.logger.debug(`${current.method} ${redactUrl(current.url)} -> ${res.status} (${label}${proxy ? `, via proxy ${proxy}` : ''})`);
        if (res.status >= 200 && res.status < 300) return res;
        const location = res.headers.location;
        if (REDIRECT_STATUSES.has(res.status) && location && FOLLOW_REDIRECT_METHODS.has(current.method.toUpperCase())) {
          if (redirects >= MAX_REDIRECTS) {
            throw new ApiError(res.status, 'TooManyRedirects', `more than ${MAX_REDIRECTS} redirects`, redactUrl(current.url), res.headers.date);
          }
          try {
            current = redirected(current, location);
          } catch {
            throw new ApiError(res.status, 'InvalidRedirect', `redirect to ${JSON.stringify(redact(location).slice(0, 200))}, which is not a URL`, redactUrl(current.url), res.headers.date);
          }
          continue;
        }
        throw toApiError(res, current.url);
      }
    } finally {
      timer.clear();
      idle?.clear();
    }
  }

  private send(
    req: HttpRequest,
    signal: AbortSignal,
    timeoutMs: number,
    limits: { idleMs?: number; idled: boolean; maxBodyBytes: number; toFile?: string; limitName?: string },
    progress: () => void,
  ): Promise<{ res: HttpResponse; proxy?: string }> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new ConfigError(`invalid URL ${redactUrl(req.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`unsupported URL scheme ${url.protocol} in ${redactUrl(req.url)}`);
    }
    checkHeaders(req);
    const { agent, proxy } = this.agents.agentFor(url);
    // Set once the headers are in, so any failure after that can say how much of the body arrived.
    let bodyProgress: (() => string) | undefined;
    const fail = (err: unknown) => (err instanceof LimitError ? err : toNetworkError(err, req, { signal, timeoutMs, idleMs: limits.idled ? limits.idleMs : undefined, proxy, bodyProgress: bodyProgress?.(), caOverride: this.caOverride }));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let fd: number | undefined;
      const closeFile = () => {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
      };
      const creq = transport.request(url, { method: req.method, headers: req.headers, agent, signal }, (res) => {
        progress();
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        // Redirects and errors are read for their message only; a 2xx body is the answer.
        const cap = ok ? limits.maxBodyBytes : ERROR_BODY_BYTES;
        const chunks: Buffer[] = [];
        let received = 0;
        bodyProgress = () => `${received} of ${res.headers['content-length'] ?? 'unknown'} body bytes`;
        try {
          if (ok && limits.toFile !== undefined) fd = fs.openSync(limits.toFile, 'w', 0o600);
        } catch (err) {
          res.destroy();
          return reject(new ConfigError(`cannot write the download to ${limits.toFile}: ${(err as Error).message}`));
        }
        res.on('data', (chunk: Buffer) => {
          progress();
          received += chunk.length;
          if (received > cap) {
            if (!ok) return; // the rest of an error page is not needed
            closeFile();
            res.destroy();
            const name = limits.limitName ? ` (--limit ${limits.limitName}=SIZE raises it)` : '';
            return reject(new LimitError(limits.limitName ?? 'body-size', `${req.method} ${redactUrl(req.url)}: the answer is larger than ${limits.maxBodyBytes} bytes${name}`));
          }
          if (fd !== undefined) fs.writeSync(fd, chunk);
          else chunks.push(chunk);
        });
        // A connection closed mid-body surfaces as an 'error' ("aborted") on the response.
        res.on('error', (err) => {
          closeFile();
          reject(fail(err));
        });
        res.on('end', () => {
          closeFile();
          if (!res.complete) return reject(fail(prematureClose()));
          const response = { status, headers: flattenHeaders(res.headers), body: Buffer.concat(chunks), url: req.url };
          resolve({ res: response, proxy });
        });
      });
      creq.on('error', (err) => {
        closeFile();
        reject(fail(err));
      });
      creq.end(req.body);
    });
  }
}

/**
 * Node refuses a header HTTP does not allow: a key or token (from a file,
 * the metadata service, an answer) holding a control character is a
 * ConfigError naming the header, never its value.
 */
function checkHeaders(req: HttpRequest): void {
  for (const [name, value] of Object.entries(req.headers)) {
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch (err) {
      throw new ConfigError(`cannot send ${req.method} ${redactUrl(req.url)}: ${(err as Error).message}: a key, token or value with a character HTTP does not allow`);
    }
  }
}

/** Set after signing: SigV2 over POST adds its fields to the body, so the length is only known then. */
function withContentLength(req: HttpRequest): HttpRequest {
  if (req.body === undefined) return req;
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.toLowerCase() !== 'content-length'));
  return { ...req, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(req.body)) } };
}

function prematureClose(): NodeJS.ErrnoException {
  return Object.assign(new Error('connection closed before the end of the body'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Follow a redirect; credentials meant for one origin are not replayed to another. */
function redirected(req: HttpRequest, location: string): HttpRequest {
  const from = new URL(req.url);
  const to = new URL(location, from);
  let headers = req.headers;
  if (to.origin !== from.origin) {
    headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => !/^(authorization|cookie|x-amz-.*|x-auth-token|x-aws-ec2-metadata-token)$/i.test(name)),
    );
  }
  return { method: req.method, url: to.href, headers };
}

function toApiError(res: HttpResponse, requestUrl: string): ApiError {
  const info = parseAwsError(res.status, res.headers['content-type'], res.body.toString('utf8'));
  let message = info.message;
  if (REDIRECT_STATUSES.has(res.status) && res.headers.location) {
    message = `redirect to ${res.headers.location} not followed for this method${message ? `; ${message}` : ''}`;
  }
  // Servers echo canonical requests and URLs in their messages.
  return new ApiError(res.status, info.code, redact(message), redactUrl(requestUrl), res.headers.date, res.headers['retry-after']);
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'temporary failure in name resolution',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

function toNetworkError(
  err: unknown,
  req: HttpRequest,
  ctx: { signal: AbortSignal; timeoutMs: number; idleMs?: number; proxy?: string; bodyProgress?: string; caOverride?: string },
): NetworkError {
  const url = redactUrl(req.url);
  const via = ctx.proxy ? ` via proxy ${ctx.proxy}` : '';
  const sys = err as NodeJS.ErrnoException;
  // Whatever the socket reported, an abort we caused is our timeout.
  if (ctx.signal.aborted) {
    const stage = ctx.bodyProgress ? ` reading the body (${ctx.bodyProgress})` : '';
    const what = ctx.idleMs !== undefined ? `no data for ${ctx.idleMs} ms` : `timed out after ${ctx.timeoutMs} ms`;
    return new NetworkError(`${req.method} ${url}${via}: ${what}${stage}`, url, 'ETIMEDOUT', { cause: err });
  }
  let code = typeof sys?.code === 'string' ? sys.code : undefined;
  const detail = redact(sys instanceof Error ? sys.message : String(err));
  let reason: string;
  if (ctx.bodyProgress) {
    code = 'ERR_STREAM_PREMATURE_CLOSE';
    reason = `connection closed after ${ctx.bodyProgress}`;
  } else if (isCertificateError(code)) {
    reason = describeCertificateError(code!, detail, ctx.caOverride);
  } else {
    reason = (code && NETWORK_REASONS[code]) ?? detail;
    if (reason !== detail && code !== 'ECONNREFUSED') reason += ` (${detail})`;
  }
  return new NetworkError(`${req.method} ${url}${via}: ${reason}${code ? ` [${code}]` : ''}`, url, code, { cause: err });
}

function summary(err: unknown): string {
  if (err instanceof ApiError) return `HTTP ${err.status} ${err.code}`;
  if (err instanceof NetworkError) return err.code ?? 'network error';
  return String(err);
}
