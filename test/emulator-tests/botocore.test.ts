/**
 * The emulator's signature check against requests signed by the real
 * botocore (Debian python3-botocore): SigV4 header, SigV4 query presigning
 * and SigV2, GET and form POST, with and without session tokens, all
 * accepted; tampered, stale and wrongly keyed ones refused with Heat's codes.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { REPO, send, type Answer } from './helpers';
import { skipUnless } from '../support/skip';
import { botocoreMissing, PYTHON } from '../support/sigv-botocore';

const SCRIPT = path.join(REPO, 'test', 'emulator-tests', 'botocore_requests.py');

const PLAIN = { accessKey: 'AKIDPLAIN0000000000000001', secretKey: 'plain/secret+key=' };
const TOKEN = { accessKey: 'ASIATOKEN0000000000000001', secretKey: 'token-secret', sessionToken: 'FQoGZXIvYXdz/session+token==' };

interface BotoCase {
  name: string;
  mode: 'v4' | 'v4-query' | 'v2';
  method: 'GET' | 'POST';
  params: Record<string, string>;
  keys: { accessKey: string; secretKey: string; sessionToken?: string };
  region?: string;
  service?: string;
}

interface BotoRequest {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const DESCRIBE = { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'teststack', LogicalResourceId: 'WebServer', Version: '2010-05-15' };
const METRICS = {
  Action: 'PutMetricData',
  Version: '2010-08-01',
  Namespace: 'system/linux',
  'MetricData.member.1.MetricName': 'MemoryUtilization',
  'MetricData.member.1.Value': '42.5',
  'MetricData.member.1.Unit': 'Percent',
  'MetricData.member.1.Dimensions.member.1.Name': 'AutoScalingGroupName',
  'MetricData.member.1.Dimensions.member.1.Value': 'asg 1/ü',
  'MetricData.member.2.MetricName': 'Heartbeat',
  'MetricData.member.2.Value': '1',
  'MetricData.member.2.Unit': 'Count',
};

function cases(): BotoCase[] {
  const out: BotoCase[] = [];
  for (const mode of ['v4', 'v2', 'v4-query'] as const) {
    for (const [label, keys] of [['', PLAIN], [' +token', TOKEN]] as const) {
      out.push({ name: `${mode} GET DescribeStackResource${label}`, mode, method: 'GET', params: DESCRIBE, keys });
      // A presigned URL carries everything in the query; botocore moves POST bodies there too.
      if (mode !== 'v4-query') out.push({ name: `${mode} POST PutMetricData${label}`, mode, method: 'POST', params: METRICS, keys, region: 'RegionOne', service: 'monitoring' });
    }
  }
  out.push({ name: 'wrong secret', mode: 'v4', method: 'GET', params: DESCRIBE, keys: { ...PLAIN, secretKey: 'not-the-secret' } });
  out.push({ name: 'unknown key', mode: 'v4', method: 'GET', params: DESCRIBE, keys: { accessKey: 'AKIDUNKNOWN', secretKey: 'x' } });
  out.push({ name: 'token missing', mode: 'v4', method: 'GET', params: DESCRIBE, keys: { accessKey: TOKEN.accessKey, secretKey: TOKEN.secretKey } });
  out.push({ name: 'wrong token', mode: 'v2', method: 'GET', params: DESCRIBE, keys: { ...TOKEN, sessionToken: 'another-token' } });
  out.push({ name: 'v2 to tamper', mode: 'v2', method: 'GET', params: DESCRIBE, keys: PLAIN });
  return out;
}

describe('emulator: signatures made by botocore', function () {
  let emu: Emulator;
  let signed: Map<string, BotoRequest>;

  before(async function () {
    skipUnless(this, 'botocore signature tests', botocoreMissing());
    emu = await startEmulator({
      stacks: [{ name: 'teststack', resources: { WebServer: { type: 'AWS::EC2::Instance', metadata: { k: 'v' } } } }],
      credentials: [PLAIN, TOKEN],
    });
    const input = cases().map((c) => ({
      name: c.name,
      mode: c.mode,
      method: c.method,
      url: `${emu.url}/v1/`,
      params: c.params,
      accessKey: c.keys.accessKey,
      secretKey: c.keys.secretKey,
      token: c.keys.sessionToken ?? null,
      region: c.region ?? 'us-east-1',
      service: c.service ?? 'cloudformation',
    }));
    const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify({ cases: input }), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${SCRIPT} exited ${r.status}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { botocore: string; requests: BotoRequest[] };
    signed = new Map(out.requests.map((q) => [q.name, q]));
  });
  after(() => emu?.stop());
  beforeEach(() => {
    emu?.setFaults({});
    emu?.clearRequestLog();
  });

  function replay(name: string, change: (q: BotoRequest) => BotoRequest = (q) => q): Promise<Answer> {
    const q = change(signed.get(name)!);
    assert.ok(q, name);
    return send(q.url, { method: q.method, headers: q.headers, body: Buffer.from(q.body, 'base64') });
  }

  const code = (r: Answer) => /<Code>([^<]+)<\/Code>/.exec(r.text)?.[1];

  for (const c of cases().filter((x) => !['wrong secret', 'unknown key', 'token missing', 'wrong token', 'v2 to tamper'].includes(x.name))) {
    it(`accepts ${c.name}`, async () => {
      const r = await replay(c.name);
      assert.equal(r.status, 200, `${r.status} ${r.text} (${emu.requestLog.at(-1)?.verified})`);
      const entry = emu.requestLog.at(-1)!;
      assert.equal(entry.verified, 'ok');
      assert.equal(entry.signature, c.mode);
      if (c.params.Action === 'PutMetricData') {
        const points = emu.model.metrics.slice(-2);
        assert.deepEqual(points.map((p) => [p.metricName, p.value, p.unit]), [['MemoryUtilization', 42.5, 'Percent'], ['Heartbeat', 1, 'Count']]);
        assert.deepEqual(points[0].dimensions, [{ name: 'AutoScalingGroupName', value: 'asg 1/ü' }]);
      } else {
        assert.deepEqual(JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail.Metadata, { k: 'v' });
      }
    });
  }

  it('refuses a changed parameter (AccessDenied)', async () => {
    for (const name of ['v4 GET DescribeStackResource', 'v2 to tamper', 'v4-query GET DescribeStackResource']) {
      const r = await replay(name, (q) => ({ ...q, url: q.url.replace('WebServer', 'WebServes') }));
      assert.equal(r.status, 403, name);
      assert.equal(code(r), 'AccessDenied', name);
      assert.equal(emu.requestLog.at(-1)?.verified, 'AccessDenied: signature does not match');
    }
    const body = await replay('v4 POST PutMetricData', (q) => ({ ...q, body: Buffer.from(Buffer.from(q.body, 'base64').toString().replace('42.5', '42.6')).toString('base64') }));
    assert.equal(code(body), 'AccessDenied', 'changed form body');
  });

  it('refuses a wrong secret (AccessDenied) and an unknown key (InvalidClientTokenId)', async () => {
    assert.equal(code(await replay('wrong secret')), 'AccessDenied');
    const unknown = await replay('unknown key');
    assert.equal(unknown.status, 403);
    assert.equal(code(unknown), 'InvalidClientTokenId');
  });

  it('refuses a stale or future date (emulator clock 20 minutes off)', async () => {
    for (const skewSeconds of [1200, -1200]) {
      emu.setFaults({ skewSeconds });
      for (const name of ['v4 GET DescribeStackResource', 'v2 GET DescribeStackResource', 'v4-query GET DescribeStackResource']) {
        const r = await replay(name);
        assert.equal(r.status, 403, `${name} skew ${skewSeconds}`);
        assert.equal(code(r), 'AccessDenied');
        assert.match(emu.requestLog.at(-1)?.verified ?? '', skewSeconds > 0 ? /expired/ : /future/);
      }
    }
  });

  it('refuses a missing or different session token for a key that has one', async () => {
    for (const name of ['token missing', 'wrong token']) {
      assert.equal(code(await replay(name)), 'AccessDenied', name);
      assert.match(emu.requestLog.at(-1)?.verified ?? '', /session token/);
    }
  });

  it('no signature is 400 IncompleteSignature, no access key 403 MissingAuthenticationToken', async () => {
    const strip = (param: string) => (q: BotoRequest) => {
      const u = new URL(q.url);
      u.searchParams.delete(param);
      return { ...q, url: u.toString() };
    };
    const unsigned = await replay('v2 to tamper', strip('Signature'));
    assert.equal(unsigned.status, 400);
    assert.equal(code(unsigned), 'IncompleteSignature');
    const anonymous = await replay('v2 to tamper', strip('AWSAccessKeyId'));
    assert.equal(anonymous.status, 403);
    assert.equal(code(anonymous), 'MissingAuthenticationToken');
  });
});
