/**
 * A token bucket as a pure function of its state and the time: `burst`
 * requests at once, then `perSecond` sustained. The caller keeps one bucket
 * per client and passes the clock in, so tests can step time exactly.
 */

export interface TokenRate {
  /** Tokens added per second (sustained requests per second). */
  perSecond: number;
  /** Capacity: requests allowed at once after a quiet spell. */
  burst: number;
}

export interface Bucket {
  tokens: number;
  /** Clock (ms) the tokens were counted at. */
  at: number;
}

export type Take = { ok: true; bucket: Bucket } | { ok: false; bucket: Bucket; retryAfterMs: number };

/** One request's token: granted and taken, or refused with the time until the next one. */
export function takeToken(bucket: Bucket | undefined, rate: TokenRate, now: number): Take {
  // A client not seen before starts full. A clock that steps back refills nothing, and the
  // bucket keeps its later time so that no stretch of time is credited twice.
  const at = bucket ? Math.max(bucket.at, now) : now;
  const tokens = bucket ? Math.min(rate.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rate.perSecond) : rate.burst;
  if (tokens >= 1) return { ok: true, bucket: { tokens: tokens - 1, at } };
  return { ok: false, bucket: { tokens, at }, retryAfterMs: ((1 - tokens) / rate.perSecond) * 1000 };
}

/** `Retry-After` in whole seconds, rounded up: a client that waits that long gets its token. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
