/**
 * What the emulator adds to PutMetricData beyond Heat: a request rate per
 * access key (CloudWatch throttles, Heat never did) and how strictly the
 * datapoints are checked ('heat': as heat-api-cloudwatch took them, which
 * heat-cfntools' lower-case units rely on; 'aws': CloudWatch's limits).
 * Set at start (options, flags) and at run time (admin API).
 */
import { type Bucket, retryAfterSeconds, takeToken, type TokenRate } from './token-bucket';

export type MetricRate = TokenRate;
export type MetricValidation = 'aws' | 'heat';

export interface MetricPolicy {
  /** null: unlimited. */
  rate: MetricRate | null;
  validation: MetricValidation;
}

export const DEFAULT_METRIC_POLICY: Readonly<MetricPolicy> = { rate: null, validation: 'heat' };

export class MetricPolicyError extends Error {
  constructor(
    readonly detail: string,
    readonly source: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'MetricPolicyError';
  }
}

export function validateMetricRate(v: unknown, source: string): MetricRate | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new MetricPolicyError('rate must be {"perSecond": N, "burst": N} or null', source);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'perSecond' && k !== 'burst') throw new MetricPolicyError(`rate.${k}: unknown key (expected perSecond, burst)`, source);
  const { perSecond, burst } = o;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0) throw new MetricPolicyError('rate.perSecond: must be a number > 0', source);
  if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1) throw new MetricPolicyError('rate.burst: must be a number >= 1', source);
  return { perSecond, burst };
}

export function validateMetricValidation(v: unknown, source: string): MetricValidation {
  if (v === 'aws' || v === 'heat') return v;
  throw new MetricPolicyError(`validation must be "aws" or "heat", not ${JSON.stringify(v)}`, source);
}

/** A whole policy (the admin API's body): a key left out takes its default, so a PUT always says everything. */
export function validateMetricPolicy(v: unknown, source: string): MetricPolicy {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new MetricPolicyError('the metric policy must be a mapping {"rate": ..., "validation": ...}', source);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'rate' && k !== 'validation') throw new MetricPolicyError(`${k}: unknown key (expected rate, validation)`, source);
  return {
    rate: o.rate === undefined ? DEFAULT_METRIC_POLICY.rate : validateMetricRate(o.rate, source),
    validation: o.validation === undefined ? DEFAULT_METRIC_POLICY.validation : validateMetricValidation(o.validation, source),
  };
}

/** `--metric-rate R[/B]`: R requests per second sustained, bursts of B (default R rounded up, at least 1). */
export function parseMetricRateFlag(text: string): MetricRate {
  const m = /^([^/]+)(?:\/([^/]+))?$/.exec(text.trim());
  const perSecond = Number(m?.[1]);
  const burst = m?.[2] === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(m[2]);
  if (!m || !Number.isFinite(perSecond) || !Number.isFinite(burst)) throw new MetricPolicyError(`${JSON.stringify(text)}: expected R or R/B, e.g. 2/5`, '--metric-rate');
  return validateMetricRate({ perSecond, burst }, `--metric-rate ${text}`)!;
}

/** The policy in force, the buckets of the keys seen and the requests each key had throttled. */
export class MetricGate {
  private current: MetricPolicy;
  private readonly buckets = new Map<string, Bucket>();
  private readonly throttled = new Map<string, number>();

  /** Policies come validated (validateMetricPolicy) from the options, flags and admin API. */
  constructor(policy: MetricPolicy = DEFAULT_METRIC_POLICY) {
    this.current = policy;
  }

  get(): MetricPolicy {
    return { rate: this.current.rate && { ...this.current.rate }, validation: this.current.validation };
  }

  /** A new rate starts every key with a full bucket: what a test set up is what it gets. */
  set(policy: MetricPolicy): void {
    this.current = policy;
    this.buckets.clear();
  }

  get validation(): MetricValidation {
    return this.current.validation;
  }

  /** undefined: the key may go on (its token is taken); else the whole seconds to wait, and the refusal is counted. */
  admit(accessKey: string, now: number): number | undefined {
    const rate = this.current.rate;
    if (!rate) return undefined;
    const take = takeToken(this.buckets.get(accessKey), rate, now);
    this.buckets.set(accessKey, take.bucket);
    if (take.ok) return undefined;
    this.throttled.set(accessKey, (this.throttled.get(accessKey) ?? 0) + 1);
    return retryAfterSeconds(take.retryAfterMs);
  }

  throttledCounts(): Record<string, number> {
    return Object.fromEntries(this.throttled);
  }

  /** Buckets and counts dropped (reset, metrics cleared); the policy stays, like faults. */
  clear(): void {
    this.buckets.clear();
    this.throttled.clear();
  }
}
