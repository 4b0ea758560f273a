/**
 * EC2 mode: the instance metadata service (IMDSv2 tokens, the identity
 * document and its signature, role credentials, EC2's error pages), the
 * CloudFormation side's CFN_V1 check (grammar, signature, account, stack
 * membership) with AWS's answers and refusals, role keys with and without
 * CloudFormation permissions, the admin API, the `ec2:` section's checks and
 * the demo stack, driven by hand-built requests and by the tools. Heat mode
 * is unchanged without it.
 */
import * as assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool, toolEnv } from '../support/cli';
import { skipUnless } from '../support/skip';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/server';
import { loadStackFile } from '../emulator/stackfile';
import { type Answer, REPO, send, signedGet, startEmulatorCli } from './helpers';

const WIRE = path.resolve(REPO, '..', 'shared', 'reference', 'cfn-bootstrap-wire');
const LAMP = path.join(REPO, 'test', 'emulator', 'stacks', 'aws-lamp.yaml');

const INSTANCE = 'i-0123456789abcdef0';
const OTHER_INSTANCE = 'i-0fedcba9876543210';
const EXTRA_MEMBER = 'i-00000000000000abc';
const STACK_ID = '5f3a9a40-94c3-11f1-b2a1-0a1b2c3d4e5f';
const STACK_ARN = `arn:aws:cloudformation:us-east-1:123456789012:stack/wire-test/${STACK_ID}`;
const METADATA = { 'AWS::CloudFormation::Init': { config: { commands: { '01_hello': { command: 'echo hello-command' } } } }, app: { name: 'wire', port: '8080' } };
const PROJECT = { accessKey: 'AKIDEC2PROJECT', secretKey: 'ec2-project-secret' };
const ROLE = { name: 'cfn-wire-InstanceRole', accessKey: 'ASIAEXAMPLEROLEKEY01', secretKey: 'RoleSecretKeyExample/Fake+0123456789abcd', sessionToken: 'IQoJb3JpZ2luX2VjEFAKE//token==' };

/** The document's keys, in EC2's order. */
const DOCUMENT_KEYS = [
  'accountId', 'architecture', 'availabilityZone', 'billingProducts', 'devpayProductCodes', 'marketplaceProductCodes', 'imageId',
  'instanceId', 'instanceType', 'kernelId', 'pendingTime', 'privateIp', 'ramdiskId', 'region', 'version',
];

function options(extra: Partial<EmulatorOptions> = {}): EmulatorOptions {
  return {
    stacks: [
      {
        name: 'wire-test',
        id: STACK_ID,
        resources: {
          WebServer: { type: 'AWS::EC2::Instance', physicalId: INSTANCE, lastUpdated: '2026-12-07T18:15:42Z', metadata: METADATA, creationPolicy: { count: 1 } },
          Config: { type: 'AWS::SSM::Parameter', metadata: { a: 1 } },
        },
      },
      { name: 'other-stack', resources: { Other: { type: 'AWS::EC2::Instance', physicalId: OTHER_INSTANCE, metadata: { other: true } } } },
    ],
    credentials: [PROJECT],
    ec2: { members: { 'wire-test': [EXTRA_MEMBER] }, role: ROLE },
    ...extra,
  };
}

/** A GET or PUT to the metadata service. */
function imds(emu: Emulator, p: string, opts: { method?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers = { ...opts.headers, ...(opts.token ? { 'X-aws-ec2-metadata-token': opts.token } : {}) };
  return send(`${emu.imdsUrl}${p}`, { method: opts.method ?? 'GET', headers });
}

async function token(emu: Emulator, ttl = '21600'): Promise<string> {
  const r = await imds(emu, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } });
  assert.equal(r.status, 200, r.text);
  return r.text;
}

/** What aws-cfn-bootstrap sends: the IMDS document and signature, the signature's line breaks removed. */
async function identityHeader(emu: Emulator): Promise<{ header: string; document: string; signature: string }> {
  const t = await token(emu);
  const document = (await imds(emu, '/latest/dynamic/instance-identity/document', { token: t })).text;
  const signature = (await imds(emu, '/latest/dynamic/instance-identity/signature', { token: t })).text;
  return { header: cfnV1(document, signature.replace(/\n/g, '')), document, signature };
}

function cfnV1(document: string | Buffer, signature: string): string {
  return `CFN_V1 ${Buffer.from(document).toString('base64')}:${signature}`;
}

/** A CloudFormation GET as aws-cfn-bootstrap builds it (parameters in its order, requests' encoding). */
function cfn(emu: Emulator, params: Array<[string, string]>, authorization: string): Promise<Answer> {
  const query = new URLSearchParams([...params, ['ContentType', 'JSON'], ['Version', '2010-05-15']]).toString();
  return send(`${emu.url}/?${query}`, { headers: { Accept: 'application/json', Authorization: authorization } });
}

