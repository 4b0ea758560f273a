/**
 * From readings to the datapoints of one request: which dimensions each
 * metric carries, and the copies --aggregated and --auto-scaling ask for
 * (as mon-put-instance-data makes them: one per InstanceId, per
 * AutoScalingGroupName, per InstanceType, per ImageId, and one with only
 * the metric's own dimensions). CloudWatch's limits are checked here, before
 * anything is sent.
 */
import type { MetricDatum } from '../../shared/cloudwatch-api';
import { UsageError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import type { Reading } from './readings';

export type Dimension = { name: string; value: string };

/** PutMetricData's limits. */
export const MAX_DIMENSIONS = 30;
export const MAX_DIMENSION_NAME = 255;
export const MAX_DIMENSION_VALUE = 1024;
export const MAX_METRIC_NAME = 255;
const MIN_MAGNITUDE = 2 ** -360;
const MAX_MAGNITUDE = 2 ** 360;

export interface SeriesOptions {
  /** The instance's own series: nova's tags then InstanceId, as heat-cfntools sends them; undefined when dropped (=only). */
  instance?: Dimension[];
  /** --auto-scaling: AutoScalingGroupName. */
  autoScalingGroup?: string;
  /** --aggregated: InstanceType and ImageId, where known, and the copy without instance dimensions. */
  aggregated?: { instanceType?: string; imageId?: string };
  /** --watch (AlarmName) and --dimension: on every copy. */
  common: Dimension[];
  timestamp: Date;
}

export function buildSeries(readings: Reading[], o: SeriesOptions): MetricDatum[] {
  const out: MetricDatum[] = [];
  for (const r of readings) {
    const own = r.dimensions ?? [];
    const add = (lead: Dimension[]) => out.push({ name: r.name, value: r.value, unit: r.unit, timestamp: o.timestamp, dimensions: [...lead, ...o.common, ...own] });
    if (o.instance) add(o.instance);
    if (o.autoScalingGroup) add([{ name: 'AutoScalingGroupName', value: o.autoScalingGroup }]);
    if (o.aggregated) {
      if (o.aggregated.instanceType) add([{ name: 'InstanceType', value: o.aggregated.instanceType }]);
      if (o.aggregated.imageId) add([{ name: 'ImageId', value: o.aggregated.imageId }]);
      add([]);
    }
  }
  return out;
}

/** A dimension CloudWatch would refuse, or undefined. */
export function dimensionProblem(d: Dimension): string | undefined {
  if (!d.name) return 'an empty name';
  if (d.name.length > MAX_DIMENSION_NAME) return `a name longer than ${MAX_DIMENSION_NAME} characters`;
  if (d.name.startsWith(':')) return 'a name starting with ":"';
  if (!d.value) return 'an empty value';
  if (d.value.length > MAX_DIMENSION_VALUE) return `a value longer than ${MAX_DIMENSION_VALUE} characters`;
  return undefined;
}

/**
 * nova's tags come from the server's metadata, which whoever created the
 * server chose: ones CloudWatch would refuse are left out (said in the log),
 * and so are the ones past what the limit leaves room for, rather than
 * losing every metric.
 */
export function usableTags(tags: Record<string, string>, taken: ReadonlySet<string>, room: number, log: Logger): Dimension[] {
  const out: Dimension[] = [];
  for (const [name, value] of Object.entries(tags)) {
    const d = { name, value };
    const problem = taken.has(name) ? 'the name of a dimension this run sets itself' : dimensionProblem(d);
    if (problem) log.debug(`nova tag ${JSON.stringify(name.slice(0, 60))} left out of the dimensions: ${problem}`);
    else if (out.length >= room) log.warn(`nova tag ${JSON.stringify(name.slice(0, 60))} left out of the dimensions: at most ${MAX_DIMENSIONS} per metric`);
    else out.push(d);
  }
  return out;
}

/** Refuses what CloudWatch would refuse, naming the metric and what is wrong with it. */
export function checkDatum(m: MetricDatum): void {
  const what = `metric ${m.name}`;
  if (!m.name || m.name.length > MAX_METRIC_NAME) throw new UsageError(`${what}: the name must be 1 to ${MAX_METRIC_NAME} characters`);
  if (!Number.isFinite(m.value)) throw new UsageError(`${what}: value ${m.value} is not a finite number`);
  const mag = Math.abs(m.value);
  if (mag !== 0 && (mag < MIN_MAGNITUDE || mag > MAX_MAGNITUDE)) throw new UsageError(`${what}: value ${m.value} is outside CloudWatch's range (0, or 2^-360 to 2^360 in magnitude)`);
  const dims = m.dimensions ?? [];
  if (dims.length > MAX_DIMENSIONS) throw new UsageError(`${what}: ${dims.length} dimensions, CloudWatch takes at most ${MAX_DIMENSIONS}`);
  const seen = new Set<string>();
  for (const d of dims) {
    const problem = dimensionProblem(d);
    if (problem) throw new UsageError(`${what}: dimension ${JSON.stringify(d.name)} has ${problem}`);
    if (seen.has(d.name)) throw new UsageError(`${what}: dimension ${d.name} given twice`);
    seen.add(d.name);
  }
}
