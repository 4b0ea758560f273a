/**
 * A fleet of cfn-hup daemons on a virtual clock (`npm run fleet-sim`,
 * docs/FLEET.md). Each instance runs the daemon's real schedule
 * (shared/poll-schedule.ts) and the HTTP client's real in-check retries
 * (shared/backoff.ts planRetry with pollRetryPolicy); only the network is
 * modelled: one DescribeStackResource per check (one watched resource), each
 * attempt answered after a fixed time, with a 503 while an outage lasts.
 * Pure and deterministic: the same options give the same result.
 */
import { planRetry } from '../../shared/backoff';
import { firstPassAt, nextPassAt, pollRetryPolicy, type Schedule } from '../../shared/poll-schedule';

/**
 * How long an attempt takes until its answer. Round figures of a loopback
 * heat-api-cfn: they only shift when a pass ends, which moves a failed
 * instance's backoff by milliseconds and never moves a phase slot.
 */
export const ANSWER_MS = 20;
export const UNAVAILABLE_MS = 10;

export interface Outage {
  /** The endpoint answers 503 to every attempt sent in [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /** Sent with each 503 when set (the header Retry-After, in milliseconds). */
  retryAfterMs?: number;
}

export interface FleetOptions {
  instances: number;
  durationMs: number;
  intervalMs: number;
  outage?: Outage;
  seed: number;
}

export interface FleetResult {
  /** HTTP attempts sent in each second of the run, by send time. */
  arrivals: Int32Array;
  requests: number;
  failedChecks: number;
}

/**
 * 32-bit outputs, uniform like crypto.randomInt(2 ** 32) (sfc32, its state
 * filled by splitmix32 so that nearby sim seeds give unrelated streams).
 */
