/**
 * The emulator against Heat itself: answers byte-compared with Heat 19's
 * in-process responses, recorded heat-cfntools requests verifying under the
 * emulator's keystone algorithm, and Heat's own pre-signed handle URL
 * reproduced exactly.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { heatSignedUrl } from '../emulator/presign';
import { requestParams, startEmulator, type Emulator } from '../emulator/server';
import { signV2Params } from '../emulator/signing';
import { verifySignature } from '../emulator/sigverify';
import type { StackSpec } from '../emulator/stackfile';
import { encodeForm, HEAT_WIRE, header, send, signedGet, wireRequests, type WireRequest } from './helpers';

const STACK_ID = 'f00dface-0000-4000-8000-000000000000';
const ARN = `arn:openstack:heat::tenant0:stacks/teststack/${STACK_ID}`;
const BOTO = { accessKey: 'AKIDEXAMPLE0000000000000000000001', secretKey: 'SeCrEt/Key+With=Chars!' };
const SIGNAL = { accessKey: 'signalaccesskey00000000000000001', secretKey: 'signal-secret-key' };
const PROJECT = { accessKey: 'AKIDPROJECT', secretKey: 'project-secret' };

/** The resource data of heat-api-cfn-in-process-responses.txt's stub engine. */
const STACK: StackSpec = {
  name: 'teststack',
  id: STACK_ID,
  tenant: 'tenant0',
  resources: {
    WebServer: {
      type: 'AWS::EC2::Instance',
      physicalId: 'phys-1',
      statusReason: 'state changed',
      lastUpdated: '2026-11-24T14:00:00Z',
      metadata: { 'AWS::CloudFormation::Init': { config: {} }, k: 'café' },
    },
    Denied: { type: 'AWS::EC2::Instance' },
    WaitHandle: { type: 'AWS::CloudFormation::WaitConditionHandle', ...SIGNAL },
    WaitCondition: { type: 'AWS::CloudFormation::WaitCondition', handle: 'WaitHandle', count: 1 },
    // The alarm cfn-push-stats-heartbeat feeds (AlarmName=alarm1, its physical id as a Ref hands it over).
    HeartbeatAlarm: { type: 'AWS::CloudWatch::Alarm', physicalId: 'alarm1' },
  },
  credentials: [{ ...BOTO, resources: ['WebServer'] }],
};

interface HeatAnswer {
  status: string;
  headers: Record<string, string>;
  body: string;
}

/** The `<` lines of each section of the in-process transcript, by section title. */
function heatAnswers(): Map<string, HeatAnswer> {
  const text = fs.readFileSync(path.join(HEAT_WIRE, 'heat-api-cfn-in-process-responses.txt'), 'latin1');
  const out = new Map<string, HeatAnswer>();
  for (const section of text.split(/^={70,}\n/m).filter(Boolean)) {
    const title = section.split('\n')[0];
    const status = /^< (\d{3} [^\n]*)$/m.exec(section)?.[1];
    if (!status) continue;
    const headers: Record<string, string> = {};
    for (const m of section.matchAll(/^< ([A-Za-z-]+): ([^\n]*)$/gm)) headers[m[1]] = m[2];
    const at = section.indexOf('< (body) ') + '< (body) '.length;
    out.set(title, { status, headers, body: Buffer.from(section.slice(at, at + Number(headers['Content-Length'])), 'latin1').toString('utf8') });
  }
  return out;
}

