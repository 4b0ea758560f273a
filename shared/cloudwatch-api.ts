/**
 * CloudWatch PutMetricData (AWS, and the removed heat-api-cloudwatch): the
 * request, and a run's delivery: its datapoints in as few signed requests
 * as the API's limits allow (1,000 metrics, 1 MB), or one metric per
 * request for Heat's old API, which read only the first; throttling and
 * transient failures retried with jittered backoff (Retry-After obeyed)
 * until one deadline for the whole run.
 */
import { THROTTLING_CODES } from './backoff';
import { ApiError, CfnError } from './errors';
import type { RetryPolicy } from './http';
import type { Logger } from './log';
import type { QueryClient } from './query-api';
import { uriEncode } from './sigv4';

export const CLOUDWATCH_API_VERSION = '2010-08-01';

export interface MetricDatum {
  name: string;
  value: number;
  unit?: string;
  timestamp?: Date;
  dimensions?: Array<{ name: string; value: string }>;
}

/**
 * A number in plain decimal notation, as exact as JavaScript's shortest
 * form: `1e-7` becomes `0.0000001`. Query API servers read decimals; not
 * all of them read exponents.
 */
export function decimalString(v: number): string {
  const short = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(short);
  if (!m) return short;
  const [, sign, lead, rest = '', exp] = m;
  const digits = lead + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Flatten metrics into `MetricData.member.N.*` parameters (1-based, as the Query API numbers lists). */
export function metricParams(namespace: string, metrics: MetricDatum[]): Record<string, string> {
  const p: Record<string, string> = { Namespace: namespace };
  metrics.forEach((m, i) => {
    const pre = `MetricData.member.${i + 1}.`;
    p[`${pre}MetricName`] = m.name;
    p[`${pre}Value`] = decimalString(m.value);
    if (m.unit) p[`${pre}Unit`] = m.unit;
    if (m.timestamp) p[`${pre}Timestamp`] = m.timestamp.toISOString();
    (m.dimensions ?? []).forEach((d, j) => {
      p[`${pre}Dimensions.member.${j + 1}.Name`] = d.name;
      p[`${pre}Dimensions.member.${j + 1}.Value`] = d.value;
    });
  });
  return p;
}

/** One PutMetricData request of `metrics`, as they are. */
export async function putMetricData(client: QueryClient, namespace: string, metrics: MetricDatum[], retry?: Partial<RetryPolicy>): Promise<void> {
  await client.call('PutMetricData', metricParams(namespace, metrics), { retry });
}

export const MAX_METRICS_PER_REQUEST = 1000;
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Enough that the deadline, not the count, ends the retries of a throttled run. */
const RETRY_ATTEMPTS = 20;
/** Room kept in a body for Action, Version and Namespace. */
const BODY_RESERVE = 1024;

export interface Batch {
  namespace: string;
  metrics: MetricDatum[];
}

export interface BatchLimits {
  metrics: number;
  bytes: number;
}

/** Bytes metric `m` adds to a form body as member number `index`. */
export function memberBytes(m: MetricDatum, index: number): number {
  const params = metricParams('', [m]);
  delete params.Namespace;
  let n = 0;
  for (const [k, v] of Object.entries(params)) n += uriEncode(k).length + uriEncode(v).length + 2;
  // Each key holds the member number once; it was counted as `1`.
  return n + (String(index).length - 1) * Object.keys(params).length;
}

/** Greedy split: each batch within both limits, metrics in the order they came. */
export function splitBatches(namespace: string, metrics: MetricDatum[], limits: BatchLimits = { metrics: MAX_METRICS_PER_REQUEST, bytes: MAX_REQUEST_BYTES }): Batch[] {
  const base = BODY_RESERVE + uriEncode(namespace).length;
  const batches: Batch[] = [];
  let current: MetricDatum[] = [];
  let bytes = base;
  for (const m of metrics) {
    if (current.length && (current.length >= limits.metrics || bytes + memberBytes(m, current.length + 1) > limits.bytes)) {
      batches.push({ namespace, metrics: current });
      current = [];
      bytes = base;
    }
    current.push(m);
    bytes += memberBytes(m, current.length);
  }
  if (current.length) batches.push({ namespace, metrics: current });
  return batches;
}

/** The run gave up because the endpoint kept throttling it. */
export class ThrottledError extends CfnError {
  constructor(url: string, seconds: number, sent: number, total: number, cause: ApiError) {
    super(
      `throttled: ${url} kept answering ${cause.code}${cause.serverMessage ? ` (${cause.serverMessage})` : ''}, and waiting longer would pass the ${seconds} s deadline (--timeout); ` +
        `${sent} of ${total} request(s) delivered`,
      { cause },
    );
  }
}

/** The deadline passed between two requests of a run. */
export class DeliveryTimeoutError extends CfnError {
  constructor(seconds: number, sent: number, total: number) {
    super(`the ${seconds} s deadline (--timeout) passed with ${total - sent} of ${total} request(s) not sent`);
  }
}

export interface SendOptions {
  client: QueryClient;
  batches: Batch[];
  /** The whole run's deadline for delivery. */
  timeoutSeconds: number;
  logger: Logger;
  monotonicMs?: () => number;
}

/** Sends every batch within the deadline; returns how many requests were made. */
export async function sendBatches(o: SendOptions): Promise<number> {
  const clock = o.monotonicMs ?? (() => performance.now());
  const started = clock();
  const deadlineMs = o.timeoutSeconds * 1000;
  let sent = 0;
  for (const b of o.batches) {
    const left = deadlineMs - (clock() - started);
    if (left <= 0) throw new DeliveryTimeoutError(o.timeoutSeconds, sent, o.batches.length);
    try {
      await putMetricData(o.client, b.namespace, b.metrics, { deadlineMs: left, maxAttempts: RETRY_ATTEMPTS });
    } catch (err) {
      if (err instanceof ApiError && THROTTLING_CODES.has(err.code)) throw new ThrottledError(o.client.endpoint.url, o.timeoutSeconds, sent, o.batches.length, err);
      throw err;
    }
    sent++;
    o.logger.debug(`PutMetricData: ${b.metrics.length} metric(s) in ${b.namespace} delivered (${sent}/${o.batches.length})`);
  }
  return sent;
}
