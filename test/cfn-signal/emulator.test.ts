/**
 * Our cfn-signal against the local endpoint emulator (test/emulator), which
 * hands out Heat-style pre-signed URLs, checks their signatures and age the
 * way heat-api-cfn and keystone do, and runs the wait conditions: Count=1
 * completes, FAILURE fails, injected faults are ridden out with exactly one
 * accepted signal, an expired URL is refused and explained, and a signed
 * SignalResource completes a CreationPolicy.
 */
import * as assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../emulator/server';
import { sandbox, type Sandbox } from './support';

const PROJECT_KEY = { accessKey: 'AKIDPROJECT', secretKey: 'project/secret+key' };

describe('cfn-signal against the endpoint emulator', function () {
  let emu: Emulator;
  let box: Sandbox;
  let skewMs = 0;

  before(async () => {
    emu = await startEmulator({
      now: () => Date.now() + skewMs,
      credentials: [PROJECT_KEY],
      stacks: [
        {
          name: 'sig',
          resources: {
            Handle: { type: 'AWS::CloudFormation::WaitConditionHandle' },
            Wait: { type: 'AWS::CloudFormation::WaitCondition', handle: 'Handle', count: 1 },
            Server: { type: 'AWS::EC2::Instance', creationPolicy: { count: 1 } },
          },
        },
      ],
    });
  });
  after(() => emu.stop());
  beforeEach(() => {
    skewMs = 0;
    emu.reset();
    emu.setFaults({});
    box = sandbox();
  });
  afterEach(() => box.remove());

  const wait = () => emu.resource('sig', 'Wait');

  it('a SUCCESS signal on the pre-signed SigV2 URL completes a Count=1 wait condition', async () => {
    assert.equal(wait().status, 'CREATE_IN_PROGRESS');
    const r = await box.run(['-e', '0', '-i', 'i-0001', '-d', 'web ready', emu.signalUrls('sig', 'Handle').sigv2]);
    assert.equal(r.status, 0, r.stderr);
    const w = wait();
    assert.equal(w.status, 'CREATE_COMPLETE');
    assert.deepEqual(w.waitCondition?.data, { 'i-0001': 'web ready' });
    const puts = emu.requestLog.filter((e) => e.method === 'PUT');
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.signature, 'v2');
    assert.equal(puts[0]!.verified, 'ok');
  });

  it('the AWS-style SigV4 pre-signed URL works the same, also base64-encoded', async () => {
    const url = emu.signalUrls('sig', 'Handle').sigv4;
    const r = await box.run(['-i', 'i-0002', Buffer.from(url).toString('base64')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(wait().status, 'CREATE_COMPLETE');
  });

  it('a FAILURE signal fails it, with our Reason', async () => {
    const r = await box.run(['-e', '1', '-r', 'httpd did not start', '-i', 'i-0003', emu.signalUrls('sig', 'Handle').sigv2]);
    assert.equal(r.status, 0, r.stderr);
    const w = wait();
    assert.equal(w.status, 'CREATE_FAILED');
    assert.match(w.statusReason, /httpd did not start/);
  });

  it('503, reset, throttling, then success: exactly one signal accepted and counted', async () => {
    const when = { pathPrefix: '/v1/waitcondition/' };
    emu.setFaults({
      next: [
        { kind: 'error', status: 503, count: 1, when },
        { kind: 'reset', count: 1, when },
        { kind: 'throttle', status: 400, count: 1, when },
      ],
    });
    const r = await box.run(['-i', 'i-0004', emu.signalUrls('sig', 'Handle').sigv2]);
    assert.equal(r.status, 0, r.stderr);
    const puts = emu.requestLog.filter((e) => e.method === 'PUT');
    assert.deepEqual(
      puts.map((e) => e.status),
      [503, 'reset', 400, 200],
    );
    assert.equal(puts.filter((e) => e.status === 200).length, 1, 'exactly one request was accepted');
    const w = wait();
    assert.equal(w.status, 'CREATE_COMPLETE');
    assert.equal(w.signals.length, 1);
    assert.equal(w.waitCondition?.received, 1);
  });

  it('a URL older than 15 minutes: refused (403), not retried, and the message says why', async () => {
    const url = emu.signalUrls('sig', 'Handle').sigv2;
    skewMs = 20 * 60_000;
    const r = await box.run(['-i', 'i-0005', url]);
    assert.equal(r.status, 1);
    assert.equal(emu.requestLog.filter((e) => e.method === 'PUT').length, 1);
    assert.match(r.stderr, /was refused by .* \(not retried\): HTTP 403 AccessDenied/);
    assert.match(r.stderr, /the pre-signed URL was issued at \S+, more than 15 minutes ago \(20 minutes before \S+ by the server's clock\)/);
    assert.ok(!r.stderr.includes(new URL(url).searchParams.get('Signature')!));
    assert.equal(wait().status, 'CREATE_IN_PROGRESS');
  });

  it('--stack/--resource: a SigV4 SignalResource the emulator verifies completes the CreationPolicy', async () => {
    const r = await box.run(['--stack', 'sig', '--resource', 'Server', '-i', 'i-0006', '-u', emu.apiUrl, '--region', 'RegionOne', '--access-key', PROJECT_KEY.accessKey, '--secret-key', PROJECT_KEY.secretKey]);
    assert.equal(r.status, 0, r.stderr);
    const entry = emu.requestLog.find((e) => e.action === 'SignalResource')!;
    assert.equal(entry.verified, 'ok');
    assert.equal(emu.resource('sig', 'Server').status, 'CREATE_COMPLETE');
  });
});
