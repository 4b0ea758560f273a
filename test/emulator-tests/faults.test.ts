/**
 * Injected faults, each seen by a plain node http client, plus the runtime
 * controls tests use: metadata changes, the admin API and the request log.
 */
import * as assert from 'node:assert/strict';
import { parseFaultFlag } from '../emulator/faults';
import { startEmulator, type Emulator } from '../emulator/server';
import { signV2Params } from '../emulator/signing';
import { encodeForm, send, signedGet } from './helpers';

const KEY = { accessKey: 'AKIDFAULTS', secretKey: 'faults-secret' };

describe('emulator: faults and runtime control', () => {
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator({
      stacks: [{ name: 's', resources: { Web: { type: 'AWS::EC2::Instance', metadata: { v: 1 } } } }],
      credentials: [KEY],
      files: { inline: { 'f.txt': 'x'.repeat(1000) } },
    });
  });
  after(() => emu.stop());
  beforeEach(() => {
    emu.setFaults({});
    emu.reset();
  });

  const file = () => send(`${emu.url}/files/f.txt`);
  const metadata = async () => {
    const r = await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 's', LogicalResourceId: 'Web' }, KEY);
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail.Metadata;
  };
  const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

  it('latency delays the answer', async () => {
    emu.setFaults({ latencyMs: 150 });
    const t = Date.now();
    assert.equal((await file()).status, 200);
    assert.ok(Date.now() - t >= 140, `answered after ${Date.now() - t} ms`);
  });

  it('an error rate answers that status as XML ErrorResponse, repeatably for a seed', async () => {
    emu.setFaults({ rates: [{ kind: 'error', status: 503, rate: 1 }] });
    const r = await file();
    assert.equal(r.status, 503);
    assert.equal(r.text, '<ErrorResponse><Error><Type>Server</Type><Code>ServiceUnavailable</Code><Message>Service temporarily unavailable</Message></Error></ErrorResponse>');
    const run = async () => {
      emu.setFaults({ seed: 7, rates: [{ kind: 'error', status: 500, rate: 0.3 }] });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await file()).status);
      return statuses;
    };
    const first = await run();
    const failed = first.filter((s) => s === 500).length;
    assert.ok(failed > 3 && failed < 20, `${failed} of 30 failed`);
    assert.deepEqual(await run(), first);
  });

  it('throttling answers 400 Throttling (Query API style) or 429', async () => {
    emu.setFaults({ rates: [{ kind: 'throttle', rate: 1 }] });
    const r = await file();
    assert.equal(r.status, 400);
    assert.match(r.text, /<Code>Throttling<\/Code><Message>Request was denied due to request throttling<\/Message>/);
    emu.setFaults({ rates: [{ kind: 'throttle', status: 429, rate: 1 }] });
    const t = await file();
    assert.equal(t.status, 429);
    assert.equal(t.headers['retry-after'], '1');
  });

  it('connection reset: the client sees ECONNRESET', async () => {
    emu.setFaults({ next: [{ kind: 'reset', count: 1 }] });
    await assert.rejects(file(), (err) => errorCode(err) === 'ECONNRESET');
    assert.equal(emu.requestLog.at(-1)?.status, 'reset');
    assert.equal((await file()).status, 200);
  });

  it('truncated body: Content-Length announces more than arrives, then the connection closes', async () => {
    emu.setFaults({ next: [{ kind: 'truncate', count: 1 }] });
    await assert.rejects(file(), (err) => errorCode(err) === 'ECONNRESET' && /aborted/.test((err as Error).message));
    assert.equal((await file()).text.length, 1000);
  });

  it('clock skew moves the Date header and the signature time window', async () => {
    emu.setFaults({ skewSeconds: 3600 });
    const r = await file();
    const date = Date.parse(String(r.headers.date));
    assert.ok(Math.abs(date - (Date.now() + 3600_000)) < 5000, `Date: ${r.headers.date}`);
    const signed = await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', StackName: 's', LogicalResourceId: 'Web' }, KEY);
    assert.equal(signed.status, 403);
    assert.match(emu.requestLog.at(-1)?.verified ?? '', /^AccessDenied: request expired/);
    // A client that signs with the server's clock (skew correction) gets through.
    const corrected = await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', StackName: 's', LogicalResourceId: 'Web' }, KEY, emu.now());
    assert.equal(corrected.status, 200);
  });

  it('"fail the next N" is deterministic and can target one Action', async () => {
    emu.setFaults({ next: [{ kind: 'error', status: 500, count: 2, when: { action: 'DescribeStackResource' } }] });
    assert.equal((await file()).status, 200, 'other requests unaffected');
    await assert.rejects(metadata(), /500/);
    await assert.rejects(metadata(), /500/);
    assert.deepEqual(await metadata(), { v: 1 });
    assert.deepEqual(emu.faults(), {});
  });

  it('the --fault syntax builds the same configuration', () => {
    let f = parseFaultFlag('latency=20');
    f = parseFaultFlag('error=503:30%@/files/', f);
    f = parseFaultFlag('next=2:throttle429@DescribeStackResource', f);
    f = parseFaultFlag('skew=-900', f);
    assert.deepEqual(f, {
      latencyMs: 20,
      skewSeconds: -900,
      rates: [{ kind: 'error', status: 503, rate: 0.3, when: { pathPrefix: '/files/' } }],
      next: [{ kind: 'throttle', status: 429, count: 2, when: { action: 'DescribeStackResource' } }],
    });
    assert.throws(() => parseFaultFlag('error=503'), /expected error=STATUS:RATE/);
    assert.throws(() => parseFaultFlag('next=1:teapot'), /unknown fault "teapot"/);
  });

  it('a metadata change is visible to the next DescribeStackResource (programmatic and admin API)', async () => {
    assert.deepEqual(await metadata(), { v: 1 });
    emu.setMetadata('s', 'Web', { v: 2 });
    assert.deepEqual(await metadata(), { v: 2 });
    const r = await send(`${emu.url}/_emulator/metadata/s/Web`, { method: 'PUT', body: '{"v": 3, "AWS::CloudFormation::Init": {}}' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await metadata(), { v: 3, 'AWS::CloudFormation::Init': {} });
    assert.equal((await send(`${emu.url}/_emulator/metadata/s/Nope`, { method: 'PUT', body: '{}' })).status, 404);
    assert.equal((await send(`${emu.url}/_emulator/metadata/s/Web`, { method: 'PUT', body: '{bad' })).status, 400);
  });

  it('admin API: faults set and cleared over HTTP, never applied to itself; the request log, redacted', async () => {
    let r = await send(`${emu.url}/_emulator/faults`, { method: 'PUT', body: JSON.stringify({ rates: [{ kind: 'reset', rate: 1 }] }) });
    assert.equal(r.status, 200, r.text);
    await assert.rejects(file());
    r = await send(`${emu.url}/_emulator/faults`, { method: 'PUT', body: '{"rates": [{"kind": "explode", "rate": 1}]}' });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.text).error, /kind must be error, throttle, reset or truncate/);
    assert.equal((await send(`${emu.url}/_emulator/faults`, { method: 'DELETE' })).status, 200);
    assert.equal((await file()).status, 200);

    emu.clearRequestLog();
    await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', StackName: 's', LogicalResourceId: 'Web' }, { ...KEY, sessionToken: 'tok-secret' });
    const log = JSON.parse((await send(`${emu.url}/_emulator/requests`)).text);
    assert.equal(log.length, 1);
    assert.equal(log[0].action, 'DescribeStackResource');
    assert.equal(log[0].signature, 'v4');
    assert.equal(log[0].verified, 'AccessDenied: session token given for a key without one');
    assert.equal(log[0].status, 403);
    const params = signV2Params({ ...KEY, method: 'GET', url: `${emu.url}/v1/`, params: { Action: 'DescribeStackResource', StackName: 's', LogicalResourceId: 'Web' }, time: Date.now() });
    assert.equal((await send(`${emu.url}/v1/?${encodeForm(params)}`)).status, 200);
    const path = emu.requestLog.at(-1)!.path;
    assert.match(path, /&Signature=<redacted>/);
    assert.ok(!path.includes(encodeForm({ s: params.Signature }).slice(2)), path);
  });
});
