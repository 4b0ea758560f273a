import * as assert from 'node:assert/strict';
import { metricParams, type MetricDatum } from '../../shared/cloudwatch-api';
import { MemoryLogger } from '../../shared/log';
import { encodeParams } from '../../shared/query-api';
import { cronDelayMs, CRON_SPREAD_MS } from '../../agents/cfn-push-stats/run';
import { planFromFlags, type ParsedFlags } from '../../agents/cfn-push-stats/options';
import { buildSeries, checkDatum, usableTags } from '../../agents/cfn-push-stats/series';
import { DeliveryTimeoutError, memberBytes, sendBatches, splitBatches, ThrottledError } from '../../shared/cloudwatch-api';
import { ApiError } from '../../shared/errors';
import type { QueryClient } from '../../shared/query-api';
import { parseUnit, STANDARD_UNITS } from '../../agents/cfn-push-stats/units';

const base: ParsedFlags = { 'memory-units': 'megabytes', 'disk-space-units': 'gigabytes', 'haproxy-socket': '/tmp/.haproxy-stats', timeout: 60 };
const plan = (f: Partial<ParsedFlags>) => planFromFlags({ ...base, ...f });

describe('cfn-push-stats flags', () => {
  it('units: CloudWatch names in any case, heat-cfntools\' Counter as Count, anything else refused with the list', () => {
    assert.equal(parseUnit('megabytes', '--units'), 'Megabytes');
    assert.equal(parseUnit('Counter', '--units'), 'Count');
    assert.equal(parseUnit('bytes/second', '--units'), 'Bytes/Second');
    for (const u of STANDARD_UNITS) assert.equal(parseUnit(u.toUpperCase(), '--units'), u);
    assert.throws(() => parseUnit('furlongs', '--units'), /--units: unknown unit "furlongs"; expected one of Seconds, .*Count\/Second, None/);
    assert.throws(() => plan({ 'mem-util': true, 'memory-units': 'pages' }), /--memory-units: expected bytes, kilobytes, megabytes or gigabytes, got "pages"/);
  });

  it('the custom metric needs all three of --metric, --units, --value, and a finite number', () => {
    assert.deepEqual(plan({ metric: 'Queue', units: 'count', value: '12.5' }).custom, { name: 'Queue', unit: 'Count', value: 12.5 });
    assert.throws(() => plan({ metric: 'Queue', value: '1' }), /--metric, --units and --value go together/);
    for (const v of ['abc', 'NaN', 'Infinity', '', '1e400']) assert.throws(() => plan({ metric: 'Q', units: 'Count', value: v }), /--value: expected a finite number/);
  });

  it('disk: / by default (heat-cfntools), --disk-path repeatable, a path without a disk metric refused (mon-put-instance-data)', () => {
    assert.deepEqual(plan({ 'disk-space-util': true }).disk.paths, ['/']);
    assert.deepEqual(plan({ 'disk-space-used': true, 'disk-path': ['/', '/var'] }).disk.paths, ['/', '/var']);
    assert.throws(() => plan({ 'mem-util': true, 'disk-path': ['/'] }), /--disk-path given without --disk-space-util/);
    assert.equal(plan({ 'disk-space-used': true }).disk.units.unit, 'Gigabytes', "mon-put-instance-data's default");
  });

  it('--aggregated / --auto-scaling take nothing or =only; --watch and --dimension become dimensions; nothing asked is an error', () => {
    assert.equal(plan({ heartbeat: true, aggregated: '' }).aggregated, 'also');
    assert.equal(plan({ heartbeat: true, 'auto-scaling': 'ONLY' }).autoScaling, 'only');
    assert.throws(() => plan({ heartbeat: true, aggregated: 'all' }), /--aggregated: expected no value or =only/);
    assert.deepEqual(plan({ heartbeat: true, watch: 'a1', dimension: ['Env=prod', 'Role=a=b'] }).dimensions, [
      { name: 'AlarmName', value: 'a1' },
      { name: 'Env', value: 'prod' },
      { name: 'Role', value: 'a=b' },
    ]);
    assert.throws(() => plan({ heartbeat: true, dimension: ['novalue'] }), /--dimension: expected Name=Value/);
    assert.throws(() => plan({}), /no metric asked for/);
    assert.throws(() => plan({ heartbeat: true, timeout: 0 }), /--timeout/);
    assert.throws(() => plan({ heartbeat: true, namespace: ':x' }), /--namespace/);
  });

  it('--haproxy-latency alone sends only Latency', () => {
    assert.deepEqual(plan({ 'haproxy-latency': true }).haproxy, { socket: '/tmp/.haproxy-stats', latencyOnly: true });
    assert.deepEqual(plan({ haproxy: true, 'haproxy-latency': true }).haproxy, { socket: '/tmp/.haproxy-stats', latencyOnly: false });
  });

  it('the cron spread: uniform over [0, 20 s), from a seeded source', () => {
    assert.equal(CRON_SPREAD_MS, 20_000);
    let seed = 1;
    const rnd = (max: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % max;
    };
    const buckets = new Array(20).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const d = cronDelayMs(CRON_SPREAD_MS, rnd);
      assert.ok(d >= 0 && d < CRON_SPREAD_MS);
      buckets[Math.floor(d / 1000)]++;
    }
    // 1,000 expected in each second; a lockstep or a skew would leave some nearly empty.
    for (const b of buckets) assert.ok(b > 850 && b < 1150, `per-second counts ${buckets.join(' ')}`);
    assert.equal(cronDelayMs(0), 0);
  });
});