const describeParams = (stack = 'wire-test', resource = 'WebServer'): Array<[string, string]> => [
  ['Action', 'DescribeStackResource'],
  ['LogicalResourceId', resource],
  ['StackName', stack],
];
const signalParams = (stack = 'wire-test', resource = 'WebServer', uniqueId = INSTANCE, status = 'SUCCESS'): Array<[string, string]> => [
  ['Action', 'SignalResource'],
  ['LogicalResourceId', resource],
  ['StackName', stack],
  ['UniqueId', uniqueId],
  ['Status', status],
];

/** AWS's error form, its RequestId the header's; returns the Error. */
function awsError(r: Answer, status: number, code: string): { Code: string; Message: string; Type: string } {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.text);
  assert.deepEqual(Object.keys(body), ['Error', 'RequestId']);
  assert.deepEqual(Object.keys(body.Error), ['Code', 'Message', 'Type']);
  assert.equal(body.Error.Code, code);
  assert.equal(body.Error.Type, 'Sender');
  assert.equal(body.RequestId, r.headers['x-amzn-requestid']);
  return body.Error;
}

function lastLog(emu: Emulator) {
  return emu.requestLog.filter((e) => e.service === undefined).at(-1)!;
}

describe('emulator: EC2 mode', () => {
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator(options());
  });
  after(() => emu.stop());
  beforeEach(() => emu.reset());

  describe('instance metadata service', () => {
    it('hands out IMDSv2 tokens for a TTL of 1 to 21600 s and serves GETs that carry one', async () => {
      const put = await imds(emu, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } });
      assert.equal(put.status, 200);
      assert.equal(put.text.length, 56);
      assert.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '300');
      assert.equal(put.headers.server, 'EC2ws');
      const got = await imds(emu, '/latest/meta-data/instance-id', { token: put.text });
      assert.equal(got.status, 200);
      assert.equal(got.text, INSTANCE);
      assert.equal(got.headers['content-type'], 'text/plain');
      assert.ok(Number(got.headers['x-aws-ec2-metadata-token-ttl-seconds']) <= 300);
      const log = emu.requestLog.filter((e) => e.service === 'imds').map((e) => [e.method, e.path, e.signature, e.status]);
      assert.deepEqual(log, [
        ['PUT', '/latest/api/token', 'none', 200],
        ['GET', '/latest/meta-data/instance-id', 'imds-token', 200],
      ]);
    });

    it('refuses a token request without a good TTL (400) or through a proxy (403), and an unknown token (401)', async () => {
      for (const ttl of [undefined, '0', '21601', 'abc']) {
        const r = await imds(emu, '/latest/api/token', { method: 'PUT', headers: ttl === undefined ? {} : { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } });
        assert.equal(r.status, 400, `TTL ${ttl}`);
      }
      const proxied = await imds(emu, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.0.0.1' } });
      assert.equal(proxied.status, 403);
      const bogus = await imds(emu, '/latest/meta-data/instance-id', { token: 'not-a-token' });
      assert.equal(bogus.status, 401);
      assert.match(bogus.text, /<title>401 - Unauthorized<\/title>/);
    });

    it('serves IMDSv1 by default; with tokens required a GET without one is 401; reset restores the setting', async () => {
      assert.equal((await imds(emu, '/latest/meta-data/instance-id')).text, INSTANCE);
      assert.equal(emu.setEc2({ imdsTokens: 'required' }).imdsTokens, 'required');
      assert.equal((await imds(emu, '/latest/meta-data/instance-id')).status, 401);
      assert.equal((await imds(emu, '/latest/meta-data/instance-id', { token: await token(emu) })).status, 200);
      emu.reset();
      assert.equal((await imds(emu, '/latest/meta-data/instance-id')).status, 200);
    });

    it("answers an unknown path with EC2's 404 page, byte for byte", async () => {
      const r = await imds(emu, '/latest/meta-data/no-such-thing');
      assert.equal(r.status, 404);
      assert.equal(r.headers['content-type'], 'text/html');
      assert.equal(r.body.length, 337);
      assert.match(r.text, /^<\?xml version="1.0" encoding="iso-8859-1"\?>\n<!DOCTYPE html[\s\S]*<h1>404 - Not Found<\/h1>\n <\/body>\n<\/html>\n$/);
      assert.equal((await imds(emu, '/latest/meta-data/instance-id', { method: 'POST' })).status, 405);
    });

    it('lists directories as EC2 does', async () => {
      const listing = (await imds(emu, '/latest/meta-data/')).text.split('\n');
      assert.ok(listing.includes('instance-id') && listing.includes('placement/') && listing.includes('iam/'), listing.join(','));
      assert.equal((await imds(emu, '/latest/dynamic/instance-identity/')).text, 'document\nsignature');
    });

    it("serves the identity document in EC2's layout and a signature that verifies with the emulator's public key", async () => {
      const { document, signature } = await identityHeader(emu);
      const doc = JSON.parse(document);
      assert.deepEqual(Object.keys(doc), DOCUMENT_KEYS);
      assert.equal(doc.instanceId, INSTANCE);
      assert.equal(doc.accountId, '123456789012');
      assert.equal(doc.region, 'us-east-1');
      assert.match(document, /^\{\n {2}"accountId" : "123456789012",\n {2}"architecture" : "x86_64",\n/);
      assert.ok(document.endsWith('"version" : "2017-09-30"\n}'), 'no final newline');
      assert.deepEqual(signature.split('\n').map((l) => l.length), [76, 76, 20]);
      const raw = Buffer.from(signature.replace(/\n/g, ''), 'base64');
      assert.equal(raw.length, 128);
      assert.ok(verify('sha256', Buffer.from(document), emu.identityPublicKeyPem!, raw));
      assert.ok(!verify('sha256', Buffer.from(document.replace(INSTANCE, OTHER_INSTANCE)), emu.identityPublicKeyPem!, raw));
    });

    it("has the fixture's layout byte for byte, but for the instance's own launch time and address", function () {
      skipUnless(this, 'the cfn-bootstrap-wire fixture', fs.existsSync(WIRE) ? undefined : `${WIRE} is absent`);
      const fixture = fs.readFileSync(path.join(WIRE, 'fixtures', 'imds-instance-identity-document'), 'utf8');
      return identityHeader(emu).then(({ document }) => {
        const doc = JSON.parse(document);
        const same = document.replace(doc.pendingTime, '2026-12-07T18:15:42Z').replace(doc.privateIp, '10.0.1.23');
        assert.equal(same, fixture);
      });
    });

    it("serves the attached role's credentials in EC2's layout", async () => {
      assert.equal((await imds(emu, '/latest/meta-data/iam/security-credentials/')).text, ROLE.name);
      const r = await imds(emu, `/latest/meta-data/iam/security-credentials/${ROLE.name}`);
      assert.equal(r.status, 200);
      assert.match(r.text, /^\{\n {2}"Code" : "Success",\n {2}"LastUpdated" : "[^"]+",\n {2}"Type" : "AWS-HMAC",\n/);
      const doc = JSON.parse(r.text);
      assert.deepEqual(Object.keys(doc), ['Code', 'LastUpdated', 'Type', 'AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration']);
      assert.equal(doc.AccessKeyId, ROLE.accessKey);
      assert.equal(doc.Token, ROLE.sessionToken);
      const hours = (Date.parse(doc.Expiration) - Date.now()) / 3600_000;
      assert.ok(hours > 5.9 && hours <= 6, `expires in ${hours} h`);
      assert.equal((await imds(emu, '/latest/meta-data/iam/security-credentials/OtherRole')).status, 404);
    });
  });

  describe('CloudFormation with instance identity (CFN_V1)', () => {
    it("answers DescribeStackResource of the instance's own stack in AWS's shape", async () => {
      const { header } = await identityHeader(emu);
      const r = await cfn(emu, describeParams(), header);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], 'application/json');
      const requestId = r.headers['x-amzn-requestid'];
      assert.match(String(requestId), /^[0-9a-f-]{36}$/);
      assert.match(r.text, /"LastUpdatedTimestamp":1\.796667342E9,/);
      const body = JSON.parse(r.text);
      assert.equal(body.DescribeStackResourceResponse.ResponseMetadata.RequestId, requestId);
      const d = body.DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail;
      assert.deepEqual(Object.keys(d), [
        'Description', 'DriftInformation', 'LastUpdatedTimestamp', 'LogicalResourceId', 'Metadata', 'ModuleInfo', 'PhysicalResourceId',
        'ResourceStatus', 'ResourceStatusReason', 'ResourceType', 'StackId', 'StackName',
      ]);
      assert.equal(typeof d.Metadata, 'string');
      assert.deepEqual(JSON.parse(d.Metadata), METADATA);
      assert.deepEqual(d.DriftInformation, { LastCheckTimestamp: null, StackResourceDriftStatus: 'NOT_CHECKED' });
      assert.equal(d.Description, null);
      assert.equal(d.ResourceStatus, 'CREATE_IN_PROGRESS');
      assert.equal(d.ResourceStatusReason, 'Resource creation Initiated');
      assert.equal(d.StackId, STACK_ARN);
      assert.equal(d.PhysicalResourceId, INSTANCE);
      const log = lastLog(emu);
      assert.deepEqual([log.signature, log.instanceId, log.verified, log.status], ['cfn-v1', INSTANCE, 'ok', 200]);
    });

    it('takes the stack ARN as StackName; an ARN of another account is no stack', async () => {
      const { header } = await identityHeader(emu);
      assert.equal((await cfn(emu, describeParams(STACK_ARN), header)).status, 200);
      const err = awsError(await cfn(emu, describeParams(STACK_ARN.replace('123456789012', '210987654321')), header), 400, 'ValidationError');
      assert.match(err.Message, /^Stack with id arn:aws:cloudformation:us-east-1:210987654321:stack\/wire-test\/\S+ does not exist$/);
      const missing = awsError(await cfn(emu, describeParams('wire-test', 'Nope'), header), 400, 'ValidationError');
      assert.equal(missing.Message, 'Resource Nope does not exist for stack wire-test');
    });

    it('records SignalResource with its UniqueId and Status; a settled resource cannot be signalled', async () => {
      const { header } = await identityHeader(emu);
      const r = await cfn(emu, signalParams(STACK_ARN), header);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, `{"SignalResourceResponse":{"ResponseMetadata":{"RequestId":"${r.headers['x-amzn-requestid']}"}}}`);
      const res = emu.resource('wire-test', 'WebServer');
      assert.equal(res.status, 'CREATE_COMPLETE');
      assert.deepEqual(
        res.signals.map((s) => [s.uniqueId, s.status, s.via, s.instanceId, s.accessKey]),
        [[INSTANCE, 'SUCCESS', 'SignalResource', INSTANCE, undefined]],
      );
      const again = awsError(await cfn(emu, signalParams(), header), 400, 'ValidationError');
      assert.equal(again.Message, 'Resource WebServer is in CREATE_COMPLETE state and cannot be signaled');
      const bad = awsError(await cfn(emu, signalParams('wire-test', 'WebServer', INSTANCE, 'MAYBE'), header), 400, 'ValidationError');
      assert.match(bad.Message, /Value 'MAYBE' at 'status' failed to satisfy constraint/);
    });

    it("refuses the recorded transcript's header, made with another key (403 AccessDenied)", async function () {
      skipUnless(this, 'the cfn-bootstrap-wire transcripts', fs.existsSync(WIRE) ? undefined : `${WIRE} is absent`);
      const transcript = fs.readFileSync(path.join(WIRE, 'cfn-init-nocreds-cfnv1.txt'), 'utf8');
      const header = /^Authorization: (CFN_V1 \S+)$/m.exec(transcript)![1];
      const err = awsError(await cfn(emu, describeParams(), header), 403, 'AccessDenied');
      assert.equal(err.Message, 'The signature of the instance identity document is not valid');
      const log = lastLog(emu);
      assert.equal(log.signature, 'cfn-v1');
      assert.equal(log.instanceId, undefined);
      assert.match(log.verified!, /^AccessDenied: signature does not verify with the identity key \(the document names i-0123456789abcdef0\)$/);
    });

    it("refuses a document signed with another key, and a document changed after signing", async () => {
      const { document, signature } = await identityHeader(emu);
      const foreign = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
      awsError(await cfn(emu, describeParams(), cfnV1(document, sign('sha256', Buffer.from(document), foreign).toString('base64'))), 403, 'AccessDenied');
      const tampered = document.replace(`"instanceId" : "${INSTANCE}"`, `"instanceId" : "${EXTRA_MEMBER}"`);
      assert.notEqual(tampered, document);
      awsError(await cfn(emu, describeParams(), cfnV1(tampered, signature.replace(/\n/g, ''))), 403, 'AccessDenied');
      // One byte more (a trailing newline, as the IMDS body has none) breaks it too.
      awsError(await cfn(emu, describeParams(), cfnV1(`${document}\n`, signature.replace(/\n/g, ''))), 403, 'AccessDenied');
    });

    it('refuses a header that is not CFN_V1 <base64>:<base64> (400 IncompleteSignature)', async () => {
      const { document, signature } = await identityHeader(emu);
      const doc = Buffer.from(document).toString('base64');
      const sig = signature.replace(/\n/g, '');
      const cases: Array<[string, RegExp]> = [
        ['CFN_V1', /scheme must be CFN_V1 followed by one space/],
        [`CFN_V1  ${doc}:${sig}`, /scheme must be CFN_V1 followed by one space/],
        [`cfn_v1 ${doc}:${sig}`, /scheme must be CFN_V1 followed by one space/],
        [`CFN_V1 ${doc}${sig}`, /no ':' between/],
        [`CFN_V1 ${doc}:${signature.replace(/\n/g, ' ')}`, /the signature is not one line of standard base64/],
        [`CFN_V1 ${doc.slice(0, 10)}*${doc.slice(10)}:${sig}`, /the document is not one line of standard base64/],
        [`CFN_V1 ${doc}:`, /the signature is not one line of standard base64/],
        [`CFN_V1 ${doc}:${sig} extra`, /the signature is not one line of standard base64/],
      ];
      for (const [header, reason] of cases) {
        const err = awsError(await cfn(emu, describeParams(), header), 400, 'IncompleteSignature');
        assert.match(err.Message, /CFN_V1 <base64 instance identity document>:<base64 signature>/);
        assert.match(lastLog(emu).verified!, reason, header.slice(0, 40));
      }
    });

    it('refuses an instance outside the stack, for both actions, and lets it at its own', async () => {
      assert.equal(emu.setEc2({ instanceId: OTHER_INSTANCE }).instanceStack, 'other-stack');
      const { header } = await identityHeader(emu);
      const d = awsError(await cfn(emu, describeParams(), header), 403, 'AccessDenied');
      assert.equal(d.Message, `Instance ${OTHER_INSTANCE} is not allowed to call DescribeStackResource for stack wire-test`);
      const s = awsError(await cfn(emu, signalParams('wire-test', 'WebServer', OTHER_INSTANCE), header), 403, 'AccessDenied');
      assert.equal(s.Message, `Instance ${OTHER_INSTANCE} is not allowed to call SignalResource for stack wire-test`);
      assert.equal(emu.resource('wire-test', 'WebServer').signals.length, 0);
      assert.equal(lastLog(emu).instanceId, OTHER_INSTANCE);
      assert.equal((await cfn(emu, describeParams('other-stack', 'Other'), header)).status, 200);

      emu.setEc2({ instanceId: 'i-0000000000000dead' });
      const nowhere = await identityHeader(emu);
      assert.equal(emu.ec2().instanceStack, null);
      awsError(await cfn(emu, describeParams('other-stack', 'Other'), nowhere.header), 403, 'AccessDenied');
    });

    it('takes the members the ec2 section adds, and follows a new physical id of an instance resource', async () => {
      emu.setEc2({ instanceId: EXTRA_MEMBER });
      assert.equal((await cfn(emu, describeParams('wire-test', 'Config'), (await identityHeader(emu)).header)).status, 200);
      emu.setEc2({ instanceId: 'i-0aaaaaaaaaaaaaaaa' });
      const { header } = await identityHeader(emu);
      awsError(await cfn(emu, describeParams(), header), 403, 'AccessDenied');
      emu.setResourceStatus('wire-test', 'WebServer', { status: 'UPDATE_COMPLETE', physicalId: 'i-0aaaaaaaaaaaaaaaa' });
      assert.equal((await cfn(emu, describeParams(), header)).status, 200);
    });

    it('refuses every other action with an instance identity', async () => {
      const { header } = await identityHeader(emu);
      const put = await cfn(emu, [['Action', 'PutMetricData'], ['Namespace', 'System/Linux'], ['MetricData.member.1.MetricName', 'MemoryUtilization'], ['MetricData.member.1.Value', '1']], header);
      assert.match(awsError(put, 403, 'AccessDenied').Message, /may call only DescribeStackResource and SignalResource .*not PutMetricData$/);
      awsError(await cfn(emu, [['Action', 'DescribeStackResources'], ['StackName', 'wire-test']], header), 403, 'AccessDenied');
      assert.equal(emu.state().metrics.length, 0);
    });

    it('serves metadata and status changes made through the admin API; a pinned UPDATE_IN_PROGRESS takes signals', async () => {
      const { header } = await identityHeader(emu);
      const changed = { ...METADATA, app: { name: 'wire', port: '9090' } };
      const put = await send(`${emu.url}/_emulator/metadata/wire-test/WebServer`, { method: 'PUT', body: JSON.stringify(changed) });
      assert.equal(put.status, 200);
      const status = await send(`${emu.url}/_emulator/status/wire-test/WebServer`, { method: 'PUT', body: JSON.stringify({ status: 'UPDATE_IN_PROGRESS' }) });
      assert.equal(status.status, 200);
      const d = JSON.parse((await cfn(emu, describeParams(), header)).text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail;
      assert.deepEqual(JSON.parse(d.Metadata), changed);
      assert.equal(d.ResourceStatus, 'UPDATE_IN_PROGRESS');
      assert.equal((await cfn(emu, signalParams(), header)).status, 200);
      assert.equal(emu.resource('wire-test', 'WebServer').status, 'UPDATE_IN_PROGRESS');
      assert.equal(emu.resource('wire-test', 'WebServer').signals.length, 1);
    });

    it("answers injected faults in AWS's form (a 500 is a Receiver error)", async () => {
      const { header } = await identityHeader(emu);
      emu.setFaults({ next: [{ kind: 'error', status: 500, count: 1 }] });
      try {
        const r = await cfn(emu, describeParams(), header);
        assert.equal(r.status, 500);
        assert.deepEqual(JSON.parse(r.text).Error, { Code: 'InternalFailure', Message: 'The request processing has failed due to an internal error', Type: 'Receiver' });
        assert.equal((await cfn(emu, describeParams(), header)).status, 200);
      } finally {
        emu.setFaults({});
      }
    });
  });

  describe('keys in EC2 mode', () => {
    it("answers a project key's SigV4 request in AWS's shape, and its XML without ContentType=JSON", async () => {
      const r = await signedGet(`${emu.url}/`, { Action: 'DescribeStackResource', StackName: 'wire-test', LogicalResourceId: 'Config', ContentType: 'JSON', Version: '2010-05-15' }, PROJECT);
      assert.equal(r.status, 200, r.text);
      const d = JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail;
      assert.equal(d.Metadata, '{"a":1}');
      const x = await signedGet(`${emu.url}/`, { Action: 'DescribeStackResource', StackName: 'wire-test', LogicalResourceId: 'Config', Version: '2010-05-15' }, PROJECT);
      assert.equal(x.headers['content-type'], 'text/xml');
      assert.match(x.text, /^<DescribeStackResourceResponse xmlns="http:\/\/cloudformation\.amazonaws\.com\/doc\/2010-05-15\/"><DescribeStackResourceResult><StackResourceDetail>/);
      assert.match(x.text, /<Metadata>\{"a":1\}<\/Metadata>/);
      assert.match(x.text, /<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/DescribeStackResourceResponse>$/);
      const bad = await signedGet(`${emu.url}/`, { Action: 'DescribeStackResource', StackName: 'wire-test', LogicalResourceId: 'Config', ContentType: 'JSON' }, { ...PROJECT, secretKey: 'wrong' });
      awsError(bad, 403, 'AccessDenied');
    });

    it('takes the attached role (project scope) as SigV4 keys with their session token, and not without it', async () => {
      const ok = await signedGet(`${emu.url}/`, { Action: 'SignalResource', StackName: 'wire-test', LogicalResourceId: 'WebServer', UniqueId: 'u1', Status: 'SUCCESS', ContentType: 'JSON' }, ROLE);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(emu.resource('wire-test', 'WebServer').signals.map((s) => [s.uniqueId, s.accessKey]), [['u1', ROLE.accessKey]]);
      const noToken = await signedGet(`${emu.url}/`, { Action: 'DescribeStackResource', StackName: 'wire-test', LogicalResourceId: 'WebServer', ContentType: 'JSON' }, { accessKey: ROLE.accessKey, secretKey: ROLE.secretKey });
      awsError(noToken, 403, 'AccessDenied');
      assert.equal(lastLog(emu).verified, 'AccessDenied: session token missing');
    });

    it('cfn-get-metadata --role reads the AWS-shaped answer through the metadata service', async () => {
      const r = await runTool('cfn-get-metadata', ['-s', 'wire-test', '-r', 'WebServer', '--role', ROLE.name, '--region', 'us-east-1', '--url', emu.url], {
        env: toolEnv({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsUrl }),
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), METADATA);
    });
  });

  describe('a role without CloudFormation permissions', () => {
    let bare: Emulator;
    const NO_CFN = { name: 'NoCfnRole', scope: 'none' as const };

    before(async () => {
      bare = await startEmulator(options({ credentials: [], ec2: { role: NO_CFN } }));
    });
    after(() => bare.stop());

    it("has valid keys that IAM refuses everything, in AWS's words", async () => {
      const creds = JSON.parse((await imds(bare, `/latest/meta-data/iam/security-credentials/${NO_CFN.name}`)).text);
      assert.match(creds.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
      const keys = { accessKey: creds.AccessKeyId, secretKey: creds.SecretAccessKey, sessionToken: creds.Token };
      const r = await signedGet(`${bare.url}/`, { Action: 'DescribeStackResource', StackName: 'wire-test', LogicalResourceId: 'WebServer', ContentType: 'JSON' }, keys);
      const err = awsError(r, 403, 'AccessDenied');
      assert.equal(
        err.Message,
        `User: arn:aws:sts::123456789012:assumed-role/NoCfnRole/${INSTANCE} is not authorized to perform: cloudformation:DescribeStackResource on resource: ${STACK_ARN} ` +
          'because no identity-based policy allows the cloudformation:DescribeStackResource action',
      );
      assert.equal(bare.requestLog.at(-1)!.verified, 'ok');
      awsError(await signedGet(`${bare.url}/`, { Action: 'SignalResource', StackName: 'wire-test', LogicalResourceId: 'WebServer', UniqueId: 'x', Status: 'SUCCESS', ContentType: 'JSON' }, keys), 403, 'AccessDenied');
      const metrics = await signedGet(`${bare.url}/`, { Action: 'PutMetricData', Namespace: 'N', 'MetricData.member.1.MetricName': 'M', 'MetricData.member.1.Value': '1' }, keys);
      assert.equal(metrics.status, 403);
      assert.equal(bare.state().credentials.find((c) => c.accessKey === keys.accessKey)?.scope, 'role NoCfnRole, no permissions');
    });

    it('makes cfn-get-metadata --role fail with AccessDenied, while CFN_V1 still works', async () => {
      const r = await runTool('cfn-get-metadata', ['-s', 'wire-test', '-r', 'WebServer', '--role', NO_CFN.name, '--region', 'us-east-1', '--url', bare.url], {
        env: toolEnv({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: bare.imdsUrl }),
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /AccessDenied/);
      assert.equal((await cfn(bare, describeParams(), (await identityHeader(bare)).header)).status, 200);
    });
  });

  describe('admin API', () => {
    it('shows and changes EC2 mode at /_emulator/ec2, and checks what it is given', async () => {
      const view = JSON.parse((await send(`${emu.url}/_emulator/ec2`)).text);
      assert.equal(view.instanceId, INSTANCE);
      assert.equal(view.instanceStack, 'wire-test');
      assert.deepEqual(view.members, { 'wire-test': [INSTANCE, EXTRA_MEMBER], 'other-stack': [OTHER_INSTANCE] });
      assert.deepEqual(view.role, { name: ROLE.name, accessKey: ROLE.accessKey, scope: 'project' });
      assert.equal(view.imdsUrl, emu.imdsUrl);
      assert.equal(view.identityPublicKeyPem, emu.identityPublicKeyPem);
      assert.ok(!JSON.stringify(view).includes(ROLE.secretKey));
      const put = await send(`${emu.url}/_emulator/ec2`, { method: 'PUT', body: JSON.stringify({ instanceId: OTHER_INSTANCE }) });
      assert.equal(JSON.parse(put.text).instanceStack, 'other-stack');
      assert.equal((await imds(emu, '/latest/meta-data/instance-id')).text, OTHER_INSTANCE);
      for (const body of ['{"instanceId": "web-1"}', '{"imdsTokens": "always"}', '{"region": "eu-west-1"}', '[]']) {
        assert.equal((await send(`${emu.url}/_emulator/ec2`, { method: 'PUT', body })).status, 400, body);
      }
      assert.match((await send(`${emu.url}/`)).text, /<h2>EC2 mode<\/h2>/);
    });
  });
});

