/**
 * PutMetricData beyond Heat: the per-key token bucket and CloudWatch's
 * Throttling answer, stack users limited to their own stack's alarms,
 * CloudWatch's limits under validation 'aws' (and Heat's leniency under
 * 'heat'), the bodies kept in the request log, and botocore's CloudWatch
 * model as the judge of what a client sends.
 */
import * as assert from 'node:assert/strict';
import { parseAwsError } from '../../shared/aws-error';
import { CLOUDWATCH_API_VERSION, type MetricDatum, putMetricData } from '../../shared/cloudwatch-api';
import { resolveEndpoint } from '../../shared/endpoints';
import { ApiError } from '../../shared/errors';
import { HttpClient } from '../../shared/http';
import { encodeParams, QueryClient } from '../../shared/query-api';
import { STANDARD_UNITS } from '../emulator/cloudwatch-limits';
import { MetricPolicyError, parseMetricRateFlag } from '../emulator/metric-policy';
import { startEmulator, type Emulator } from '../emulator/server';
import { signV2Params } from '../emulator/signing';
import type { StackSpec } from '../emulator/stackfile';
import { retryAfterSeconds, takeToken, type Bucket } from '../emulator/token-bucket';
import { botocoreAvailable, validatePutMetricData } from '../support/botocore-cloudwatch';
import { skipUnless } from '../support/skip';
import { type Answer, encodeForm, failingEmulatorCli, type Keys, send, signedGet, signedPostV2, startEmulatorCli, wireRequests } from './helpers';

const PROJECT: Keys = { accessKey: 'AKIDMETRICSPROJECT', secretKey: 'project/key+1' };
const APP_USER: Keys = { accessKey: 'AKIDMETRICSAPPUSER', secretKey: 'app-user-key' };
const OTHER_USER: Keys = { accessKey: 'AKIDMETRICSOTHERUSER', secretKey: 'other-user-key' };
const HANDLE: Keys = { accessKey: 'AKIDMETRICSHANDLE', secretKey: 'handle-key' };

const STACKS: StackSpec[] = [
  {
    name: 'app',
    resources: {
      Web: { type: 'AWS::EC2::Instance' },
      CpuAlarm: { type: 'AWS::CloudWatch::Alarm', physicalId: 'app-CpuAlarm-x1y2' },
      Handle: { type: 'AWS::CloudFormation::WaitConditionHandle', ...HANDLE },
    },
    credentials: [APP_USER],
  },
  {
    name: 'other',
    resources: { OtherAlarm: { type: 'AWS::CloudWatch::Alarm', physicalId: 'other-OtherAlarm-z9' } },
    credentials: [OTHER_USER],
  },
];

const HEAT_ACCESS_DENIED = '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform action</Message></Error></ErrorResponse>';
const CLOUDWATCH_ERROR = /^<ErrorResponse xmlns="http:\/\/monitoring\.amazonaws\.com\/doc\/2010-08-01\/"><Error><Type>Sender<\/Type><Code>([A-Za-z]+)<\/Code><Message>([^<]*)<\/Message><\/Error><RequestId>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}<\/RequestId><\/ErrorResponse>$/;
const UNIT_SET = `[ ${STANDARD_UNITS.join(', ')} ]`;

/** `MetricData.member.N.` before each field name. */
function member(n: number, fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [`MetricData.member.${n}.${k}`, v]));
}

function dimensions(count: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; i <= count; i++) Object.assign(out, { [`Dimensions.member.${i}.Name`]: `D${i}`, [`Dimensions.member.${i}.Value`]: `v${i}` });
  return out;
}

const ONE = member(1, { MetricName: 'M', Value: '1' });
const query = (params: Record<string, string>) => ({ Action: 'PutMetricData', Version: CLOUDWATCH_API_VERSION, Namespace: 'test/ns', ...params });

/** A SigV4 GET, as heat-cfntools' older tools send PutMetricData. */
const put = (emu: Emulator, params: Record<string, string>, keys = PROJECT) => signedGet(`${emu.url}/v1/`, query(params), keys);
/** A SigV2 form POST: large requests fit only in a body. */
const post = (emu: Emulator, params: Record<string, string>, keys = PROJECT) => signedPostV2(`${emu.url}/v1/`, query(params), keys);

