import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type TestServer, type RecordedRequest } from '../support/server';
import { QueryClient, encodeParams } from '../../shared/query-api';
import { describeStackResource, signalResource } from '../../shared/cfn-api';
import { sendBatches, splitBatches } from '../../shared/cloudwatch-api';
import { nullLogger } from '../../shared/log';
import { HttpClient } from '../../shared/http';
import { ApiError, ProtocolError } from '../../shared/errors';
import { resolveEndpoint } from '../../shared/endpoints';
import { settingsFromArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import type { CredentialProvider } from '../../shared/credentials/types';

const creds: CredentialProvider = { get: async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'query-secret-123', source: 'test' }) };
const noSleep = async () => {};

/** Heat 19's JSON answer (heat-wire/heat-api-cfn-in-process-responses.txt). */
const HEAT_JSON =
  '{"DescribeStackResourceResponse": {"DescribeStackResourceResult": {"StackResourceDetail": {"Description": "", "LastUpdatedTimestamp": "2026-11-24T14:00:00Z", "LogicalResourceId": "WebServer", "Metadata": {"AWS::CloudFormation::Init": {"config": {}}, "k": "caf\\u00e9"}, "PhysicalResourceId": "phys-1", "ResourceStatusReason": "state changed", "ResourceType": "AWS::EC2::Instance", "StackId": "arn:openstack:heat::tenant0:stacks/teststack/f00dface-0000-4000-8000-000000000000", "StackName": "teststack", "ResourceStatus": "CREATE_COMPLETE"}}}}';
/** Heat's XML answer: Metadata as JSON text inside the element. */
const HEAT_XML =
  '<DescribeStackResourceResponse><DescribeStackResourceResult><StackResourceDetail><Description></Description><LogicalResourceId>WebServer</LogicalResourceId><Metadata>{"AWS::CloudFormation::Init": {"config": {}}, "k": "caf\\u00e9"}</Metadata><ResourceStatus>CREATE_COMPLETE</ResourceStatus></StackResourceDetail></DescribeStackResourceResult></DescribeStackResourceResponse>';
/** AWS's XML answer, namespaced, Metadata JSON-escaped for XML. */
const AWS_XML =
  '<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStackResourceResult><StackResourceDetail><StackName>s</StackName><LogicalResourceId>WebServer</LogicalResourceId><Metadata>{&quot;a&quot;:&quot;&lt;b&gt;&quot;}</Metadata><ResourceStatus>CREATE_COMPLETE</ResourceStatus></StackResourceDetail></DescribeStackResourceResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStackResourceResponse>';

function answer(status: number, type: string, body: string) {
  return (_req: RecordedRequest, res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'Content-Type': type });
    res.end(body);
  };
}

