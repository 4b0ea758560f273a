/**
 * Differential: heat-cfntools' cfn-push-stats (Debian's /usr/bin) and ours
 * on the same command lines, on the metrics where heat-cfntools still works
 * on current Python (disk, cpu, heartbeat, service-failure, custom): the
 * same metrics with the same values and dimensions, one request each; the
 * differences are the ones docs/COMPATIBILITY.md names (AWS unit names,
 * the namespace, a disk's Filesystem and MountPath).
 *
 * heat-cfntools posts to port 8003 of the host in cfn-boto-cfg and may look
 * for 169.254.169.254, so both run inside a private network namespace with
 * only `lo`, with /var/log and /var/lib of their own, and a 64 MiB tmpfs as
 * the disk, so that both see the same figures. Needs root; skipped otherwise
 * (an error in CI).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { botocoreAvailable, validatePutMetricData } from '../support/botocore-cloudwatch';
import { BUNDLE } from '../support/cli';
import { namespaceMissing, pairOf, runInNamespace } from '../support/namespace';
import { skipUnless } from '../support/skip';
import type { DriverCase, DriverPlan, DriverResult } from './hct-driver';

const HCT = '/usr/bin/cfn-push-stats';
const KEY = 'AKIDEXAMPLE0000000000000000000001';
const SECRET = 'diff-secret/key';
const NOVA_META = { uuid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', meta: { 'metering.stack': 'f00dface-0000-4000-8000-000000000000', AutoScalingGroupName: 'asg1' }, hostname: 'vm1', name: 'vm1' };

const NS_FLAGS = ['-n', '-m'];

const FLAG_SETS: Array<{ name: string; args: (disk: string) => string[] }> = [
  { name: 'disk', args: (disk) => ['--disk-space-util', '--disk-space-used', '--disk-space-avail', '--disk-path', disk, '--disk-units', 'megabytes', '--watch', 'a1'] },
  { name: 'cpu', args: () => ['--cpu-util', '--watch', 'a1'] },
  { name: 'custom, heartbeat, service-failure', args: () => ['--metric', 'MyMetric', '--units', 'Count', '--value', '42.5', '--watch', 'a1', '--heartbeat', '--service-failure'] },
];

describe('cfn-push-stats differential against heat-cfntools (unshare -n)', function () {
  this.timeout(120_000);
  let results: Map<string, DriverResult>;
  let disk: string;

  before(function () {
    skipUnless(this, 'cfn-push-stats differential', namespaceMissing(HCT, NS_FLAGS));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-push-diff-'));
    try {
      const logDir = path.join(tmp, 'log');
      const libDir = path.join(tmp, 'lib');
      disk = path.join(tmp, 'disk');
      fs.mkdirSync(logDir);
      fs.mkdirSync(disk);
      fs.mkdirSync(path.join(libDir, 'heat-cfntools'), { recursive: true });
      fs.writeFileSync(path.join(libDir, 'heat-cfntools', 'cfn-boto-cfg'), '[Boto]\ndebug = 0\nis_secure = 0\ncfn_region_name = heat\ncfn_region_endpoint = 127.0.0.1\ncloudwatch_region_name = heat\ncloudwatch_region_endpoint = 127.0.0.1\n');
      fs.writeFileSync(path.join(libDir, 'heat-cfntools', 'nova_meta.json'), JSON.stringify(NOVA_META));
      const creds = path.join(tmp, 'creds');
      fs.writeFileSync(creds, `AWSAccessKeyId=${KEY}\nAWSSecretKey=${SECRET}\n`, { mode: 0o600 });
      const hctEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
      // No AWS_EC2_METADATA_DISABLED: ours looks for the metadata service, finds no route, and reads nova_meta.json.
      const ourEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
      const cases: DriverCase[] = [];
      for (const f of FLAG_SETS) {
        cases.push({ name: `hct ${f.name}`, command: [HCT, '--credential-file', creds, ...f.args(disk)], env: hctEnv });
        cases.push({ name: `ours ${f.name}`, command: [process.execPath, BUNDLE, 'cfn-push-stats', '--credential-file', creds, '--log-file', '/var/log/cfntools-push-stats.log', ...f.args(disk)], env: ourEnv });
      }
      const planFile = path.join(tmp, 'plan.json');
      fs.writeFileSync(planFile, JSON.stringify({ accessKey: KEY, secretKey: SECRET, cases } satisfies DriverPlan));
      // A file of known size, so that both read the same, quiet filesystem.
      const script = 'set -e; ip link set lo up; mount --bind "$1" /var/log; mount --bind "$2" /var/lib; mount -t tmpfs -o size=64m tmpfs "$3"; head -c 10485760 /dev/zero > "$3/ten-mib"; shift 3; exec "$@"';
      const out = runInNamespace(NS_FLAGS, script, [logDir, libDir, disk, process.execPath, path.join(__dirname, 'hct-driver.js'), planFile]);
      results = new Map((JSON.parse(out) as DriverResult[]).map((x) => [x.name, x]));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  const pair = (name: string) => pairOf(results, name);

  /** What heat-cfntools sends, as we send it: AWS unit names, our namespace. */
  const asOurs = (unit: string | undefined) => ({ megabytes: 'Megabytes', Counter: 'Count' })[unit as string] ?? unit;
  const dims = (p: DriverResult['metrics'][number]) => p.dimensions.map((d) => `${d.name}=${d.value}`);

  it('disk: the same three metrics, values equal (heat-cfntools rounds utilisation to 0.1), one request each', () => {
    const { ours, hct } = pair('disk');
    assert.deepEqual(ours.metrics.map((m) => m.metricName), hct.metrics.map((m) => m.metricName));
    assert.equal(hct.requests, 3, 'heat-cfntools: one request per metric');
    assert.equal(ours.requests, 3, "ours: one per metric too, to an endpoint from Heat's files");
    for (const [i, o] of ours.metrics.entries()) {
      const h = hct.metrics[i];
      assert.equal(o.unit, asOurs(h.unit), o.metricName);
      const tolerance = o.metricName === 'DiskSpaceUtilization' ? 0.051 : 1e-9;
      assert.ok(Math.abs(Number(o.value) - Number(h.value)) <= tolerance, `${o.metricName}: ours ${o.value}, heat-cfntools ${h.value}`);
      assert.deepEqual(dims(o), [...dims(h), 'Filesystem=tmpfs', `MountPath=${disk}`]);
      assert.equal(h.namespace, 'system/linux');
      assert.equal(o.namespace, 'System/Linux');
    }
    assert.ok(Number(ours.metrics[1].value) >= 10, 'the 10 MiB file counts as used');
  });

  it('cpu: both send CPUUtilization in Percent, with the same dimensions', () => {
    const { ours, hct } = pair('cpu');
    assert.deepEqual(ours.metrics.map((m) => [m.metricName, m.unit]), [['CPUUtilization', 'Percent']]);
    assert.deepEqual(hct.metrics.map((m) => [m.metricName, m.unit]), [['CPUUtilization', 'Percent']]);
    for (const r of [ours, hct]) assert.ok(Number(r.metrics[0].value) >= 0 && Number(r.metrics[0].value) <= 100);
    assert.deepEqual(dims(ours.metrics[0]), dims(hct.metrics[0]));
    assert.deepEqual(dims(hct.metrics[0]), ['metering.stack=f00dface-0000-4000-8000-000000000000', 'AutoScalingGroupName=asg1', `InstanceId=${NOVA_META.uuid}`, 'AlarmName=a1']);
  });

  it('custom, heartbeat and service-failure: the same metrics in the same order, Count for Counter', () => {
    const { ours, hct } = pair('custom, heartbeat, service-failure');
    const view = (r: DriverResult, unit: (u?: string) => string | undefined) => r.metrics.map((m) => [m.metricName, Number(m.value), unit(m.unit), dims(m).join(',')]);
    assert.deepEqual(view(ours, (u) => u), view(hct, asOurs));
    assert.deepEqual(hct.metrics.map((m) => m.unit), ['Count', 'Counter', 'Counter']);
    assert.equal(ours.requests, hct.requests);
  });

  it("botocore's CloudWatch model accepts every request of ours, and refuses heat-cfntools' for its units", function () {
    skipUnless(this, 'botocore', botocoreAvailable());
    const ours = FLAG_SETS.flatMap((f) => results.get(`ours ${f.name}`)!.bodies);
    const hct = FLAG_SETS.flatMap((f) => results.get(`hct ${f.name}`)!.bodies);
    assert.equal(ours.length, 7);
    validatePutMetricData(ours).forEach((v, i) => assert.ok(v.ok, `ours, body ${i}: ${v.errors.join('; ')}`));
    const verdicts = validatePutMetricData(hct);
    const refused = verdicts.filter((v) => !v.ok);
    assert.ok(refused.length >= 4, `refused ${refused.length} of ${hct.length}`);
    for (const v of refused) assert.match(v.errors.join('; '), /megabytes|Counter/);
  });
});