/** A CloudWatch ErrorResponse, read as the shared client reads error bodies. */
function cloudWatchError(r: Answer, status: number): { code: string; message: string } {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['content-type'], 'text/xml');
  assert.match(r.text, CLOUDWATCH_ERROR);
  const info = parseAwsError(r.status, r.headers['content-type'], r.text);
  assert.equal(info.type, 'Sender');
  return { code: info.code, message: info.message };
}

function client(emu: Emulator, keys: Keys, signatureVersion: 2 | 4 = 4): QueryClient {
  const creds = { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey, source: 'test' };
  return new QueryClient({
    endpoint: resolveEndpoint({ service: 'monitoring', url: emu.apiUrl, region: 'RegionOne' }),
    credentials: { get: async () => creds },
    // One attempt: the test sees the throttled answer itself, not a retry of it.
    http: new HttpClient({ transport: { env: {} }, retry: { maxAttempts: 1 }, sleep: async () => {} }),
    apiVersion: CLOUDWATCH_API_VERSION,
    signatureVersion,
    method: 'POST',
  });
}

const json = async (url: string, method = 'GET', body?: unknown) => {
  const r = await send(url, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, value: JSON.parse(r.text) as Record<string, unknown> };
};

describe('emulator: PutMetricData rate, scope and limits', () => {
  describe('token bucket (pure)', () => {
    const rate = { perSecond: 2, burst: 5 };
    const drain = (bucket: Bucket | undefined, now: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const t = takeToken(bucket, rate, now);
        assert.ok(t.ok, `token ${i + 1} at ${now}`);
        bucket = t.bucket;
      }
      return bucket;
    };

    it('starts full: `burst` at once, then refused with the time until the next token', () => {
      const empty = drain(undefined, 0, 5);
      const refused = takeToken(empty, rate, 0);
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.retryAfterMs, 500);
      const partly = takeToken(empty, rate, 200);
      assert.equal(!partly.ok && Math.round(partly.retryAfterMs), 300);
    });

    it('refills at `perSecond` sustained, never above `burst`', () => {
      let bucket = drain(undefined, 0, 5);
      // Two tokens a second: one every 500 ms, and not one before.
      for (let t = 500; t <= 5000; t += 500) {
        assert.equal(takeToken(bucket, rate, t - 1).ok, false, `before ${t}`);
        bucket = drain(bucket, t, 1);
      }
      // A minute idle is worth `burst` tokens, not 120.
      bucket = drain(bucket, 65_000, 5);
      assert.equal(takeToken(bucket, rate, 65_000).ok, false);
    });

    it('a clock stepping back refills nothing and credits no time twice', () => {
      const bucket = drain(undefined, 10_000, 5);
      const back = takeToken(bucket, rate, 9_000);
      assert.equal(back.ok, false);
      assert.equal(back.bucket.at, 10_000);
      assert.equal(!back.ok && back.retryAfterMs, 500);
      assert.equal(takeToken(back.bucket, rate, 10_499).ok, false);
      assert.equal(takeToken(back.bucket, rate, 10_500).ok, true);
    });

    it('Retry-After is whole seconds, rounded up', () => {
      assert.deepEqual([1, 500, 1000, 1001, 2500, 4000].map(retryAfterSeconds), [1, 1, 1, 2, 3, 4]);
    });

    it('--metric-rate R[/B]: B defaults to R rounded up (at least 1); nonsense is a MetricPolicyError', () => {
      assert.deepEqual(parseMetricRateFlag('2/5'), { perSecond: 2, burst: 5 });
      assert.deepEqual(parseMetricRateFlag('2.5'), { perSecond: 2.5, burst: 3 });
      assert.deepEqual(parseMetricRateFlag('0.2'), { perSecond: 0.2, burst: 1 });
      for (const bad of ['0/5', '-1', 'fast', '2/0', '2/', '1/2/3', '']) {
        assert.throws(() => parseMetricRateFlag(bad), MetricPolicyError, bad);
      }
    });
  });

  describe('throttling', () => {
    let emu: Emulator;
    let clock = Date.now();
    const RATE = { perSecond: 0.5, burst: 2 };

    before(async () => {
      emu = await startEmulator({ stacks: STACKS, credentials: [PROJECT], now: () => clock, metricRate: RATE });
    });
    after(() => emu.stop());
    beforeEach(() => {
      clock = Date.now();
      emu.reset();
      emu.setMetricPolicy({ rate: RATE });
    });

    it('over the rate: 400 Throttling in CloudWatch\'s form, Retry-After until the next token; nothing recorded', async () => {
      assert.equal((await put(emu, ONE)).status, 200);
      assert.equal((await put(emu, ONE)).status, 200);
      const refused = await put(emu, ONE);
      assert.deepEqual(cloudWatchError(refused, 400), { code: 'Throttling', message: 'Rate exceeded' });
      assert.equal(refused.headers['retry-after'], '2');
      clock += 1500;
      const later = await put(emu, ONE);
      assert.equal(cloudWatchError(later, 400).code, 'Throttling');
      assert.equal(later.headers['retry-after'], '1', '500 ms left, rounded up');
      clock += 500;
      assert.equal((await put(emu, ONE)).status, 200);
      assert.equal(emu.model.metrics.length, 3);
    });

    it('the shared client\'s ApiError carries the code Throttling, the message and Retry-After', async () => {
      const c = client(emu, PROJECT);
      const metrics: MetricDatum[] = [{ name: 'CPUUtilization', value: 5, unit: 'Percent' }];
      await putMetricData(c, 'system/linux', metrics);
      await putMetricData(c, 'system/linux', metrics);
      await assert.rejects(putMetricData(c, 'system/linux', metrics), (e: unknown) => {
        assert.ok(e instanceof ApiError, String(e));
        assert.equal(e.status, 400);
        assert.equal(e.code, 'Throttling');
        assert.equal(e.serverMessage, 'Rate exceeded');
        assert.equal(e.retryAfter, '2');
        return true;
      });
    });

    it('each access key has its own bucket; refusals are counted per key in the state and on the status page', async () => {
      for (let i = 0; i < 3; i++) await put(emu, ONE, PROJECT);
      for (let i = 0; i < 4; i++) await put(emu, ONE, APP_USER);
      assert.equal(emu.model.metrics.filter((p) => p.accessKey === APP_USER.accessKey).length, 2);
      const state = (await json(`${emu.url}/_emulator/state`)).value;
      assert.deepEqual(state.metricThrottled, { [PROJECT.accessKey]: 1, [APP_USER.accessKey]: 2 });
      assert.deepEqual(state.metricPolicy, { rate: RATE, validation: 'heat' });
      const page = (await send(`${emu.url}/`)).text;
      assert.match(page, /PutMetricData policy: rate 0\.5\/s, burst 2 per access key; validation heat/);
      assert.match(page, new RegExp(`<td><code>${APP_USER.accessKey}</code></td><td>2</td>`));
      // reset drops counts and buckets, keeps the policy.
      assert.equal((await send(`${emu.url}/_emulator/reset`, { method: 'POST' })).status, 200);
      assert.deepEqual(emu.state().metricThrottled, {});
      assert.deepEqual(emu.metricPolicy().rate, RATE);
      assert.equal((await put(emu, ONE, APP_USER)).status, 200);
      assert.equal((await put(emu, ONE, APP_USER)).status, 200);
      assert.equal((await put(emu, ONE, APP_USER)).status, 400);
    });

    it('GET and PUT /_emulator/metric-policy: the rate and validation at run time, null for no limit, bad bodies 400', async () => {
      const policyUrl = `${emu.url}/_emulator/metric-policy`;
      assert.deepEqual((await json(policyUrl)).value, { rate: RATE, validation: 'heat' });
      const set = await json(policyUrl, 'PUT', { rate: { perSecond: 1, burst: 1 } });
      assert.deepEqual(set, { status: 200, value: { rate: { perSecond: 1, burst: 1 }, validation: 'heat' } });
      assert.equal((await put(emu, ONE)).status, 200);
      const refused = await put(emu, ONE);
      assert.equal(refused.headers['retry-after'], '1');
      assert.deepEqual((await json(policyUrl, 'PUT', { rate: null, validation: 'aws' })).value, { rate: null, validation: 'aws' });
      for (let i = 0; i < 5; i++) assert.equal((await put(emu, ONE)).status, 200, `unlimited, request ${i + 1}`);
      // A PUT says everything: what it leaves out is back to the default.
      assert.deepEqual((await json(policyUrl, 'PUT', {})).value, { rate: null, validation: 'heat' });
      const bad: Array<[unknown, RegExp]> = [
        [{ rate: { perSecond: 0, burst: 1 } }, /rate\.perSecond: must be a number > 0/],
        [{ rate: { perSecond: 1 } }, /rate\.burst: must be a number >= 1/],
        [{ rate: { perSecond: 1, burst: 2, jitter: 1 } }, /rate\.jitter: unknown key/],
        [{ validation: 'strict' }, /validation must be "aws" or "heat"/],
        [{ throttle: true }, /throttle: unknown key/],
        [[1], /must be a mapping/],
        ['{not json', /JSON/],
      ];
      for (const [body, message] of bad) {
        const r = await json(policyUrl, 'PUT', body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(String(r.value.error), message);
      }
      assert.deepEqual(emu.metricPolicy(), { rate: null, validation: 'heat' }, 'refused bodies change nothing');
    });

    it('the CLI takes --metric-rate R/B and --metric-validation, and refuses nonsense', async function () {
      this.timeout(10_000);
      const { child, base } = await startEmulatorCli(['--port', '0', '--metric-rate', '2/5', '--metric-validation', 'aws', '--quiet']);
      try {
        assert.deepEqual((await json(`${base}/_emulator/metric-policy`)).value, { rate: { perSecond: 2, burst: 5 }, validation: 'aws' });
      } finally {
        child.kill('SIGTERM');
      }
      for (const [flag, value, message] of [['--metric-rate', '0', /--metric-rate 0: rate\.perSecond: must be a number > 0/], ['--metric-validation', 'strict', /--metric-validation: validation must be "aws" or "heat"/]] as const) {
        const { code, err } = await failingEmulatorCli(['--port', '0', flag, value]);
        assert.equal(code, 1, flag);
        assert.match(err, message);
      }
    });
  });

  describe('scope of the keys', () => {
    let emu: Emulator;
    before(async () => {
      emu = await startEmulator({ stacks: STACKS, credentials: [PROJECT] });
    });
    after(() => emu.stop());
    beforeEach(() => emu.reset());

    const alarm = (name: string, n = 1) => member(n, { MetricName: 'Heartbeat', Value: '1', 'Dimensions.member.1.Name': 'AlarmName', 'Dimensions.member.1.Value': name });

    it('a project member\'s key puts anything; its datapoints belong to no stack', async () => {
      for (const name of ['CpuAlarm', 'other-OtherAlarm-z9', 'no-such-alarm']) assert.equal((await put(emu, alarm(name))).status, 200, name);
      assert.equal(emu.model.metrics.length, 3);
      assert.ok(emu.model.metrics.every((p) => !('stack' in p)));
    });

    it('a stack user\'s datapoints carry its stack; it may name its own alarms by logical name or physical id', async () => {
      assert.equal((await put(emu, ONE, APP_USER)).status, 200);
      assert.equal((await put(emu, alarm('CpuAlarm'), APP_USER)).status, 200);
      assert.equal((await post(emu, alarm('app-CpuAlarm-x1y2'), APP_USER)).status, 200);
      assert.equal((await put(emu, alarm('OtherAlarm'), OTHER_USER)).status, 200);
      assert.deepEqual(emu.model.metrics.map((p) => [p.stack, p.accessKey]), [['app', APP_USER.accessKey], ['app', APP_USER.accessKey], ['app', APP_USER.accessKey], ['other', OTHER_USER.accessKey]]);
      assert.deepEqual(emu.state().metrics[1].dimensions, [{ name: 'AlarmName', value: 'CpuAlarm' }]);
    });

    it('a stack user naming another stack\'s alarm, or no resource at all, gets Heat\'s AccessDenied and records nothing', async () => {
      for (const name of ['OtherAlarm', 'other-OtherAlarm-z9', 'no-such-alarm']) {
        const r = await put(emu, alarm(name), APP_USER);
        assert.equal(r.status, 403, name);
        assert.equal(r.text, HEAT_ACCESS_DENIED);
      }
      // One foreign alarm refuses the whole request, and it is raised: XML under ContentType=JSON too.
      const mixed = await put(emu, { ...alarm('CpuAlarm', 1), ...alarm('OtherAlarm', 2), ContentType: 'JSON' }, APP_USER);
      assert.equal(mixed.status, 403);
      assert.equal(mixed.text, HEAT_ACCESS_DENIED);
      assert.equal(emu.model.metrics.length, 0);
    });

    it('a wait-condition handle\'s key may not put metrics at all, whatever it sends', async () => {
      // Refused before its parameters are read: no MetricData is AccessDenied too, not MissingParameter.
      for (const params of [ONE, { ...ONE, ContentType: 'JSON' }, alarm('CpuAlarm'), { ContentType: 'JSON' }]) {
        const r = await put(emu, params, HANDLE);
        assert.equal(r.status, 403);
        assert.equal(r.text, HEAT_ACCESS_DENIED);
      }
      assert.equal(emu.model.metrics.length, 0);
    });
  });

  describe('validation', () => {
    let emu: Emulator;
    before(async () => {
      emu = await startEmulator({ stacks: STACKS, credentials: [PROJECT], metricValidation: 'aws' });
    });
    after(() => emu.stop());
    beforeEach(() => {
      emu.reset();
      emu.setMetricPolicy({ validation: 'aws' });
    });

    /** The Message as sent: the client's excerpt would fold CloudWatch's one-line-per-failure lists. */
    const messageOf = (r: Answer) => r.text.match(CLOUDWATCH_ERROR)?.[2] ?? '';

    async function refused(params: Record<string, string>, status: number, code: string, message: string | RegExp) {
      const r = await post(emu, params);
      assert.equal(cloudWatchError(r, status).code, code, JSON.stringify(params).slice(0, 200));
      if (typeof message === 'string') assert.equal(messageOf(r), message);
      else assert.match(messageOf(r), message);
      assert.equal(emu.model.metrics.length, 0, 'nothing recorded');
    }

    it('\'aws\' takes a request within every limit', async () => {
      const params = {
        ...member(1, { MetricName: 'MemoryUtilization', Value: '42.5', Unit: 'Percent', Timestamp: '2026-11-24T14:00:00Z', StorageResolution: '60', ...dimensions(30) }),
        ...member(2, { MetricName: 'Requests', Unit: 'Count/Second', 'StatisticValues.SampleCount': '3', 'StatisticValues.Sum': '9', 'StatisticValues.Minimum': '2', 'StatisticValues.Maximum': '4' }),
        ...member(3, { MetricName: 'Latency', Unit: 'Milliseconds', 'Values.member.1': '1.5', 'Values.member.2': '3', 'Counts.member.1': '2', 'Counts.member.2': '1' }),
        ...member(4, { MetricName: 'Edges', Value: '0' }),
        ...member(5, { MetricName: 'Edges', Value: String(2 ** 360) }),
        ...member(6, { MetricName: 'Edges', Value: String(-(2 ** -360)) }),
      };
      const r = await post(emu, params);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(emu.model.metrics.map((p) => p.metricName), ['MemoryUtilization', 'Requests', 'Latency', 'Edges', 'Edges', 'Edges']);
      assert.equal(emu.model.metrics[0].dimensions.length, 30);
    });

    it('at most 1000 MetricData members (InvalidParameterValue)', async () => {
      const many = (n: number) => Object.assign({}, ...Array.from({ length: n }, (_, i) => member(i + 1, { MetricName: `M${i}`, Value: String(i) }))) as Record<string, string>;
      assert.equal((await post(emu, many(1000))).status, 200);
      emu.reset();
      await refused(many(1001), 400, 'InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.');
    });

    it('a body over 1 MiB is 413 RequestEntityTooLarge, naming its size', async () => {
      const r = await post(emu, { ...member(1, { MetricName: 'M', Value: '1', 'Dimensions.member.1.Name': 'Big' }), 'MetricData.member.1.Dimensions.member.1.Value': 'x'.repeat(1_048_576) });
      const got = cloudWatchError(r, 413);
      assert.equal(got.code, 'RequestEntityTooLarge');
      const size = emu.requestLog.at(-1)!.bodyBytes!;
      assert.ok(size > 1_048_576);
      assert.equal(got.message, `Request size ${size} exceeded 1048576 bytes`);
      assert.equal(emu.model.metrics.length, 0);
    });

    it('at most 30 dimensions a datum (InvalidParameterValue)', async () => {
      await refused(member(1, { MetricName: 'M', Value: '1', ...dimensions(31) }), 400, 'InvalidParameterValue', 'The collection MetricData.member.1.Dimensions must not have a size greater than 30.');
    });

    it('a Value that is not a decimal number, NaN, infinite, or non-zero outside [2^-360, 2^360] (InvalidParameterValue)', async () => {
      for (const value of ['NaN', 'Infinity', '-Infinity', 'abc', '', '0x10', '1e400', String(2 ** 361), String(-(2 ** 361)), String(2 ** -361), '1e-200']) {
        await refused(member(1, { MetricName: 'M', Value: value }), 400, 'InvalidParameterValue', `The value ${value} for parameter MetricData.member.1.Value is invalid.`);
      }
      await refused(member(3, { MetricName: 'M', 'Values.member.1': '1', 'Values.member.2': 'NaN' }), 400, 'InvalidParameterValue', 'The value NaN for parameter MetricData.member.3.Values.member.2 is invalid.');
    });

    it('a Unit outside StandardUnit (InvalidParameterValue), one line per datum; heat-cfntools\' megabytes and Counter among them', async () => {
      await refused(member(1, { MetricName: 'M', Value: '1', Unit: 'megabytes' }), 400, 'InvalidParameterValue', `The parameter MetricData.member.1.Unit must be a value in the set ${UNIT_SET}.`);
      const both = { ...member(1, { MetricName: 'M', Value: '1', Unit: 'Counter' }), ...member(2, { MetricName: 'M', Value: '1', Unit: 'Count' }), ...member(7, { MetricName: 'M', Value: '1', Unit: 'percent' }) };
      const r = await post(emu, both);
      assert.equal(cloudWatchError(r, 400).code, 'InvalidParameterValue');
      const lines = messageOf(r).split('\n');
      assert.deepEqual(lines, [1, 7].map((n) => `The parameter MetricData.member.${n}.Unit must be a value in the set ${UNIT_SET}.`));
    });

    it('a dimension without Name or Value, or with an empty one; no MetricName, Namespace or MetricData (MissingParameter)', async () => {
      await refused(member(1, { MetricName: 'M', Value: '1', 'Dimensions.member.1.Name': 'A', 'Dimensions.member.2.Name': 'B', 'Dimensions.member.2.Value': '' }), 400, 'MissingParameter', [
        'The parameter MetricData.member.1.Dimensions.member.1.Value is required.',
        'The parameter MetricData.member.1.Dimensions.member.2.Value is required.',
      ].join('\n'));
      await refused(member(2, { Value: '1', 'Dimensions.member.1.Value': 'v' }), 400, 'MissingParameter', 'The parameter MetricData.member.2.MetricName is required.\nThe parameter MetricData.member.2.Dimensions.member.1.Name is required.');
      await refused({ ...ONE, Namespace: '' }, 400, 'MissingParameter', 'The parameter Namespace is required.');
      await refused({}, 400, 'MissingParameter', 'The parameter MetricData is required.');
    });

    it('Value with StatisticValues, or neither of them (InvalidParameterCombination); a missing parameter is answered first', async () => {
      const stats = { 'StatisticValues.SampleCount': '1', 'StatisticValues.Sum': '1', 'StatisticValues.Minimum': '1', 'StatisticValues.Maximum': '1' };
      await refused(member(1, { MetricName: 'M', Value: '1', ...stats }), 400, 'InvalidParameterCombination', 'The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually exclusive and you have specified both.');
      await refused(member(1, { MetricName: 'M', Unit: 'Count' }), 400, 'InvalidParameterCombination', 'At least one of the parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues must be specified.');
      await refused(member(1, { MetricName: 'M', 'StatisticValues.Sum': '1' }), 400, 'MissingParameter', /StatisticValues\.SampleCount is required\.\n.*StatisticValues\.Minimum is required\.\n.*StatisticValues\.Maximum is required\.$/);
      await refused({ ...member(1, { Value: '1', Unit: 'bogus' }) }, 400, 'MissingParameter', 'The parameter MetricData.member.1.MetricName is required.');
    });

    it('\'heat\' (the default) takes what Heat took: heat-cfntools\' units, odd values, many dimensions', async () => {
      const lenient = await startEmulator({ stacks: STACKS, credentials: [PROJECT] });
      try {
        assert.equal(lenient.metricPolicy().validation, 'heat');
        const params = {
          ...member(1, { MetricName: 'MemoryUtilization', Value: '12.5', Unit: 'megabytes' }),
          ...member(2, { MetricName: 'Heartbeat', Value: '1', Unit: 'Counter', ...dimensions(31) }),
          ...member(3, { Value: 'NaNish' }),
        };
        assert.equal((await post(lenient, params)).status, 200);
        assert.deepEqual(lenient.model.metrics.map((p) => [p.metricName, p.value, p.unit]), [['MemoryUtilization', 12.5, 'megabytes'], ['Heartbeat', 1, 'Counter'], [undefined, 'NaNish', undefined]]);
      } finally {
        await lenient.stop();
      }
      // The same request on this emulator, switched to 'heat' at run time.
      emu.setMetricPolicy({ validation: 'heat' });
      assert.equal((await put(emu, member(1, { MetricName: 'M', Value: '1', Unit: 'megabytes' }))).status, 200);
      emu.setMetricPolicy({ validation: 'aws' });
      assert.equal((await put(emu, member(1, { MetricName: 'M', Value: '1', Unit: 'megabytes' }))).status, 400);
    });
  });

  describe('request bodies in the log', () => {
    let emu: Emulator;
    before(async () => {
      emu = await startEmulator({ stacks: STACKS, credentials: [PROJECT] });
    });
    after(() => emu.stop());
    beforeEach(() => emu.reset());

    it('keeps PutMetricData form bodies as sent, signature values redacted, refused requests too', async () => {
      const url = `${emu.url}/v1/`;
      const params = query(member(1, { MetricName: 'M', Value: '1.5', Unit: 'Percent', 'Dimensions.member.1.Name': 'Where', 'Dimensions.member.1.Value': 'a b/ü&=' }));
      const sent: string[] = [];
      for (const [secretKey, status] of [[PROJECT.secretKey, 200], ['wrong', 403]] as const) {
        const body = encodeForm(signV2Params({ ...PROJECT, secretKey, method: 'POST', url, params, time: Date.now() }));
        sent.push(body);
        assert.equal((await send(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })).status, status);
      }
      const logged = (await json(`${emu.url}/_emulator/requests`)).value as unknown as Array<{ body?: string; bodyBytes?: number }>;
      assert.deepEqual(
        logged.map((e) => [e.body, e.bodyBytes]),
        sent.map((b) => [b.replace(/(^|&)Signature=[^&]*/, '$1Signature=<redacted>'), Buffer.byteLength(b)]),
      );
      const decoded = Object.fromEntries(new URLSearchParams(logged[0].body));
      for (const [k, v] of Object.entries(params)) assert.equal(decoded[k], v, k);
    });

    it('keeps no body for other actions or GETs; cuts a body at 2 MiB and drops the oldest beyond 64 MiB in all', async function () {
      this.timeout(30_000);
      await signedPostV2(`${emu.url}/v1/`, { Action: 'DescribeStackResource', StackName: 'app', LogicalResourceId: 'Web' }, PROJECT);
      await put(emu, ONE);
      assert.deepEqual(emu.requestLog.map((e) => [e.action, e.body]), [['DescribeStackResource', undefined], ['PutMetricData', undefined]]);
      // Unsigned is enough: the body is logged before the signature is checked.
      const big = Buffer.from(`Action=PutMetricData&Namespace=${'n'.repeat(3 * 1024 * 1024)}`);
      const form = { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: big };
      for (let i = 0; i < 33; i++) assert.ok((await send(`${emu.url}/v1/`, form)).status >= 400);
      const posts = emu.requestLog.slice(2);
      assert.ok(posts.every((e) => e.bodyBytes === big.length));
      assert.equal(posts.at(-1)!.body!.length, 2 * 1024 * 1024);
      assert.ok(posts.at(-1)!.body!.startsWith('Action=PutMetricData&Namespace=nnn'));
      const kept = posts.filter((e) => e.body !== undefined).length;
      assert.equal(kept, 32, '32 bodies of 2 MiB fill 64 MiB');
      assert.equal(posts[0].body, undefined, 'the oldest gave its body up');
    });
  });

  describe('botocore\'s CloudWatch model', function () {
    let emu: Emulator;
    before(async function () {
      skipUnless(this, 'botocore PutMetricData tests', botocoreAvailable());
      emu = await startEmulator({ stacks: STACKS, credentials: [PROJECT] });
    });
    after(() => emu?.stop());

    const body = (params: Record<string, string>) => encodeParams(query(params));
    const GOOD = member(1, { MetricName: 'CPUUtilization', Value: '12.5', Unit: 'Percent', Timestamp: '2026-11-24T14:00:00.123Z', 'Dimensions.member.1.Name': 'InstanceId', 'Dimensions.member.1.Value': 'i-1' });

    it('accepts what the shared client sends, SigV4 and SigV2 (dimensions, units, timestamp), as the log kept it', async () => {
      const metrics: MetricDatum[] = [
        { name: 'MemoryUtilization', value: 42.5, unit: 'Percent', timestamp: new Date('2026-11-24T14:00:00.250Z'), dimensions: [{ name: 'AutoScalingGroupName', value: 'asg 1/ü' }, { name: 'InstanceId', value: 'i-0b1c' }] },
        { name: 'Heartbeat', value: 1, unit: 'Count' },
        { name: 'DiskSpaceUsed', value: 1.25e-3, unit: 'Gigabytes' },
      ];
      emu.clearRequestLog();
      await putMetricData(client(emu, PROJECT, 4), 'system/linux', metrics);
      await putMetricData(client(emu, PROJECT, 2), 'system/linux', metrics);
      const bodies = emu.requestLog.map((e) => e.body!);
      assert.equal(bodies.length, 2);
      assert.match(bodies[1], /Signature=<redacted>/);
      assert.deepEqual(validatePutMetricData(bodies), [{ ok: true, errors: [] }, { ok: true, errors: [] }]);
    });

    it('rejects a unit outside the enum, a missing MetricName, an unknown parameter, a Value that is no number, another Action or Version', () => {
      const cases: Array<[string, string, RegExp]> = [
        ['bad unit', body({ ...GOOD, 'MetricData.member.1.Unit': 'megabytes' }), /^Invalid value for parameter MetricData\[0\]\.Unit, value: megabytes, valid values \(StandardUnit\): Seconds, /],
        ['no MetricName', body(member(1, { Value: '1', Unit: 'Count' })), /^Missing required parameter in MetricData\[0\]: "MetricName"$/],
        ['unknown parameter', body({ ...GOOD, 'MetricData.member.1.Colour': 'red' }), /^unknown parameter MetricData\.member\.1\.Colour: it has no place in the PutMetricDataInput shape$/],
        ['not a number', body({ ...GOOD, 'MetricData.member.1.Value': 'abc' }), /^Invalid type for parameter MetricData\[0\]\.Value, value: abc, type: <class 'str'>, valid types: <class 'float'>/],
        ['NaN', body({ ...GOOD, 'MetricData.member.1.Value': 'NaN' }), /^Invalid type for parameter MetricData\[0\]\.Value, value: NaN/],
        ['another Action', encodeParams({ ...query(GOOD), Action: 'PutMetricAlarm' }), /^Action is 'PutMetricAlarm', not 'PutMetricData'$/],
        ['another Version', encodeParams({ ...query(GOOD), Version: '2010-05-15' }), /^Version is '2010-05-15', not '2010-08-01'$/],
        ['gap in a list', body({ ...GOOD, ...member(3, { MetricName: 'M', Value: '1' }) }), /^MetricData\.member: members numbered \[1, 3\], not 1 to 2$/],
        ['bad timestamp', body({ ...GOOD, 'MetricData.member.1.Timestamp': 'yesterday' }), /^MetricData\[0\]\.Timestamp \(MetricData\.member\.1\.Timestamp\): 'yesterday' is not an ISO 8601 timestamp/],
      ];
      const verdicts = validatePutMetricData([body(GOOD), ...cases.map(([, b]) => b)]);
      assert.deepEqual(verdicts[0], { ok: true, errors: [] });
      cases.forEach(([name, , error], i) => {
        const v = verdicts[i + 1];
        assert.equal(v.ok, false, name);
        assert.equal(v.errors.length, 1, `${name}: ${v.errors.join(' | ')}`);
        assert.match(v.errors[0], error, name);
      });
    });

    it('refuses heat-cfntools\' recorded heartbeat for its unit Counter, which Heat took', () => {
      const [rec] = wireRequests('cfn-push-stats-heartbeat.txt');
      const [verdict] = validatePutMetricData([rec.body.toString('utf8')]);
      assert.equal(verdict.ok, false);
      assert.deepEqual(verdict.errors.map((e) => e.split(',').slice(0, 2).join(',')), ['Invalid value for parameter MetricData[0].Unit, value: Counter']);
    });
  });
});
