/**
 * The flags of both peers (heat-cfntools' cfn-push-stats and the CloudWatch
 * monitoring scripts' mon-put-instance-data), and the step from parsed
 * flags to what a run measures and sends. Everything a flag can get wrong
 * is found here, before anything is read or sent.
 */
import type { InferredOptionTypes, Options } from 'yargs';
import { connectionOptions, credentialOptions, endpointOptions, loggingOptions } from '../../shared/cli-options';
import { UsageError } from '../../shared/errors';
import type { Dimension } from './series';
import { parseSizeUnit, parseUnit, type SizeUnit, type StandardUnit } from './units';

export const TOOL = 'cfn-push-stats';
export const DEFAULT_NAMESPACE = 'System/Linux';
/** What heat-cfntools sent haproxy's figures under, and what Heat's load-balancer alarms watch. */
export const HAPROXY_NAMESPACE = 'AWS/ELB';
export const DEFAULT_TIMEOUT_SECONDS = 60;

const flag = (describe: string) => ({ type: 'boolean', describe }) as const;

/** heat-cfntools' socket path (its LoadBalancer template configures haproxy with it). */
export const DEFAULT_HAPROXY_SOCKET = '/tmp/.haproxy-stats';

export const options = {
  'mem-util': flag('MemoryUtilization (Percent): memory not available, of all'),
  'mem-used': flag('MemoryUsed: MemTotal less MemAvailable'),
  'mem-avail': flag('MemoryAvailable: MemAvailable (the kernel\'s estimate)'),
  'mem-used-incl-cache-buff': flag('count page cache and buffers as used memory (mon-put-instance-data)'),
  'memory-units': { type: 'string', default: 'megabytes', describe: 'bytes, kilobytes, megabytes or gigabytes' },
  'swap-util': flag('SwapUtilization (Percent)'),
  'swap-used': flag('SwapUsed'),
  'disk-space-util': flag('DiskSpaceUtilization (Percent) of each --disk-path'),
  'disk-space-used': flag('DiskSpaceUsed of each --disk-path'),
  'disk-space-avail': flag('DiskSpaceAvailable of each --disk-path'),
  'disk-path': { type: 'string', array: true, describe: 'a path on the filesystem to report (repeatable; default /)' },
  'disk-space-units': { alias: 'disk-units', type: 'string', default: 'gigabytes', describe: 'bytes, kilobytes, megabytes or gigabytes' },
  'cpu-util': flag('CPUUtilization (Percent), since the previous run or over one second'),
  haproxy: flag('haproxy\'s request, status and health figures (namespace AWS/ELB)'),
  'haproxy-latency': flag('haproxy\'s slowest health check, as Latency'),
  'haproxy-socket': { type: 'string', default: DEFAULT_HAPROXY_SOCKET, describe: 'haproxy stats socket' },
  heartbeat: flag('Heartbeat: 1 (Count)'),
  'service-failure': flag('ServiceFailure: 1 (Count)'),
  metric: { type: 'string', describe: 'a metric of your own: its name (with --units and --value)' },
  units: { type: 'string', describe: 'its unit (CloudWatch\'s names, any case; Counter means Count)' },
  value: { type: 'string', describe: 'its value' },
  watch: { type: 'string', describe: 'the alarm to feed: an AlarmName dimension on every metric' },
  dimension: { type: 'string', array: true, describe: 'Name=Value: a dimension on every metric (repeatable)' },
  namespace: { type: 'string', describe: `namespace of every metric (default ${DEFAULT_NAMESPACE}; haproxy's ${HAPROXY_NAMESPACE})` },
  aggregated: { type: 'string', describe: 'also per InstanceType, per ImageId and across instances; =only: not per instance' },
  'auto-scaling': { type: 'string', describe: 'also per AutoScalingGroupName; =only: not per instance' },
  'one-per-request': flag('one metric per request (Heat\'s old CloudWatch API reads only the first; the default for an endpoint from Heat\'s files)'),
  'from-cron': flag('for cron: wait 0-20 s at random before sending, log instead of printing, skip if the previous run still runs'),
  verify: flag('measure and sign, print the metrics, send nothing'),
  'enable-compression': flag('accepted for mon-put-instance-data\'s command lines; requests are small'),
  ...endpointOptions,
  url: { ...endpointOptions.url, describe: 'CloudWatch-compatible endpoint URL (heat-api-cloudwatch: http://HOST:8003/v1/)' },
  ...credentialOptions,
  'credential-file': { ...credentialOptions['credential-file'], alias: ['f', 'aws-credential-file'], describe: 'file with AWSAccessKeyId=/AWSSecretKey= lines (default /etc/cfn/cfn-credentials when it exists)' },
  'access-key': { ...credentialOptions['access-key'], alias: 'aws-access-key-id' },
  'secret-key': { ...credentialOptions['secret-key'], alias: 'aws-secret-key' },
  role: { ...credentialOptions.role, alias: 'aws-iam-role' },
  ...connectionOptions,
  timeout: { ...connectionOptions.timeout, default: DEFAULT_TIMEOUT_SECONDS, describe: 'seconds to keep trying to deliver (throttling and transient failures are retried within them)' },
  ...loggingOptions(TOOL),
} as const satisfies Record<string, Options>;

export type PushArgs = InferredOptionTypes<typeof options> & { _: (string | number)[] };