describe('emulator: Heat compatibility', () => {
  const heat = heatAnswers();
  let emu: Emulator;
  let clock = Date.now();

  before(async () => {
    emu = await startEmulator({ stacks: [STACK], credentials: [PROJECT], now: () => clock });
  });
  after(() => emu.stop());
  beforeEach(() => {
    clock = Date.now();
    emu.reset();
  });

  function expectHeat(title: string, got: { status: number; reason: string; headers: Record<string, unknown>; text: string }) {
    const want = heat.get(title);
    assert.ok(want, `no section "${title}" in the transcript`);
    assert.equal(`${got.status} ${got.reason}`, want.status);
    assert.equal(got.headers['content-type'], want.headers['Content-Type']);
    assert.equal(got.headers['content-length'], want.headers['Content-Length']);
    assert.equal(got.text, want.body);
  }

  const dsr = (params: Record<string, string>, keys = PROJECT) => signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', Version: '2010-05-15', ...params }, keys);

  it('DescribeStackResource with ContentType=JSON is byte-identical to Heat', async () => {
    expectHeat('DescribeStackResource, ContentType=JSON (what boto sends)', await dsr({ ContentType: 'JSON', LogicalResourceId: 'WebServer', StackName: 'teststack' }, BOTO));
  });

  it('DescribeStackResource without ContentType is Heat\'s XML, Metadata as JSON text', async () => {
    expectHeat('DescribeStackResource, no ContentType -> XML', await dsr({ LogicalResourceId: 'WebServer', StackName: 'teststack' }));
  });

  it('takes a stack ARN as StackName', async () => {
    expectHeat('DescribeStackResource with a stack ARN (no identify_stack call)', await dsr({ ContentType: 'JSON', LogicalResourceId: 'WebServer', StackName: ARN }));
  });

  it('answers Heat\'s bare JSON strings (HTTP 200) for errors under ContentType=JSON', async () => {
    expectHeat('DescribeStackResource missing StackName', await dsr({ ContentType: 'JSON', LogicalResourceId: 'WebServer' }));
    expectHeat('DescribeStackResource for a resource the engine cannot find (JSON)', await dsr({ ContentType: 'JSON', LogicalResourceId: 'Missing', StackName: 'teststack' }));
    expectHeat(
      'DescribeStackResource denied by engine (stack user not allowed, JSON)',
      await dsr({ ContentType: 'JSON', LogicalResourceId: 'Denied', StackName: 'teststack' }, BOTO),
    );
  });

  it('answers 400 XML ErrorResponse without ContentType, and InvalidAction for unknown actions', async () => {
    expectHeat('DescribeStackResource for a resource the engine cannot find (XML)', await dsr({ LogicalResourceId: 'Missing', StackName: 'teststack' }));
    expectHeat('Unknown Action', await signedGet(`${emu.url}/v1/`, { Action: 'Bogus' }, PROJECT));
  });

  it('a stack name, id or ARN of another tenant is "not found"', async () => {
    const r = await dsr({ ContentType: 'JSON', LogicalResourceId: 'WebServer', StackName: ARN.replace('tenant0', 'tenant1') });
    assert.equal(r.text, '"A bad or out-of-range value was supplied"');
    const byId = await dsr({ ContentType: 'JSON', LogicalResourceId: 'WebServer', StackName: STACK_ID });
    assert.equal(byId.status, 200);
    assert.match(byId.text, /"LogicalResourceId": "WebServer"/);
  });

  describe('wait-condition PUT', () => {
    const put = (body: string, headers: Record<string, string> = {}, method = 'PUT') => {
      // Heat's URL signs a PUT; for another verb the URL must be signed for that verb to get past ec2token.
      return send(method === 'PUT' ? emu.signalUrls('teststack', 'WaitHandle').sigv2 : signedFor(method), { method, headers, body });
    };
    const signedFor = (method: string) => {
      const u = new URL(emu.signalUrls('teststack', 'WaitHandle').sigv2);
      const base = `${u.origin}${u.pathname}`;
      return `${base}?${encodeForm(signV2Params({ ...SIGNAL, method, url: base, params: {}, time: clock }))}`;
    };
    const body = '{"Status": "SUCCESS", "Reason": "Configuration Complete", "UniqueId": "i-1", "Data": "Application has completed configuration."}';

    it('answers <resource>HANDLE</resource> like Heat (no Content-Type, as cfn-signal sends it)', async () => {
      expectHeat('cfn-signal PUT (no Content-Type header, as curl -H "Content-Type:" sends)', await put(body));
      assert.equal(emu.resource('teststack', 'WaitCondition').status, 'CREATE_COMPLETE');
    });

    it('answers 500 InternalFailure for a Status other than SUCCESS/FAILURE', async () => {
      expectHeat('cfn-signal PUT with invalid Status (engine raises ResourceFailure)', await put(body.replace('SUCCESS', 'MAYBE')));
      assert.equal(emu.resource('teststack', 'WaitCondition').status, 'CREATE_IN_PROGRESS');
    });

    it('answers 400 for a body Heat does not parse (not JSON, not a JSON Content-Type)', async () => {
      for (const [b, h] of [['not json', {}], [' {"leading": "space"}', {}], [body, { 'Content-Type': 'application/octet-stream' }], ['', {}]] as const) {
        const r = await put(b, h);
        assert.equal(r.status, 400, `${b} ${JSON.stringify(h)}`);
        assert.match(r.text, /^400 Bad Request\n\n/);
        assert.equal(r.headers['content-type'], 'text/plain; charset=UTF-8');
      }
    });

    it('a form Content-Type makes webob parse the body into the signed parameters: 403, as Heat+keystone answer', async () => {
      const r = await put(body, { 'Content-Type': 'application/x-www-form-urlencoded' });
      assert.equal(r.status, 403);
      assert.equal(emu.requestLog.at(-1)?.verified, 'AccessDenied: signature does not match');
    });

    it('answers webob\'s 404 to a POST (signed for POST, JSON body; a PUT-signed URL fails the signature first)', async () => {
      expectHeat('POST to /waitcondition (wrong verb)', await put(body, { 'Content-Type': 'application/json' }, 'POST'));
      const misused = await send(emu.signalUrls('teststack', 'WaitHandle').sigv2, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(misused.status, 403);
    });
  });

  describe('recorded heat-cfntools requests', () => {
    /** Replays a recorded request (Host 127.0.0.1:8000 and all) to the emulator at the recorded time. */
    async function replay(rec: WireRequest) {
      clock = Date.parse(rec.time);
      return send(`${emu.url}${rec.target}`, { method: rec.method, headers: Object.fromEntries(rec.headers), body: rec.body });
    }

    function verifyRecorded(rec: WireRequest, secretKey: string, at: number) {
      const q = rec.target.indexOf('?');
      const headers = Object.fromEntries(rec.headers.map(([k, v]) => [k.toLowerCase(), v]));
      const signed = {
        method: rec.method,
        rawPath: q >= 0 ? rec.target.slice(0, q) : rec.target,
        params: requestParams(rec.method, q >= 0 ? rec.target.slice(q + 1) : '', headers['content-type'], rec.body),
        headers,
        body: rec.body,
        host: header(rec, 'Host')!,
      };
      return verifySignature(signed, () => ({ secretKey }), at);
    }

    it('cfn-get-metadata\'s boto SigV4 GET verifies (transcript cfn-get-metadata-basic)', async () => {
      const [rec] = wireRequests('cfn-get-metadata-basic.txt');
      assert.deepEqual(verifyRecorded(rec, BOTO.secretKey, Date.parse(rec.time)), { ok: true, accessKey: BOTO.accessKey, kind: 'v4', host: '127.0.0.1:8000' });
      const r = await replay(rec);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail.Metadata, STACK.resources.WebServer.metadata);
    });

    it('cfn-push-stats\' boto SigV4 form POST verifies (transcript cfn-push-stats-heartbeat)', async () => {
      const [rec] = wireRequests('cfn-push-stats-heartbeat.txt');
      assert.equal(verifyRecorded(rec, BOTO.secretKey, Date.parse(rec.time)).ok, true);
      const r = await replay(rec);
      assert.equal(r.text, '<PutMetricDataResponse><PutMetricDataResult><ResponseMetadata>None</ResponseMetadata></PutMetricDataResult></PutMetricDataResponse>');
      const [point] = emu.model.metrics;
      assert.equal(point.metricName, 'Heartbeat');
      assert.equal(point.value, 1);
      assert.deepEqual(point.dimensions.map((d) => d.name), ['metering.stack', 'AutoScalingGroupName', 'InstanceId', 'AlarmName']);
      assert.equal(point.stack, 'teststack');
    });

    it('cfn-signal\'s replay of Heat\'s SigV2 URL verifies and completes the wait condition (transcript cfn-signal-default)', async () => {
      const [rec] = wireRequests('cfn-signal-default.txt');
      assert.equal(verifyRecorded(rec, SIGNAL.secretKey, Date.parse(rec.time)).ok, true);
      const r = await replay(rec);
      assert.equal(r.text, '<resource>WaitHandle</resource>');
      const wc = emu.resource('teststack', 'WaitCondition');
      assert.equal(wc.status, 'CREATE_COMPLETE');
      assert.deepEqual(wc.waitCondition?.data, { '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0': 'Application has completed configuration.' });
    });

    it('refuses the recorded requests 15 minutes later (keystone auth_ttl), or tampered', async () => {
      const [get] = wireRequests('cfn-get-metadata-basic.txt');
      const [signal] = wireRequests('cfn-signal-default.txt');
      assert.match(String((verifyRecorded(get, BOTO.secretKey, Date.parse(get.time) + 16 * 60_000) as { reason: string }).reason), /expired/);
      clock = Date.parse(signal.time) + 16 * 60_000;
      const late = await send(`${emu.url}${signal.target}`, { method: 'PUT', headers: Object.fromEntries(signal.headers), body: signal.body });
      assert.equal(late.status, 403);
      assert.match(late.text, /<Code>AccessDenied<\/Code>/);
      const tampered = { ...get, target: get.target.replace('teststack', 'teststacK') };
      const v = verifyRecorded(tampered, BOTO.secretKey, Date.parse(get.time));
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.error.code, 'AccessDenied');
    });

    it('reproduces Heat\'s pre-signed wait-condition URL exactly', async () => {
      const [rec] = wireRequests('cfn-signal-default.txt');
      const recorded = `http://127.0.0.1:8000${rec.target}`;
      const timestamp = Date.parse(new URL(recorded).searchParams.get('Timestamp')!);
      const ref = { tenant: 'tenant0', stackName: 'teststack', stackId: STACK_ID };
      assert.equal(heatSignedUrl({ ...SIGNAL, signalBaseUrl: 'http://127.0.0.1:8000/v1/waitcondition', ref, resource: 'WaitHandle', time: timestamp }), recorded);
      const local = await startEmulator({ stacks: [STACK], signalBaseUrl: 'http://127.0.0.1:8000/v1/waitcondition', now: () => timestamp });
      try {
        assert.equal(local.signalUrls('teststack', 'WaitHandle').sigv2, recorded);
      } finally {
        await local.stop();
      }
    });
  });
});