describe('emulator: EC2 mode off (Heat)', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator(options({ ec2: undefined }));
  });
  after(() => emu.stop());

  it('has no metadata service and answers a CFN_V1 header as Heat does', async () => {
    assert.equal(emu.imdsUrl, undefined);
    assert.equal(emu.identityPublicKeyPem, undefined);
    assert.throws(() => emu.ec2(), /EC2 mode is off/);
    assert.equal((await send(`${emu.url}/_emulator/ec2`)).status, 404);
    const r = await cfn(emu, describeParams(), 'CFN_V1 e30=:AAAA');
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'application/xml; charset=UTF-8');
    assert.match(r.text, /<Code>IncompleteSignature<\/Code>/);
    assert.equal(emu.state().ec2, undefined);
    assert.doesNotMatch((await send(`${emu.url}/`)).text, /EC2 mode/);
  });

  it("answers DescribeStackResource in Heat's shape with Heat's defaults", async () => {
    const r = await signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', StackName: 'wire-test', LogicalResourceId: 'Config', ContentType: 'JSON' }, PROJECT);
    const d = JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail;
    assert.deepEqual(d.Metadata, { a: 1 });
    assert.equal(d.ResourceStatusReason, 'state changed');
    assert.match(d.StackId, /^arn:openstack:heat::/);
    assert.equal(emu.resource('wire-test', 'WebServer').statusReason, 'state changed');
  });
});