describe('Query API clients', () => {
  let server: TestServer;
  let reply: (req: RecordedRequest, res: import('node:http').ServerResponse) => void;
  before(async () => {
    server = await startServer((req, res) => reply(req, res));
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
  });

  const client = (signatureVersion: 2 | 4 = 4, method: 'GET' | 'POST' = 'GET', service: 'cloudformation' | 'monitoring' = 'cloudformation') =>
    new QueryClient({
      endpoint: resolveEndpoint({ service, url: `${server.url}/v1/`, region: 'RegionOne' }),
      credentials: creds,
      http: new HttpClient({ sleep: noSleep, transport: { env: {} } }),
      apiVersion: '2010-05-15',
      signatureVersion,
      method,
    });

  it('DescribeStackResource: sends the boto-shaped signed GET and reads Heat\'s JSON answer', async () => {
    reply = answer(200, 'application/json', HEAT_JSON);
    const arn = 'arn:openstack:heat::tenant0:stacks/teststack/f00dface';
    const d = await describeStackResource(client(), arn, 'WebServer');
    assert.deepEqual(d.metadata, { 'AWS::CloudFormation::Init': { config: {} }, k: 'café' });
    assert.equal(d.resourceStatus, 'CREATE_COMPLETE');
    assert.equal(d.stackName, 'teststack');
    const req = server.requests[0];
    assert.equal(req.method, 'GET');
    assert.equal(
      req.url,
      '/v1/?Action=DescribeStackResource&ContentType=JSON&LogicalResourceId=WebServer' +
        '&StackName=arn%3Aopenstack%3Aheat%3A%3Atenant0%3Astacks%2Fteststack%2Ff00dface&Version=2010-05-15',
    );
    assert.match(String(req.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/RegionOne\/cloudformation\/aws4_request, ?SignedHeaders=[^,]*host[^,]*x-amz-date/);
    assert.match(String(req.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
  });

  it('reads the XML forms of Heat and AWS (Metadata as JSON text, namespaces)', async () => {
    reply = answer(200, 'application/xml', HEAT_XML);
    assert.deepEqual((await describeStackResource(client(), 's', 'WebServer')).metadata, { 'AWS::CloudFormation::Init': { config: {} }, k: 'café' });
    reply = answer(200, 'text/xml', AWS_XML);
    assert.deepEqual((await describeStackResource(client(), 's', 'WebServer')).metadata, { a: '<b>' });
  });

  it('reads Metadata given as a JSON string, and treats null Metadata as none', async () => {
    reply = answer(200, 'application/json', JSON.stringify({ DescribeStackResourceResponse: { DescribeStackResourceResult: { StackResourceDetail: { LogicalResourceId: 'R', Metadata: '{"x":[1,2]}' } } } }));
    assert.deepEqual((await describeStackResource(client(), 's', 'R')).metadata, { x: [1, 2] });
    reply = answer(200, 'application/json', JSON.stringify({ DescribeStackResourceResponse: { DescribeStackResourceResult: { StackResourceDetail: { LogicalResourceId: 'R', Metadata: null } } } }));
    assert.equal((await describeStackResource(client(), 's', 'R')).metadata, undefined);
  });

  it('turns Heat\'s "HTTP 200 + bare JSON string" error into an ApiError with the code Heat\'s XML path would give', async () => {
    reply = answer(200, 'application/json', '"User is not authorized to perform action"');
    await assert.rejects(describeStackResource(client(), 's', 'Denied'), (e: unknown) => {
      return e instanceof ApiError && e.code === 'AccessDenied' && e.message.includes('User is not authorized to perform action');
    });
    reply = answer(200, 'application/json', '"Something Heat never said before"');
    await assert.rejects(describeStackResource(client(), 's', 'X'), (e: unknown) => e instanceof ApiError && e.code === 'HeatError');
  });

  it('turns an XML ErrorResponse into an ApiError with Code and Message, without retrying a 4xx', async () => {
    reply = answer(403, 'application/xml', '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid</Message></Error></ErrorResponse>');
    await assert.rejects(describeStackResource(client(), 's', 'R'), (e: unknown) => e instanceof ApiError && e.status === 403 && e.code === 'InvalidClientTokenId');
    assert.equal(server.requests.length, 1);
  });

  it('an answer of the wrong shape is a ProtocolError naming what is missing', async () => {
    reply = answer(200, 'application/json', '{"Other": {}}');
    await assert.rejects(describeStackResource(client(), 's', 'R'), (e: unknown) => e instanceof ProtocolError && /DescribeStackResourceResponse/.test(e.message));
  });

  it('retries a 503 and succeeds, re-signing each attempt', async () => {
    let n = 0;
    reply = (req, res) => (++n === 1 ? answer(503, 'text/plain', 'busy')(req, res) : answer(200, 'application/json', HEAT_JSON)(req, res));
    await describeStackResource(client(), 's', 'WebServer');
    assert.equal(server.requests.length, 2);
  });

  it('SigV2: parameters carry SignatureVersion=2/HmacSHA256 and a Signature, no Authorization header', async () => {
    reply = answer(200, 'application/json', HEAT_JSON);
    await describeStackResource(client(2), 's', 'WebServer');
    const u = new URL(server.requests[0].url, server.url);
    assert.equal(u.searchParams.get('SignatureVersion'), '2');
    assert.equal(u.searchParams.get('SignatureMethod'), 'HmacSHA256');
    assert.equal(u.searchParams.get('AWSAccessKeyId'), 'AKIDTEST');
    assert.ok(u.searchParams.get('Signature'));
    assert.equal(server.requests[0].headers.authorization, undefined);
  });

  it('SigV2 over POST: the signature fields travel in the form body and Content-Length counts them', async () => {
    reply = answer(200, 'application/json', HEAT_JSON);
    await describeStackResource(client(2, 'POST'), 's', 'WebServer');
    const req = server.requests[0];
    assert.equal(Number(req.headers['content-length']), req.body.length);
    const form = new URLSearchParams(req.body.toString());
    assert.equal(form.get('SignatureVersion'), '2');
    assert.ok(form.get('Signature'));
    assert.equal(form.get('Action'), 'DescribeStackResource');
  });

  it('SignalResource sends the stack, resource, UniqueId and Status', async () => {
    reply = answer(200, 'application/json', '{"SignalResourceResponse": {}}');
    await signalResource(client(), { stack: 'st', resource: 'R', uniqueId: 'i-1', status: 'FAILURE' });
    const q = new URL(server.requests[0].url, server.url).searchParams;
    assert.equal(q.get('Action'), 'SignalResource');
    assert.equal(q.get('UniqueId'), 'i-1');
    assert.equal(q.get('Status'), 'FAILURE');
  });

  it('PutMetricData: many metrics in form-encoded POSTs, split as asked', async () => {
    reply = answer(200, 'text/xml', '<PutMetricDataResponse><PutMetricDataResult><ResponseMetadata>None</ResponseMetadata></PutMetricDataResult></PutMetricDataResponse>');
    const metrics = Array.from({ length: 5 }, (_, i) => ({ name: `M${i}`, value: i + 0.5, unit: 'Percent', dimensions: [{ name: 'AlarmName', value: 'a b' }] }));
    const requests = await sendBatches({ client: client(4, 'POST', 'monitoring'), batches: splitBatches('system/linux', metrics, { metrics: 3, bytes: Infinity }), timeoutSeconds: 10, logger: nullLogger });
    assert.equal(requests, 2);
    const form = new URLSearchParams(server.requests[0].body.toString());
    assert.equal(server.requests[0].headers['content-type'], 'application/x-www-form-urlencoded; charset=utf-8');
    assert.equal(form.get('Action'), 'PutMetricData');
    assert.equal(form.get('MetricData.member.3.MetricName'), 'M2');
    assert.equal(form.get('MetricData.member.1.Dimensions.member.1.Value'), 'a b');
    assert.equal(new URLSearchParams(server.requests[1].body.toString()).get('MetricData.member.2.Value'), '4.5');
    assert.match(String(server.requests[0].headers.authorization), /\/monitoring\/aws4_request/);
  });

  it('encodeParams encodes like boto: only A-Z a-z 0-9 - _ . ~ left bare, keys sorted', () => {
    assert.equal(encodeParams({ b: "x y!*'()", a: 'é/:+=' }), 'a=%C3%A9%2F%3A%2B%3D&b=x%20y%21%2A%27%28%29');
  });

  it('a tool context finds the endpoint in Heat\'s files and reads a credential file; the log never shows the secret', async () => {
    reply = answer(200, 'application/json', HEAT_JSON);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-ctx-'));
    try {
      fs.writeFileSync(path.join(dir, 'cfn-metadata-server'), `${server.url}/v1/\n`);
      fs.writeFileSync(path.join(dir, 'cfn-boto-cfg'), '[Boto]\ndebug = 0\nis_secure = 0\ncfn_region_name = heat\ncfn_region_endpoint = 127.0.0.1');
      const credFile = path.join(dir, 'creds');
      fs.writeFileSync(credFile, 'AWSAccessKeyId=AKIDFILE\r\nAWSSecretKey = file-secret-xyz\r\n', { mode: 0o600 });
      const logFile = path.join(dir, 'tool.log');
      const ctx = new ToolContext('cfn-test', settingsFromArgs({ 'credential-file': credFile, 'log-file': logFile, verbose: true }), { env: { CFNTOOLS_HEAT_DIR: dir } });
      const d = await describeStackResource(ctx.queryClient('cloudformation'), 'teststack', 'WebServer');
      ctx.close();
      assert.equal(d.logicalResourceId, 'WebServer');
      assert.match(String(server.requests[0].headers.authorization), /Credential=AKIDFILE\/\d{8}\/heat\/cloudformation\//);
      const log = fs.readFileSync(logFile, 'utf8');
      assert.match(log, /DEBUG .*GET .*DescribeStackResource/);
      assert.ok(!log.includes('file-secret-xyz'), 'secret key in log');
      assert.ok(!/Signature=[0-9a-f]{10}/.test(log), 'signature in log');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
