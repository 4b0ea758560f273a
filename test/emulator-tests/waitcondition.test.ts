/**
 * Wait conditions as Heat runs them: Count distinct UniqueIds, a repeated id
 * overwrites, any FAILURE fails, Timeout, the Data attribute, Heat's body
 * validation, both URL forms, and SignalResource.
 */
import * as assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../emulator/server';
import { send, signedGet } from './helpers';

const STACK_KEY = { accessKey: 'AKIDSTACK', secretKey: 'stack-secret' };

describe('emulator: wait conditions', () => {
  let emu: Emulator;
  let clock = Date.now();

  before(async () => {
    emu = await startEmulator({
      now: () => clock,
      stacks: [
        {
          name: 'wc',
          resources: {
            Server: { type: 'AWS::EC2::Instance', creationPolicy: { count: 2 } },
            Handle: { type: 'AWS::CloudFormation::WaitConditionHandle' },
            Wait: { type: 'AWS::CloudFormation::WaitCondition', handle: 'Handle', count: 2 },
            Handle2: { type: 'AWS::CloudFormation::WaitConditionHandle' },
            Timed: { type: 'AWS::CloudFormation::WaitCondition', handle: 'Handle2', timeout: 60 },
          },
          credentials: [STACK_KEY],
        },
      ],
    });
  });
  after(() => emu.stop());
  beforeEach(() => {
    clock = Date.now();
    emu.reset();
  });

  const signal = (fields: Record<string, unknown> | string, opts: { handle?: string; url?: 'sigv2' | 'sigv4'; contentType?: string } = {}) => {
    const url = emu.signalUrls('wc', opts.handle ?? 'Handle')[opts.url ?? 'sigv2'];
    const body = typeof fields === 'string' ? fields : JSON.stringify({ Status: 'SUCCESS', Reason: 'ok', UniqueId: 'i-1', Data: 'd', ...fields });
    return send(url, { method: 'PUT', body, headers: opts.contentType === undefined ? {} : { 'Content-Type': opts.contentType } });
  };
  const wait = () => emu.resource('wc', 'Wait');

  it('Count=2 needs two distinct UniqueIds; a repeated id overwrites and counts once', async () => {
    assert.equal(wait().status, 'CREATE_IN_PROGRESS');
    assert.equal((await signal({ UniqueId: 'a', Data: 'first' })).status, 200);
    assert.equal((await signal({ UniqueId: 'a', Data: 'second' })).status, 200);
    assert.equal(wait().status, 'CREATE_IN_PROGRESS');
    assert.equal(wait().waitCondition?.received, 1);
    await signal({ UniqueId: 'b', Data: 'other' });
    const w = wait();
    assert.equal(w.status, 'CREATE_COMPLETE');
    assert.deepEqual(w.waitCondition?.data, { a: 'second', b: 'other' });
    assert.equal(w.waitCondition?.dataAttribute, '{"a": "second", "b": "other"}');
  });

  it('the handle\'s Metadata is Heat\'s {UniqueId: {Status, Reason, Data}}, key order as sent', async () => {
    await signal('{"Data": "x", "Status": "SUCCESS", "UniqueId": 5, "Reason": "r"}');
    const r = await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'wc', LogicalResourceId: 'Handle' }, STACK_KEY, clock);
    assert.match(r.text, /"Metadata": \{"5": \{"Data": "x", "Status": "SUCCESS", "Reason": "r"\}\}/);
  });

  it('one FAILURE fails it, the FAILURE reasons joined with ";", and the end state sticks', async () => {
    await signal({ UniqueId: 'a', Status: 'FAILURE', Reason: 'disk full' });
    await signal({ UniqueId: 'b', Status: 'FAILURE', Reason: 'no network' });
    let w = wait();
    assert.equal(w.status, 'CREATE_FAILED');
    assert.equal(w.statusReason, 'WaitConditionFailure: resources.Wait: disk full;no network');
    await signal({ UniqueId: 'c' });
    await signal({ UniqueId: 'd' });
    w = wait();
    assert.equal(w.status, 'CREATE_FAILED');
  });

  it('times out after Timeout seconds of the emulator clock', async () => {
    assert.equal(emu.resource('wc', 'Timed').status, 'CREATE_IN_PROGRESS');
    clock += 61_000;
    const t = emu.resource('wc', 'Timed');
    assert.equal(t.status, 'CREATE_FAILED');
    assert.equal(t.statusReason, 'WaitConditionTimeout: resources.Timed: 0 of 1 received');
  });

  it('rejects bodies as Heat does: wrong key set or Status is 500 InternalFailure, unparsed bodies 400', async () => {
    const internal = [
      '{"Status": "SUCCESS", "Reason": "r", "UniqueId": "u"}',
      '{"Status": "SUCCESS", "Reason": "r", "UniqueId": "u", "Data": "d", "Extra": 1}',
      '{"Status": "success", "Reason": "r", "UniqueId": "u", "Data": "d"}',
      '{"Status": true, "Reason": "r", "UniqueId": "u", "Data": "d"}',
    ];
    for (const body of internal) {
      const r = await signal(body);
      assert.equal(r.status, 500, body);
      assert.match(r.text, /<Code>InternalFailure<\/Code>/);
    }
    for (const body of ['[{"Status": "SUCCESS"}]', '{not json', 'Status=SUCCESS']) {
      assert.equal((await signal(body)).status, 400, body);
    }
    assert.equal(wait().waitCondition?.received, 0);
  });

  it('parses the body with no, empty, text/plain or JSON Content-Type', async () => {
    for (const [i, contentType] of [undefined, '', 'text/plain', 'application/json; charset=utf-8'].entries()) {
      const r = await signal({ UniqueId: `ct-${i}` }, { contentType });
      assert.equal(r.status, 200, String(contentType));
    }
  });

  it('accepts the SigV4 query-presigned URL too', async () => {
    const r = await signal({ UniqueId: 'v4' }, { url: 'sigv4' });
    assert.equal(r.status, 200, r.text);
    assert.equal(emu.requestLog.at(-1)?.signature, 'v4-query');
    assert.deepEqual(Object.keys(wait().waitCondition?.data ?? {}), ['v4']);
  });

  it('a handle\'s key signals only its own handle and reads nothing', async () => {
    const own = emu.signalUrls('wc', 'Handle');
    const other = new URL(emu.signalUrls('wc', 'Handle2').sigv2);
    // Handle's key and signature, aimed at Handle2's path: the signature covers the path.
    const swapped = `${other.origin}${other.pathname}${new URL(own.sigv2).search}`;
    const r = await send(swapped, { method: 'PUT', body: JSON.stringify({ Status: 'SUCCESS', Reason: 'r', UniqueId: 'u', Data: 'd' }) });
    assert.equal(r.status, 403);
    const secret = emu.model.key(own.accessKey)!.secretKey;
    const read = await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'wc', LogicalResourceId: 'Handle' }, { accessKey: own.accessKey, secretKey: secret }, clock);
    assert.equal(read.text, '"User is not authorized to perform action"');
  });

  it('SignalResource counts on a WaitCondition and completes a CreationPolicy resource', async () => {
    const sig = (resource: string, id: string, status = 'SUCCESS') =>
      signedGet(`${emu.url}/v1/`, { Action: 'SignalResource', StackName: 'wc', LogicalResourceId: resource, UniqueId: id, Status: status }, STACK_KEY, clock);
    let r = await sig('Wait', 'x');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /^<SignalResourceResponse xmlns="http:\/\/cloudformation.amazonaws.com\/doc\/2010-05-15\/"><ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId>/);
    await sig('Wait', 'y');
    assert.equal(wait().status, 'CREATE_COMPLETE');
    await sig('Server', 's1');
    assert.equal(emu.resource('wc', 'Server').status, 'CREATE_IN_PROGRESS');
    await sig('Server', 's2');
    assert.equal(emu.resource('wc', 'Server').status, 'CREATE_COMPLETE');
    r = await sig('Server', 's3', 'MAYBE');
    assert.equal(r.status, 400);
    assert.match(r.text, /InvalidParameterValue/);
  });
});