describe('cfn-push-stats series and limits', () => {
  const ts = new Date('2026-12-02T00:00:00Z');
  const readings = [
    { name: 'MemoryUtilization', value: 20, unit: 'Percent' as const },
    { name: 'DiskSpaceUsed', value: 3, unit: 'Gigabytes' as const, dimensions: [{ name: 'Filesystem', value: '/dev/vda' }, { name: 'MountPath', value: '/' }] },
  ];

  it('copies as mon-put-instance-data makes them: per instance, per group, per type, per image, and across instances', () => {
    const out = buildSeries(readings, {
      instance: [{ name: 'InstanceId', value: 'i-1' }],
      autoScalingGroup: 'asg',
      aggregated: { instanceType: 'm1.small', imageId: 'ami-1' },
      common: [{ name: 'AlarmName', value: 'a' }],
      timestamp: ts,
    });
    const dims = out.map((m) => `${m.name}: ${(m.dimensions ?? []).map((d) => d.name).join(',')}`);
    assert.deepEqual(dims, [
      'MemoryUtilization: InstanceId,AlarmName',
      'MemoryUtilization: AutoScalingGroupName,AlarmName',
      'MemoryUtilization: InstanceType,AlarmName',
      'MemoryUtilization: ImageId,AlarmName',
      'MemoryUtilization: AlarmName',
      'DiskSpaceUsed: InstanceId,AlarmName,Filesystem,MountPath',
      'DiskSpaceUsed: AutoScalingGroupName,AlarmName,Filesystem,MountPath',
      'DiskSpaceUsed: InstanceType,AlarmName,Filesystem,MountPath',
      'DiskSpaceUsed: ImageId,AlarmName,Filesystem,MountPath',
      'DiskSpaceUsed: AlarmName,Filesystem,MountPath',
    ]);
    assert.ok(out.every((m) => m.timestamp === ts));
  });

  it('nova tags CloudWatch would refuse, or past the 30-dimension room, are left out and said; names this run sets win', () => {
    const log = new MemoryLogger();
    const tags: Record<string, string> = { 'metering.stack': 's1', empty: '', AlarmName: 'spoofed', long: 'x'.repeat(1025) };
    for (let i = 0; i < 40; i++) tags[`t${i}`] = String(i);
    const kept = usableTags(tags, new Set(['AlarmName', 'InstanceId']), 26, log);
    assert.equal(kept.length, 26);
    assert.deepEqual(kept[0], { name: 'metering.stack', value: 's1' });
    assert.ok(!kept.some((d) => d.name === 'AlarmName' || d.name === 'empty' || d.name === 'long'));
    assert.match(log.lines.join("\n"), /nova tag "t25" left out of the dimensions: at most 30 per metric/);
  });

  it('checkDatum refuses what PutMetricData refuses, naming the metric', () => {
    const ok: MetricDatum = { name: 'M', value: 1, unit: 'Count', dimensions: [] };
    checkDatum(ok);
    checkDatum({ ...ok, value: 0 });
    checkDatum({ ...ok, value: -(2 ** 360) });
    assert.throws(() => checkDatum({ ...ok, value: NaN }), /metric M: value NaN is not a finite number/);
    assert.throws(() => checkDatum({ ...ok, value: 2 ** 361 }), /outside CloudWatch's range/);
    assert.throws(() => checkDatum({ ...ok, value: 2 ** -361 }), /outside CloudWatch's range/);
    assert.throws(() => checkDatum({ ...ok, dimensions: Array.from({ length: 31 }, (_, i) => ({ name: `d${i}`, value: 'v' })) }), /31 dimensions, CloudWatch takes at most 30/);
    assert.throws(() => checkDatum({ ...ok, dimensions: [{ name: 'A', value: '' }] }), /dimension "A" has an empty value/);
    assert.throws(() => checkDatum({ ...ok, dimensions: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }), /dimension A given twice/);
    assert.throws(() => checkDatum({ ...ok, name: 'x'.repeat(256) }), /the name must be 1 to 255 characters/);
  });

  it('memberBytes is what the member adds to the encoded body, at any member number', () => {
    const m: MetricDatum = { name: 'Disk Used/€', value: 1.5, unit: 'Gigabytes', timestamp: ts, dimensions: [{ name: 'MountPath', value: '/srv/my data' }] };
    for (const n of [1, 9, 10, 123, 1000]) {
      const before = Array.from({ length: n - 1 }, () => m);
      const a = encodeParams(metricParams('NS', before)).length;
      const b = encodeParams(metricParams('NS', [...before, m])).length;
      assert.equal(memberBytes(m, n), b - a, `member ${n}`);
    }
  });

  it('splits at 1,000 metrics and at 1 MB, keeping order; one per request when asked', () => {
    const small = Array.from({ length: 2500 }, (_, i): MetricDatum => ({ name: `M${i}`, value: i, unit: 'Count' }));
    const byCount = splitBatches('NS', small);
    assert.deepEqual(byCount.map((b) => b.metrics.length), [1000, 1000, 500]);
    assert.deepEqual(byCount.flatMap((b) => b.metrics), small);
    const big = Array.from({ length: 200 }, (_, i): MetricDatum => ({ name: `M${i}`, value: i, unit: 'Count', dimensions: Array.from({ length: 10 }, (_, j) => ({ name: `D${j}`, value: 'v'.repeat(1000) })) }));
    const bySize = splitBatches('NS', big);
    assert.ok(bySize.length > 1);
    for (const b of bySize) {
      const body = encodeParams({ Action: 'PutMetricData', Version: '2010-08-01', ...metricParams('NS', b.metrics) });
      assert.ok(body.length <= 1024 * 1024, `${body.length} bytes`);
    }
    assert.deepEqual(bySize.flatMap((b) => b.metrics), big);
    assert.equal(splitBatches('NS', small.slice(0, 7), { metrics: 1, bytes: Infinity }).length, 7);
  });

  it('sendBatches: one deadline for the whole run; throttling to the end is a ThrottledError, anything else passes through', async () => {
    let now = 0;
    const deadlines: number[] = [];
    const slow = {
      endpoint: { url: 'http://127.0.0.1:1/v1/' },
      call: async (_a: string, _p: Record<string, string>, o: { retry?: { deadlineMs?: number } }) => {
        deadlines.push(o.retry!.deadlineMs!);
        now += 700;
      },
    } as unknown as QueryClient;
    const batches = splitBatches('NS', [{ name: 'A', value: 1 }, { name: 'B', value: 2 }, { name: 'C', value: 3 }], { metrics: 1, bytes: Infinity });
    await assert.rejects(
      sendBatches({ client: slow, batches, timeoutSeconds: 1, logger: new MemoryLogger(), monotonicMs: () => now }),
      (e: unknown) => e instanceof DeliveryTimeoutError && /the 1 s deadline \(--timeout\) passed with 1 of 3 request\(s\) not sent/.test(e.message),
    );
    assert.deepEqual(deadlines, [1000, 300], 'each request gets what is left of the deadline');
    const throttled = { endpoint: slow.endpoint, call: async () => { throw new ApiError(400, 'Throttling', 'Rate exceeded', 'u'); } } as unknown as QueryClient;
    await assert.rejects(sendBatches({ client: throttled, batches, timeoutSeconds: 5, logger: new MemoryLogger() }), (e: unknown) => e instanceof ThrottledError && /^throttled: http:\/\/127\.0\.0\.1:1\/v1\/ kept answering Throttling \(Rate exceeded\).*0 of 3 request\(s\) delivered$/.test(e.message));
    const denied = { endpoint: slow.endpoint, call: async () => { throw new ApiError(403, 'AccessDenied', 'no', 'u'); } } as unknown as QueryClient;
    await assert.rejects(sendBatches({ client: denied, batches, timeoutSeconds: 5, logger: new MemoryLogger() }), (e: unknown) => e instanceof ApiError && e.code === 'AccessDenied');
  });
});