describe('emulator: the ec2 section of stack files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-emulator-ec2-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const stack = 'stacks:\n  - name: s1\n    resources:\n      Web: {type: AWS::EC2::Instance}\n';

  it('turns EC2 mode on with defaults from a bare ec2:, with an i- physical id for the instance', async () => {
    const emu = await startEmulator({ stacks: [write('a.yaml', `${stack}ec2:\n`)] });
    try {
      const view = emu.ec2();
      assert.deepEqual([view.region, view.accountId, view.availabilityZone, view.imdsTokens, view.role], ['us-east-1', '123456789012', 'us-east-1a', 'optional', null]);
      assert.match(view.instanceId, /^i-[0-9a-f]{17}$/);
      assert.equal(emu.resource('s1', 'Web').physicalId, view.instanceId);
      assert.equal(view.instanceStack, 's1');
    } finally {
      await emu.stop();
    }
  });

  it("lets the options' keys win over the file's", async () => {
    const emu = await startEmulator({ stacks: [write('a.yaml', `${stack}ec2: {region: eu-west-1, imdsTokens: required}\n`)], ec2: { imdsTokens: 'optional' } });
    try {
      assert.deepEqual([emu.ec2().region, emu.ec2().imdsTokens], ['eu-west-1', 'optional']);
    } finally {
      await emu.stop();
    }
  });

  const cases: Array<[string, string, RegExp]> = [
    ['bad region', 'ec2: {region: Mars}', /a\.yaml: ec2\.region: "Mars" is not an AWS region like us-east-1/],
    ['bad account', 'ec2: {accountId: "12345"}', /ec2\.accountId: "12345" is not a twelve-digit account id/],
    ['bad member id', 'ec2: {members: {s1: [web-1]}}', /ec2\.members\.s1\[0\]: "web-1" is not an EC2 instance id/],
    ['unknown member stack', 'ec2: {members: {s2: [i-0123456789abcdef0]}}', /a\.yaml: ec2\.members\.s2: no stack "s2" is loaded/],
    ['bad token mode', 'ec2: {imdsTokens: always}', /ec2\.imdsTokens: "always" is not optional or required/],
    ['partial role keys', 'ec2: {role: {name: R, accessKey: ASIA1}}', /ec2\.role\.secretKey: accessKey, secretKey and sessionToken go together/],
    ['bad role scope', 'ec2: {role: {name: R, scope: admin}}', /ec2\.role\.scope: "admin" is not project or none/],
    ['unknown key', 'ec2: {zone: x}', /ec2\.zone: unknown key/],
  ];
  for (const [what, section, error] of cases) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(startEmulator({ stacks: [write('a.yaml', `${stack}${section}\n`)] }), error);
    });
  }

  it('refuses EC2 mode in two files', async () => {
    const a = write('a.yaml', `${stack}ec2:\n`);
    const b = write('b.yaml', 'stacks: []\nec2: {}\n');
    await assert.rejects(startEmulator({ stacks: [a, b] }), /b\.yaml: ec2: EC2 mode is configured in .*a\.yaml already/);
  });

  it('loads the LAMP demo: its instance, a member of lamp-stack, is played; the other stack\'s is not a member', async () => {
    const file = loadStackFile(LAMP);
    assert.equal(file.ec2?.region, 'us-east-1');
    const emu = await startEmulator({ stacks: [LAMP] });
    try {
      assert.deepEqual([emu.ec2().instanceId, emu.ec2().instanceStack], [INSTANCE, 'lamp-stack']);
      assert.equal(emu.resource('lamp-stack', 'WebServerInstance').status, 'CREATE_IN_PROGRESS');
      const { header } = await identityHeader(emu);
      assert.equal((await cfn(emu, describeParams('lamp-stack', 'WebServerInstance'), header)).status, 200);
      awsError(await cfn(emu, describeParams('other-stack', 'OtherInstance'), header), 403, 'AccessDenied');
    } finally {
      await emu.stop();
    }
  });

  it("the LAMP demo's Init passes cfn-init --dry-run, read through a role", async () => {
    const emu = await startEmulator({ stacks: [LAMP], ec2: { role: { name: 'LampRole' } } });
    try {
      const r = await runTool(
        'cfn-init',
        ['--dry-run', '-s', 'lamp-stack', '-r', 'WebServerInstance', '-c', 'InstallAndRun', '--role', 'LampRole', '--region', 'us-east-1', '--url', emu.url],
        { env: toolEnv({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsUrl }) },
      );
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /cfn-hup\.conf/);
      assert.match(r.stdout, /01_record_release/);
    } finally {
      await emu.stop();
    }
  });

  it('npm run emulator -- --ec2 prints the metadata service', async () => {
    const { child, base, waitFor } = await startEmulatorCli(['--port', '0', '--stack', write('a.yaml', stack), '--ec2', '--quiet']);
    try {
      const out = await waitFor(/it plays i-/);
      const url = /instance metadata service \(AWS_EC2_METADATA_SERVICE_ENDPOINT\): (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      assert.ok(url, out);
      assert.match((await send(`${url}/latest/meta-data/instance-id`)).text, /^i-[0-9a-f]{17}$/);
      assert.equal(JSON.parse((await send(`${base}/_emulator/ec2`)).text).imdsUrl, url);
    } finally {
      child.kill();
    }
  });
});
