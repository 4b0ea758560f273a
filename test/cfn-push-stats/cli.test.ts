/**
 * cfn-push-stats as a user runs it, against the emulator (signatures
 * checked as keystone checks them), with every request it sends checked by
 * botocore's own CloudWatch model.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { botocoreAvailable, validatePutMetricData } from '../support/botocore-cloudwatch';
import { startFakeImds, type FakeImds } from '../support/imds-server';
import { ownIdentity, startTime } from '../../shared/process-identity';
import { skipUnless } from '../support/skip';
import type { Datapoint } from '../emulator/model';
import { ACCESS_KEY, PROC_ROOT, PushBox, SECRET_KEY, STACK } from './support';

const SYSTEM = ['--mem-util', '--mem-used', '--mem-avail', '--swap-util', '--swap-used', '--disk-space-util', '--disk-space-used', '--disk-space-avail', '--heartbeat', '--service-failure'];

describe('cfn-push-stats against the emulator', function () {
  this.timeout(60_000);
  let box: PushBox;
  let sent: string[];
  before(async () => {
    box = await PushBox.create();
    sent = [];
  });
  beforeEach(() => {
    box.emulator.reset();
    box.emulator.setMetricPolicy({});
    fs.rmSync(box.logFile, { force: true });
  });
  afterEach(() => sent.push(...box.bodies()));
  after(async () => box?.close());

  const points = () => box.emulator.state().metrics;
  const byName = (): Record<string, Datapoint> => Object.fromEntries(points().map((p) => [p.metricName, p]));

  it('every metric of a run in one signed request, with the values of the /proc files it read', async () => {
    const r = await box.run([...SYSTEM, '--metric', 'QueueDepth', '--units', 'count', '--value', '17', '--watch', 'CpuAlarm'], { CFNTOOLS_SYSTEM_ROOT: PROC_ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sent 11 metric\(s\) in 1 request\(s\) to http:\/\/127\.0\.0\.1:\d+\/v1\/\n$/);
    const log = box.emulator.requestLog.filter((e) => e.action === 'PutMetricData');
    assert.equal(log.length, 1);
    assert.equal(log[0].verified, 'ok');
    const m = byName();
    assert.equal(m.MemoryUtilization.value, 25);
    assert.equal(m.MemoryUsed.value, 1_000_000 / 1024);
    assert.equal(m.MemoryUsed.unit, 'Megabytes');
    assert.equal(m.SwapUtilization.value, 25);
    assert.equal(m.QueueDepth.value, 17);
    assert.equal(m.QueueDepth.unit, 'Count');
    assert.equal(m.Heartbeat.unit, 'Count', "heat-cfntools' Counter is not a CloudWatch unit");
    assert.ok(points().every((p) => p.namespace === 'System/Linux' && p.stack === STACK));
    assert.ok(points().every((p) => p.dimensions.some((d) => d.name === 'AlarmName' && d.value === 'CpuAlarm')));
    const disk = m.DiskSpaceUsed.dimensions.map((d) => d.name);
    assert.deepEqual(disk.slice(-2), ['Filesystem', 'MountPath']);
    const ts = Date.parse(m.MemoryUtilization.timestamp!);
    assert.ok(Math.abs(ts - Date.now()) < 30_000, 'timestamped at sampling');
  });

  it('a namespace under AWS/ is refused against AWS in every partition, before sending', async () => {
    for (const region of ['us-east-1', 'cn-north-1', 'us-iso-east-1', 'eu-isoe-west-1', 'eusc-de-east-1']) {
      const r = await box.run(['--heartbeat', '--namespace', 'AWS/Custom', '--region', region], {}, { url: false });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /namespace AWS\/Custom is reserved for AWS's own services there/);
    }
    assert.equal(box.bodies().length, 0);
  });

  it('InstanceId and nova\'s tags from the metadata service; --auto-scaling and --aggregated copies', async () => {
    let imds: FakeImds | undefined;
    try {
      imds = await startFakeImds({
        paths: {
          '/openstack/latest/meta_data.json': { uuid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', meta: { 'metering.stack': 'f00d', AutoScalingGroupName: 'asg1', blank: '' } },
          '/latest/meta-data/instance-type': 'm1.small',
          '/latest/meta-data/ami-id': 'ami-0001',
        },
      });
      const env = { AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, CFNTOOLS_SYSTEM_ROOT: PROC_ROOT };
      const r = await box.run(['--mem-util', '--auto-scaling', '--aggregated'], env);
      assert.equal(r.status, 0, r.stderr);
      const series = points().map((p) => p.dimensions.map((d) => `${d.name}=${d.value}`).join(','));
      assert.deepEqual(series, [
        'metering.stack=f00d,AutoScalingGroupName=asg1,InstanceId=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
        'AutoScalingGroupName=asg1',
        'InstanceType=m1.small',
        'ImageId=ami-0001',
        '',
      ]);
      assert.ok(imds.count('PUT', '/latest/api/token') >= 1, 'IMDSv2 first');
      const only = await box.run(['--mem-util', '--aggregated=only'], env);
      assert.equal(only.status, 0, only.stderr);
      assert.equal(points().filter((p) => p.dimensions.some((d) => d.name === 'InstanceId')).length, 1, '=only adds no instance series');

      // On EC2: no nova document; the group from the instance's metadata tags, InstanceId from EC2's instance-id.
      box.emulator.reset();
      imds.config.paths = { '/latest/meta-data/instance-id': 'i-0abc', '/latest/meta-data/tags/instance/aws:autoscaling:groupName': 'web-asg' };
      const ec2 = await box.run(['--mem-util', '--auto-scaling=only'], env);
      assert.equal(ec2.status, 0, ec2.stderr);
      assert.deepEqual(points().map((p) => p.dimensions.map((d) => `${d.name}=${d.value}`).join(',')), ['AutoScalingGroupName=web-asg']);
      box.emulator.reset();
      imds.config.paths = { '/latest/meta-data/instance-id': 'i-0abc' };
      const none = await box.run(['--mem-util', '--auto-scaling=only'], env);
      assert.equal(none.status, 0, none.stderr);
      assert.equal(points().length, 0, 'no group, nothing to send with =only');
      assert.match(box.log(), /WARNING .*--auto-scaling: this instance is in no auto-scaling group/);
    } finally {
      await imds?.close();
    }
  });

  it("an endpoint from Heat's cfn-watch-server: one metric per request, as Heat's old API reads only the first", async () => {
    fs.writeFileSync(path.join(box.heat, 'cfn-watch-server'), box.emulator.apiUrl + '\n');
    try {
      const r = await box.run(['--mem-util', '--heartbeat', '--service-failure'], { CFNTOOLS_SYSTEM_ROOT: PROC_ROOT }, { url: false });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /sent 3 metric\(s\) in 3 request\(s\)/);
      assert.equal(box.bodies().length, 3);
    } finally {
      fs.rmSync(path.join(box.heat, 'cfn-watch-server'));
    }
    const forced = await box.run(['--heartbeat', '--service-failure', '--one-per-request']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /in 2 request\(s\)/);
  });

  it('a Heat instance whose Heat has no CloudWatch API: a clear error, not a post to AWS', async () => {
    fs.writeFileSync(path.join(box.heat, 'cfn-boto-cfg'), '[Boto]\ncfn_region_endpoint = 127.0.0.1\n');
    try {
      const r = await box.run(['--heartbeat'], {}, { url: false });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^cfn-push-stats: .*heat: Heat configured this instance, but gave it no CloudWatch endpoint .*Give --url/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    } finally {
      fs.rmSync(path.join(box.heat, 'cfn-boto-cfg'));
    }
    assert.equal(box.bodies().length, 0);
  });

  it('--verify: the metrics printed, credentials checked, nothing sent', async () => {
    const r = await box.run(['--mem-util', '--verify'], { CFNTOOLS_SYSTEM_ROOT: PROC_ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^System\/Linux MemoryUtilization 25 Percent\nverified: 1 metric\(s\) in 1 request\(s\) to .*; nothing sent\n$/);
    assert.equal(box.emulator.requestLog.length, 0);
    const nokeys = await box.run(['--heartbeat', '--verify', '--access-key', 'AKIDONLY'], {});
    assert.equal(nokeys.status, 1);
    assert.match(nokeys.stderr, /--access-key given without --secret-key/);
  });

  it('throttled: retried after the Retry-After the endpoint asks for, and delivered', async () => {
    box.emulator.setMetricPolicy({ rate: { perSecond: 2, burst: 1 } });
    const r = await box.run(['--heartbeat', '--service-failure', '--metric', 'X', '--units', 'Count', '--value', '1', '--one-per-request', '-v']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(points().length, 3);
    assert.match(box.log(), /HTTP 400 Throttling.*retrying in \d+ ms/);
    assert.ok(box.emulator.state().metricThrottled[ACCESS_KEY] >= 1);
  });

  it('throttled to the end: one line that says so, exit 1', async () => {
    box.emulator.setMetricPolicy({ rate: { perSecond: 0.001, burst: 1 } });
    const first = await box.run(['--heartbeat']);
    assert.equal(first.status, 0, first.stderr);
    const r = await box.run(['--heartbeat', '--timeout', '3']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^cfn-push-stats: throttled: http:\/\/127\.0\.0\.1:\d+\/v1\/ kept answering Throttling \(Rate exceeded\), and waiting longer would pass the 3 s deadline \(--timeout\); 0 of 1 request\(s\) delivered\n$/);
  });

  it("a stack user's key feeds only its own stack's alarms", async () => {
    const theirs = await box.run(['--heartbeat', '--watch', 'TheirAlarm']);
    assert.equal(theirs.status, 1);
    assert.match(theirs.stderr, /HTTP 403 AccessDenied/);
    assert.equal(points().length, 0);
    const byPhysical = await box.run(['--heartbeat', '--watch', `${STACK}-CpuAlarm-x1`]);
    assert.equal(byPhysical.status, 0, byPhysical.stderr);
  });

  it('--from-cron: waits a random moment within the spread, prints nothing, logs what it did', async () => {
    const r = await box.run(['--heartbeat', '--from-cron', '-v'], { CFNTOOLS_PUSH_CRON_SPREAD_MS: '300' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '', 'nothing printed from cron');
    assert.equal(box.bodies().length, 1);
    const waited = /waiting (\d+) ms first, so that a fleet run from cron does not send in the same second/.exec(box.log());
    assert.ok(waited && Number(waited[1]) < 300, box.log());
    assert.match(box.log(), /INFO .*sent 1 metric\(s\) in 1 request\(s\)/);
  });

  it('--from-cron: while an earlier run holds the lock a run exits quietly; a lock whose pid belongs to another process now, or whose holder is gone, is taken over (said in the log)', async () => {
    const lock = path.join(box.dir, 'state', 'cfn-push-stats.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    // A live process under the tool's name (as cron's shell running the job is), named by the lock as its owner.
    const holder = spawn('bash', ['-c', 'exec -a cfn-push-stats sleep 30'], { stdio: 'ignore' });
    const boot = ownIdentity().boot;
    try {
      await new Promise((r) => setTimeout(r, 100));
      fs.writeFileSync(lock, `${holder.pid} ${startTime(holder.pid!)} ${boot}\n`);
      const r = await box.run(['--heartbeat', '--from-cron'], { CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout + r.stderr, '', 'quiet');
      assert.equal(box.bodies().length, 0, 'nothing sent');
      assert.match(box.log(), new RegExp(`another cfn-push-stats \\(pid ${holder.pid}\\) is running: this run is skipped`));
      assert.equal(Number.parseInt(fs.readFileSync(lock, 'utf8'), 10), holder.pid, "the holder's lock is left alone");

      // The same pid, started at another tick: the run that wrote the lock is gone and its pid was reused.
      fs.writeFileSync(lock, `${holder.pid} ${Number(startTime(holder.pid!)) + 7} ${boot}\n`);
      const reused = await box.run(['--heartbeat', '--from-cron'], { CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' });
      assert.equal(reused.status, 0, reused.stderr);
      assert.equal(box.bodies().length, 1, 'the lock was taken over');
      assert.match(box.log(), new RegExp(`WARNING .*cfn-push-stats\\.lock: taken over: process ${holder.pid} has ended \\(its pid belongs to another process now\\)`));
      // An earlier release's lock, the pid alone: a process of another executable is no earlier run.
      fs.writeFileSync(lock, `${holder.pid}\n`);
      assert.equal((await box.run(['--heartbeat', '--from-cron'], { CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' })).status, 0);
      assert.equal(box.bodies().length, 2, 'taken over');
    } finally {
      holder.kill();
      await new Promise((r) => holder.once('exit', r));
    }
    fs.writeFileSync(lock, `${holder.pid} ${startTime(process.pid)} ${boot}\n`);
    const after = await box.run(['--heartbeat', '--from-cron'], { CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' });
    assert.equal(after.status, 0, after.stderr);
    assert.equal(box.bodies().length, 3, 'the stale lock was taken over');
    assert.ok(!fs.existsSync(lock), 'and released');
  });

  it('--from-cron: a failure goes to the log, not to cron\'s mail, and the exit code says it', async () => {
    const r = await box.run(['--heartbeat', '--from-cron', '--watch', 'TheirAlarm'], { CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout + r.stderr, '');
    assert.match(box.log(), /ERROR .*cfn-push-stats: HTTP 403 AccessDenied/);
  });

  it("heat-cfntools' default /etc/cfn/cfn-credentials, mon-put-instance-data's flag names, and no secret in the log", async () => {
    fs.writeFileSync(path.join(box.etc, 'cfn-credentials'), `AWSAccessKeyId=${ACCESS_KEY}\nAWSSecretKey=${SECRET_KEY}\n`, { mode: 0o600 });
    try {
      const r = await box.run(['--heartbeat', '-v']);
      assert.equal(r.status, 0, r.stderr);
    } finally {
      fs.rmSync(path.join(box.etc, 'cfn-credentials'));
    }
    const viaFlags = await box.run(['--aws-access-key-id', ACCESS_KEY, '--aws-secret-key', SECRET_KEY, '--disk-space-util', '--disk-space-units', 'megabytes', '--disk-path', '/', '--disk-path', '/tmp', '-v']);
    assert.equal(viaFlags.status, 0, viaFlags.stderr);
    assert.ok(!box.log().includes(SECRET_KEY), 'the secret key is never logged');
    assert.ok(points().length >= 2);
  });

  it("every request of these runs is a PutMetricData botocore's CloudWatch model accepts", function () {
    skipUnless(this, 'botocore', botocoreAvailable());
    assert.ok(sent.length >= 10, `${sent.length} bodies`);
    const verdicts = validatePutMetricData(sent);
    verdicts.forEach((v, i) => assert.ok(v.ok, `body ${i}: ${v.errors.join('; ')}\n${sent[i]}`));
  });
});
