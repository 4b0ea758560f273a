/**
 * The rest of the API surface: DescribeStackResources, PutMetricData,
 * routing (`/` and `/v1/`, unknown paths), keystone's port-less retry, the
 * status page and state, and the Python/lxml text forms the answers are built
 * from.
 */
import * as assert from 'node:assert/strict';
import { heatXml, pyFloatRepr, pyJsonDumps, webobPlain } from '../emulator/heat-format';
import { startEmulator, type Emulator } from '../emulator/server';
import { signV2Params } from '../emulator/signing';
import { encodeForm, send, signedGet, signedPostV2 } from './helpers';

const PROJECT = { accessKey: 'AKIDPROJECT', secretKey: 'project/secret' };
const STACK_USER = { accessKey: 'AKIDUSER', secretKey: 'user-secret' };

describe('emulator: API', () => {
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator({
      stacks: [
        {
          name: 'app',
          id: 'a0a0a0a0-0000-4000-8000-000000000000',
          resources: {
            Web: { type: 'AWS::EC2::Instance', physicalId: 'phys-web', lastUpdated: '2026-11-24T14:00:00Z', metadata: { note: '<script>alert("x")</script> & café' } },
            Db: { type: 'OS::Trove::Instance', physicalId: 'phys-db', lastUpdated: '2026-11-24T14:00:00Z', description: 'the <db>' },
            Handle: { type: 'AWS::CloudFormation::WaitConditionHandle', accessKey: 'HANDLEKEY', secretKey: 'handle-secret' },
          },
          credentials: [STACK_USER],
        },
      ],
      credentials: [PROJECT],
    });
  });
  after(() => emu.stop());
  beforeEach(() => emu.reset());

  const api = (params: Record<string, string>, keys = PROJECT) => signedGet(`${emu.url}/v1/`, { Version: '2010-05-15', ...params }, keys);

  describe('DescribeStackResources', () => {
    it('lists every resource in Heat\'s key order (JSON) and as <member> elements (XML)', async () => {
      const r = await api({ Action: 'DescribeStackResources', StackName: 'app', ContentType: 'JSON' });
      assert.equal(r.status, 200);
      const list = JSON.parse(r.text).DescribeStackResourcesResponse.DescribeStackResourcesResult.StackResources;
      assert.deepEqual(list.map((x: { LogicalResourceId: string }) => x.LogicalResourceId), ['Web', 'Db', 'Handle']);
      assert.deepEqual(Object.keys(list[1]), ['Description', 'LogicalResourceId', 'PhysicalResourceId', 'ResourceStatusReason', 'ResourceType', 'StackId', 'StackName', 'Timestamp', 'ResourceStatus']);
      const x = await api({ Action: 'DescribeStackResources', StackName: 'app', LogicalResourceId: 'Db' });
      assert.equal(
        x.text,
        '<DescribeStackResourcesResponse><DescribeStackResourcesResult><StackResources><member><Description>the &lt;db&gt;</Description><LogicalResourceId>Db</LogicalResourceId>' +
          '<PhysicalResourceId>phys-db</PhysicalResourceId><ResourceStatusReason>state changed</ResourceStatusReason><ResourceType>OS::Trove::Instance</ResourceType>' +
          '<StackId>arn:openstack:heat::tenant0:stacks/app/a0a0a0a0-0000-4000-8000-000000000000</StackId><StackName>app</StackName><Timestamp>2026-11-24T14:00:00Z</Timestamp>' +
          '<ResourceStatus>CREATE_COMPLETE</ResourceStatus></member></StackResources></DescribeStackResourcesResult></DescribeStackResourcesResponse>',
      );
      const empty = await api({ Action: 'DescribeStackResources', StackName: 'app', LogicalResourceId: 'None' });
      assert.match(empty.text, /<StackResources\/>/);
    });

    it('finds the stack by PhysicalResourceId; both parameters are InvalidParameterCombination', async () => {
      const r = await api({ Action: 'DescribeStackResources', PhysicalResourceId: 'phys-db', ContentType: 'JSON' });
      assert.match(r.text, /"StackName": "app"/);
      const both = await api({ Action: 'DescribeStackResources', StackName: 'app', PhysicalResourceId: 'phys-db', ContentType: 'JSON' });
      assert.equal(both.text, '"Use `StackName` or `PhysicalResourceId` but not both"');
    });

    it('is refused to stack users (Heat policy), as XML even under ContentType=JSON', async () => {
      const r = await api({ Action: 'DescribeStackResources', StackName: 'app', ContentType: 'JSON' }, STACK_USER);
      assert.equal(r.status, 403);
      assert.match(r.text, /<Code>AccessDenied<\/Code>/);
    });
  });

  describe('PutMetricData', () => {
    it('stores every member of a GET or a SigV2 POST', async () => {
      const params = {
        Action: 'PutMetricData',
        Namespace: 'ns',
        'MetricData.member.2.MetricName': 'B',
        'MetricData.member.2.Value': 'NaNish',
        'MetricData.member.10.MetricName': 'C',
        'MetricData.member.10.Value': '3',
        'MetricData.member.10.StatisticValues.Sum': '9',
        'MetricData.member.1.MetricName': 'A',
        'MetricData.member.1.Value': '1.5',
        'MetricData.member.1.Timestamp': '2026-11-24T14:00:00Z',
      };
      assert.equal((await api(params)).status, 200);
      assert.equal((await signedPostV2(`${emu.url}/v1/`, { ...params, Namespace: 'ns2' }, STACK_USER)).status, 200);
      const m = emu.model.metrics;
      assert.deepEqual(m.map((p) => [p.namespace, p.metricName, p.value]), [['ns', 'A', 1.5], ['ns', 'B', 'NaNish'], ['ns', 'C', 3], ['ns2', 'A', 1.5], ['ns2', 'B', 'NaNish'], ['ns2', 'C', 3]]);
      assert.equal(m[0].timestamp, '2026-11-24T14:00:00Z');
      assert.deepEqual(m[2].extra, { 'StatisticValues.Sum': '9' });
      assert.equal(m[3].accessKey, STACK_USER.accessKey);
    });

    it('missing Namespace is a raised MissingParameter (XML), missing MetricData a returned one', async () => {
      const r = await api({ Action: 'PutMetricData', ContentType: 'JSON', 'MetricData.member.1.MetricName': 'A' });
      assert.equal(r.status, 400);
      assert.equal(r.text, '<ErrorResponse><Error><Type>Sender</Type><Code>MissingParameter</Code><Message>A mandatory input parameter is missing:Namespace</Message></Error></ErrorResponse>');
      assert.equal((await api({ Action: 'PutMetricData', ContentType: 'JSON', Namespace: 'ns' })).text, '"MetricData list"');
    });
  });

  describe('routing', () => {
    it('serves the API at / too, signed over that path', async () => {
      const r = await signedGet(`${emu.url}/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'app', LogicalResourceId: 'Web' }, PROJECT);
      assert.equal(r.status, 200, r.text);
    });

    it('checks signatures before routing, like Heat\'s pipeline; unknown paths are webob 404s', async () => {
      assert.equal((await send(`${emu.url}/v1/signal/arn`, { method: 'POST', body: '{}' })).status, 400);
      const signed = signV2Params({ ...PROJECT, method: 'POST', url: `${emu.url}/v1/elsewhere/x`, params: {}, time: Date.now() });
      const r = await send(`${emu.url}/v1/elsewhere/x?${encodeForm(signed)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(r.status, 404);
      assert.equal(r.text, webobPlain(404).body);
      assert.equal((await send(`${emu.url}/elsewhere`)).status, 404);
    });

    it('accepts a SigV2 signature made without the port (keystone\'s second try)', async () => {
      const host = emu.url.replace(/:\d+$/, '');
      const params = signV2Params({ ...PROJECT, method: 'GET', url: `${host}/v1/`, params: { Action: 'DescribeStackResource', StackName: 'app', LogicalResourceId: 'Web' }, time: Date.now() });
      const r = await send(`${emu.url}/v1/?${encodeForm(params)}`);
      assert.equal(r.status, 200, r.text);
    });

    it('every answer has a Date header from the emulator clock', async () => {
      for (const url of [`${emu.url}/`, `${emu.url}/_emulator/state`, `${emu.url}/v1/`, `${emu.url}/files/none`]) {
        const r = await send(url);
        assert.ok(Math.abs(Date.parse(String(r.headers.date)) - Date.now()) < 5000, url);
      }
    });
  });

  describe('status page and state', () => {
    it('escapes everything on the HTML page', async () => {
      await send(emu.url, { rawTarget: '/v1/?Action=<img>' });
      const r = await send(`${emu.url}/`);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.ok(!r.text.includes('<script>alert'), 'metadata is escaped');
      assert.ok(!r.text.includes('<img>'), 'request paths are escaped');
      assert.match(r.text, /Action=&lt;img&gt;/);
      assert.match(r.text, /&lt;script&gt;alert\(\\&quot;x\\&quot;\)&lt;\/script&gt; &amp; café/);
      assert.match(r.text, /SigV2 \(Heat\): <code class="url">http:\/\/127\.0\.0\.1:\d+\/v1\/waitcondition\/arn%3Aopenstack/);
    });

    it('/_emulator/state has stacks, handle URLs, keys without secrets, metrics and requests', async () => {
      await api({ Action: 'PutMetricData', Namespace: 'ns', 'MetricData.member.1.MetricName': 'A', 'MetricData.member.1.Value': '1' });
      const state = JSON.parse((await send(`${emu.url}/_emulator/state`)).text);
      const handle = state.stacks[0].resources.find((r: { name: string }) => r.name === 'Handle');
      assert.match(handle.handle.sigv2, /AWSAccessKeyId=HANDLEKEY&Timestamp=/);
      assert.match(handle.handle.sigv4, /X-Amz-Credential=HANDLEKEY%2F/);
      assert.deepEqual(state.credentials.map((c: { scope: string }) => c.scope), ['project', 'handle app/Handle', 'stack app']);
      assert.ok(!JSON.stringify(state).includes('secret'), 'no secret keys in the state');
      assert.equal(state.metrics.length, 1);
      assert.equal(state.requests.at(-1).action, 'PutMetricData');
    });
  });

  describe('Python and lxml text forms', () => {
    it('prints floats like Python\'s repr', () => {
      const cases: Array<[number, string]> = [[0.1, '0.1'], [1.5, '1.5'], [1e-7, '1e-07'], [1.5e-5, '1.5e-05'], [0.0001, '0.0001'], [123.456, '123.456'], [-2.5, '-2.5'], [1.2345678901234567e-300, '1.2345678901234568e-300'], [123456789012345.6, '123456789012345.6']];
      for (const [n, want] of cases) assert.equal(pyFloatRepr(n), want, String(n));
      assert.equal(pyJsonDumps([1, 2.5, 1e21, true, null]), '[1, 2.5, 1000000000000000000000, true, null]');
    });

    it('json.dumps escapes like ensure_ascii', () => {
      assert.equal(pyJsonDumps({ 'k"é': 'a\u007f\u0001\n\t/😀' }), '{"k\\"\\u00e9": "a\\u007f\\u0001\\n\\t/\\ud83d\\ude00"}');
    });

    it('XML: lists as <member>, None as text, empty Metadata as <Metadata/>, ASCII with character references', () => {
      assert.equal(
        heatXml({ R: { L: [1, 'x'], N: null, Metadata: {}, T: 'a<b & "c" é 😀', E: '' } }),
        '<R><L><member>1</member><member>x</member></L><N>None</N><Metadata/><T>a&lt;b &amp; "c" &#233; &#128512;</T><E></E></R>',
      );
    });
  });
});