export interface ParsedFlags {
  'mem-util'?: boolean;
  'mem-used'?: boolean;
  'mem-avail'?: boolean;
  'mem-used-incl-cache-buff'?: boolean;
  'memory-units': string;
  'swap-util'?: boolean;
  'swap-used'?: boolean;
  'disk-space-util'?: boolean;
  'disk-space-used'?: boolean;
  'disk-space-avail'?: boolean;
  'disk-path'?: string[];
  'disk-space-units': string;
  'cpu-util'?: boolean;
  haproxy?: boolean;
  'haproxy-latency'?: boolean;
  'haproxy-socket': string;
  heartbeat?: boolean;
  'service-failure'?: boolean;
  metric?: string;
  units?: string;
  value?: string;
  watch?: string;
  dimension?: string[];
  namespace?: string;
  aggregated?: string;
  'auto-scaling'?: string;
  'one-per-request'?: boolean;
  'from-cron'?: boolean;
  verify?: boolean;
  timeout: number;
}

/** Per instance and extra copies, or only the extra copies. */
export type CopyMode = 'off' | 'also' | 'only';

export interface PushPlan {
  memory: { util: boolean; used: boolean; avail: boolean; inclCacheBuff: boolean; units: SizeUnit };
  swap: { util: boolean; used: boolean; units: SizeUnit };
  disk: { util: boolean; used: boolean; avail: boolean; units: SizeUnit; paths: string[] };
  cpu: boolean;
  haproxy?: { socket: string; latencyOnly: boolean };
  counters: Array<'Heartbeat' | 'ServiceFailure'>;
  custom?: { name: string; unit: StandardUnit; value: number };
  /** --watch, then --dimension, in order. */
  dimensions: Dimension[];
  namespace?: string;
  aggregated: CopyMode;
  autoScaling: CopyMode;
  onePerRequest: boolean;
  fromCron: boolean;
  verify: boolean;
  timeoutSeconds: number;
}

function copyMode(raw: string | undefined, flagName: string): CopyMode {
  if (raw === undefined) return 'off';
  if (raw === '') return 'also';
  if (raw.toLowerCase() === 'only') return 'only';
  throw new UsageError(`--${flagName}: expected no value or =only, got ${JSON.stringify(raw)}`);
}

function parseDimension(raw: string): Dimension {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`--dimension: expected Name=Value, got ${JSON.stringify(raw)}`);
  return { name: raw.slice(0, eq), value: raw.slice(eq + 1) };
}

function parseValue(raw: string): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new UsageError(`--value: expected a finite number, got ${JSON.stringify(raw)}`);
  return v;
}

export function planFromFlags(a: ParsedFlags): PushPlan {
  const custom = [a.metric, a.units, a.value];
  if (custom.some((x) => x !== undefined) && custom.some((x) => x === undefined)) {
    throw new UsageError('--metric, --units and --value go together: give all three');
  }
  const diskAsked = !!(a['disk-space-util'] || a['disk-space-used'] || a['disk-space-avail']);
  const paths = a['disk-path'] ?? [];
  if (paths.length && !diskAsked) throw new UsageError('--disk-path given without --disk-space-util, --disk-space-used or --disk-space-avail');
  for (const p of paths) if (!p) throw new UsageError('--disk-path: empty path');
  if (!Number.isFinite(a.timeout) || a.timeout <= 0) throw new UsageError(`--timeout: expected a number of seconds above 0, got ${a.timeout}`);
  if (a.namespace !== undefined && (!a.namespace || a.namespace.length > 255 || a.namespace.startsWith(':'))) {
    throw new UsageError(`--namespace: expected 1 to 255 characters, not starting with ":", got ${JSON.stringify(a.namespace)}`);
  }
  const dimensions: Dimension[] = [];
  if (a.watch !== undefined) dimensions.push({ name: 'AlarmName', value: a.watch });
  for (const d of a.dimension ?? []) dimensions.push(parseDimension(d));
  const plan: PushPlan = {
    memory: { util: !!a['mem-util'], used: !!a['mem-used'], avail: !!a['mem-avail'], inclCacheBuff: !!a['mem-used-incl-cache-buff'], units: parseSizeUnit(a['memory-units'], '--memory-units') },
    swap: { util: !!a['swap-util'], used: !!a['swap-used'], units: parseSizeUnit(a['memory-units'], '--memory-units') },
    disk: { util: !!a['disk-space-util'], used: !!a['disk-space-used'], avail: !!a['disk-space-avail'], units: parseSizeUnit(a['disk-space-units'], '--disk-space-units'), paths: diskAsked && !paths.length ? ['/'] : paths },
    cpu: !!a['cpu-util'],
    haproxy: a.haproxy || a['haproxy-latency'] ? { socket: a['haproxy-socket'], latencyOnly: !a.haproxy } : undefined,
    counters: [...(a['service-failure'] ? (['ServiceFailure'] as const) : []), ...(a.heartbeat ? (['Heartbeat'] as const) : [])],
    custom: a.metric !== undefined ? { name: a.metric, unit: parseUnit(a.units!, '--units'), value: parseValue(a.value!) } : undefined,
    dimensions,
    namespace: a.namespace,
    aggregated: copyMode(a.aggregated, 'aggregated'),
    autoScaling: copyMode(a['auto-scaling'], 'auto-scaling'),
    onePerRequest: !!a['one-per-request'],
    fromCron: !!a['from-cron'],
    verify: !!a.verify,
    timeoutSeconds: a.timeout,
  };
  const m = plan.memory;
  const anything = m.util || m.used || m.avail || plan.swap.util || plan.swap.used || diskAsked || plan.cpu || plan.haproxy || plan.counters.length || plan.custom;
  if (!anything) throw new UsageError('no metric asked for: give at least one of --mem-util, --disk-space-util, --cpu-util, --heartbeat, --metric ... (--help lists them)');
  return plan;
}