function prng(seed: number): () => number {
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // sfc32's first outputs still show the seeding.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/**
 * A binary min-heap of instances by the time of their next attempt; each
 * instance has one pending attempt at most. Ties go to the lower instance,
 * which keeps the retry draws, and so the run, deterministic.
 */
class EventQueue {
  private readonly heap: number[] = [];
  constructor(private readonly at: Float64Array) {}

  get size(): number {
    return this.heap.length;
  }
  peekTime(): number {
    return this.at[this.heap[0]];
  }
  push(instance: number, atMs: number): void {
    this.at[instance] = atMs;
    this.heap.push(instance);
    this.up(this.heap.length - 1);
  }
  pop(): number {
    const top = this.heap[0];
    const last = this.heap.pop() as number;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }
  private before(i: number, j: number): boolean {
    const a = this.heap[i];
    const b = this.heap[j];
    return this.at[a] < this.at[b] || (this.at[a] === this.at[b] && a < b);
  }
  private swap(i: number, j: number): void {
    [this.heap[i], this.heap[j]] = [this.heap[j], this.heap[i]];
  }
  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }
  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.before(l, m)) m = l;
      if (r < this.heap.length && this.before(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

interface Daemon {
  schedule: Schedule;
  /** Checks in a row whose request failed, as the daemon counts them. */
  failures: number;
  checkAtMs: number;
  attempts: number;
}

/** The whole fleet starts in the same second, each daemon with its own randomInt(2 ** 32) seed. */
function startFleet(o: FleetOptions): Daemon[] {
  const draw = prng(o.seed);
  return Array.from({ length: o.instances }, () => {
    const startMs = Math.floor((draw() / 2 ** 32) * 1000);
    const schedule = { startMs, intervalMs: o.intervalMs, seed: draw() };
    return { schedule, failures: 0, checkAtMs: firstPassAt(schedule), attempts: 0 };
  });
}

export function simulateFleet(o: FleetOptions): FleetResult {
  const daemons = startFleet(o);
  // A stream of its own: an outage changes how many retry draws are made, and must not change the fleet.
  const draw = prng(o.seed ^ 0x5bd1e995);
  const random = () => draw() / 2 ** 32;
  const policy = pollRetryPolicy(o.intervalMs);
  const result: FleetResult = { arrivals: new Int32Array(Math.ceil(o.durationMs / 1000)), requests: 0, failedChecks: 0 };
  const queue = new EventQueue(new Float64Array(o.instances));
  daemons.forEach((d, i) => queue.push(i, d.checkAtMs));

  const endCheck = (i: number, endedMs: number, failed: boolean, retryAfterMs?: number) => {
    const d = daemons[i];
    d.failures = failed ? d.failures + 1 : 0;
    if (failed) result.failedChecks++;
    d.checkAtMs = nextPassAt(d.schedule, { atMs: d.checkAtMs, endedMs, failures: d.failures, retryAfterMs });
    d.attempts = 0;
    queue.push(i, d.checkAtMs);
  };

  while (queue.size > 0 && queue.peekTime() < o.durationMs) {
    const sentMs = queue.peekTime();
    const i = queue.pop();
    const d = daemons[i];
    result.arrivals[Math.floor(sentMs / 1000)]++;
    result.requests++;
    d.attempts++;
    const out = o.outage;
    if (!out || sentMs < out.fromMs || sentMs >= out.toMs) {
      endCheck(i, sentMs + ANSWER_MS, false);
      continue;
    }
    const answeredMs = sentMs + UNAVAILABLE_MS;
    const plan = planRetry(d.attempts, answeredMs - d.checkAtMs, policy, random, out.retryAfterMs);
    if (plan.retry) queue.push(i, answeredMs + plan.delayMs);
    else endCheck(i, answeredMs, true, out.retryAfterMs);
  }
  return result;
}

export interface Load {
  max: number;
  mean: number;
  /** max / mean */
  peak: number;
}

/** Arrivals per second from `fromMs` (a whole second) to the end of the run. */
export function loadFrom(arrivals: Int32Array, fromMs: number): Load {
  const bins = arrivals.subarray(Math.ceil(fromMs / 1000));
  let max = 0;
  let sum = 0;
  for (const n of bins) {
    max = Math.max(max, n);
    sum += n;
  }
  const mean = sum / bins.length;
  return { max, mean, peak: max / mean };
}

/** ln of e^-lambda lambda^j / j!, the Poisson(lambda) probability of exactly j. */
function logPoissonTerm(lambda: number, j: number): number {
  let t = -lambda;
  for (let i = 1; i <= j; i++) t += Math.log(lambda / i);
  return t;
}

/**
 * P(X > k) for X ~ Poisson(lambda). Beyond the mean the tail is summed
 * itself, relative to its first term, so that a tail of 1e-12 stays exact
 * and a large lambda does not underflow; below it, one minus the head.
 */
function poissonAbove(lambda: number, k: number): number {
  if (k < lambda) {
    let head = 0;
    let logTerm = -lambda;
    for (let j = 0; j <= k; j++) {
      if (j > 0) logTerm += Math.log(lambda / j);
      head += Math.exp(logTerm);
    }
    return 1 - head;
  }
  let sum = 0;
  for (let j = k + 1, rel = 1; rel > 1e-17 * sum; j++) {
    sum += rel;
    rel *= lambda / (j + 1);
  }
  return Math.exp(logPoissonTerm(lambda, k + 1) + Math.log(sum));
}

/**
 * ln P(every one of `bins` independent Poisson(lambda) counts <= k): the
 * chance that independently placed arrivals keep the busiest second at k.
 */
export function logChanceMaxAtMost(lambda: number, bins: number, k: number): number {
  return bins * Math.log1p(-poissonAbove(lambda, k));
}

/** The busiest of `bins` independent Poisson(lambda) seconds, on average: sum over k of P(max > k). */
export function expectedPoissonMax(lambda: number, bins: number): number {
  let e = 0;
  for (let k = 0; ; k++) {
    const above = -Math.expm1(logChanceMaxAtMost(lambda, bins, k));
    if (k > lambda && above < 1e-12) return e;
    e += above;
  }
}

/** The smallest k that all `bins` independent Poisson(lambda) counts stay at or below, except with probability `p`. */
export function poissonMaxBound(lambda: number, bins: number, p: number): number {
  let k = Math.floor(lambda);
  while (-Math.expm1(logChanceMaxAtMost(lambda, bins, k)) > p) k++;
  return k;
}
