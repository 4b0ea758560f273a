/**
 * When a polling daemon (cfn-hup, heat-agent) checks, as pure functions of the start time, the interval, a
 * per-instance seed and the failures so far, so that a fleet can be run on a
 * virtual clock (`npm run fleet-sim`).
 *
 * A fleet started in the same second must not poll in the same second ever
 * after. Each instance has a fixed phase in the interval, drawn from its
 * seed: it checks at start + phase + k × interval, whatever its passes cost,
 * so instances never drift into each other. The first check comes within 30
 * seconds of the start (a change made while the instance booted is seen
 * soon); the second already lands on the instance's phase. A failed check
 * backs off: one interval, doubling up to four (at most an hour, never below
 * one interval), plus up to half as much again at random so that instances
 * that failed together come back apart, and longer if the server asked
 * (Retry-After); the next success returns to the phase. Failing instances thus ask less
 * often, not more, and come back spread out.
 */
import type { RetryPolicy } from './backoff';
import { ConfigError } from './errors';

export interface Schedule {
  startMs: number;
  intervalMs: number;
  /** 32 bits, drawn once per daemon start. */
  seed: number;
}

export interface PassRecord {
  /** When the pass began and ended. */
  atMs: number;
  endedMs: number;
  /** Passes in a row with a failed fetch, this one included; 0 after a clean pass. */
  failures: number;
  /** The longest Retry-After the server sent in this pass. */
  retryAfterMs?: number;
}

/**
 * The longest interval a daemon takes (and cfn-hup's longest splay): a day.
 * Longer ones would put the next check past what a Date holds.
 */
export const MAX_INTERVAL_MS = 24 * 60 * 60_000;
/**
 * An interval in milliseconds from the environment variable `name`
 * (CFNTOOLS_HUP_INTERVAL_MS, CFNTOOLS_AGENT_INTERVAL_MS): checks this often
 * whatever the configuration says, so that a benchmark makes a thousand
 * checks in a minute. Undefined when unset.
 */
export function intervalFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  if (!(/^[1-9]\d*$/.test(raw) && Number(raw) <= MAX_INTERVAL_MS)) throw new ConfigError(`${name}: expected milliseconds from 1 to ${MAX_INTERVAL_MS}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The first check comes this long after the start at most. */
export const FIRST_PASS_SPLAY_MS = 30_000;
/** The longest wait a failure or a Retry-After causes, for intervals below it. */
export const MAX_BACKOFF_MS = 60 * 60_000;

/**
 * One check's HTTP retries: a blip is retried within the pass, an outage is
 * left to the pass backoff above (cheaper for the server than retrying each
 * request five times).
 */
export function pollRetryPolicy(intervalMs: number): RetryPolicy {
  return { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000, deadlineMs: Math.min(intervalMs / 2, 60_000) };
}

/** A number in [0, 1) from the seed and a salt: the same inputs, the same number (a 32-bit integer hash). */
export function unit(seed: number, salt: number): number {
  let h = (seed ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 2 ** 32;
}

/** Where in each interval this instance checks. */
export function phaseMs(s: Schedule): number {
  return Math.floor(unit(s.seed, 0) * s.intervalMs);
}

export function firstPassAt(s: Schedule): number {
  return s.startMs + Math.floor(unit(s.seed, 1) * Math.min(s.intervalMs, FIRST_PASS_SPLAY_MS));
}

/** The first of this instance's slots (start + phase + k × interval) after `afterMs`. */
export function nextSlot(s: Schedule, afterMs: number): number {
  const base = s.startMs + phaseMs(s);
  const k = Math.max(0, Math.floor((afterMs - base) / s.intervalMs) + 1);
  return base + k * s.intervalMs;
}

/** When to check after `last`. */
export function nextPassAt(s: Schedule, last: PassRecord): number {
  if (last.failures === 0) {
    // Never twice within half an interval, even when the first check fell just before a slot.
    return nextSlot(s, Math.max(last.endedMs, last.atMs + s.intervalMs / 2) - 1);
  }
  const cap = Math.max(s.intervalMs, Math.min(4 * s.intervalMs, MAX_BACKOFF_MS));
  const ceiling = Math.min(cap, s.intervalMs * 2 ** (last.failures - 1));
  const jittered = ceiling * (1 + 0.5 * unit(s.seed, 2 + last.failures + (last.atMs % 0x7fffffff)));
  const asked = Math.min(last.retryAfterMs ?? 0, Math.max(cap, MAX_BACKOFF_MS));
  return last.endedMs + Math.floor(Math.max(jittered, asked));
}

/** How long a --no-daemon run waits before its check, out of `splayMs`. */
export function oneShotDelayMs(seed: number, splayMs: number): number {
  return Math.floor(unit(seed, 3) * splayMs);
}
