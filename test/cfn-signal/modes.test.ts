/**
 * The other two targets: a signed SignalResource call (--stack/--resource),
 * and Heat's native OS::Heat::WaitConditionHandle (token POST, temp URL PUT).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pythonJsonDumps } from '../../shared/pyjson';
import { answerAccepted, sandbox, withServer, type Sandbox } from './support';

const SECRET = 'resource-signal/Secret+Key=1';
const TOKEN = 'gAAAAABnativeHandleToken-0123456789_abcdefXYZ';

describe('cfn-signal --stack/--resource (SignalResource)', function () {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  const accepted = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(pythonJsonDumps({ SignalResourceResponse: { ResponseMetadata: { RequestId: 'r-1' } } }));
  };

  it('sends a SigV4-signed SignalResource with StackName, LogicalResourceId, UniqueId and Status', async () => {
    await withServer(accepted, async (server) => {
      const r = await box.run(['--stack', 'teststack', '--resource', 'WebServer', '-e', '1', '-i', 'i-0abc', '--url', `${server.url}/v1/`, '--region', 'RegionOne', '--access-key', 'AKIDSIGNAL', '--secret-key', SECRET]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.length, 1);
      const req = server.requests[0]!;
      assert.equal(req.method, 'GET');
      const u = new URL(req.url, server.url);
      assert.equal(u.pathname, '/v1/');
      assert.deepEqual(Object.fromEntries(u.searchParams), {
        Action: 'SignalResource',
        ContentType: 'JSON',
        LogicalResourceId: 'WebServer',
        StackName: 'teststack',
        Status: 'FAILURE',
        UniqueId: 'i-0abc',
        Version: '2010-05-15',
      });
      assert.match(String(req.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDSIGNAL\/\d{8}\/RegionOne\/cloudformation\/aws4_request, ?SignedHeaders=[a-z;-]*host[a-z;-]*, ?Signature=[0-9a-f]{64}$/);
      assert.ok(req.headers['x-amz-date']);
      const log = box.readLog();
      assert.match(log, /INFO .*SignalResource FAILURE for teststack\/WebServer accepted/);
      assert.ok(!log.includes(SECRET) && !r.stderr.includes(SECRET), log);
      assert.ok(!/Signature=[0-9a-f]{64}/.test(log), log);
    });
  });

  it('takes the keys from a credential file (-f) and signs SigV2 when asked', async () => {
    await withServer(accepted, async (server) => {
      const creds = path.join(box.dir, 'creds');
      fs.writeFileSync(creds, `AWSAccessKeyId=AKIDFILE\nAWSSecretKey=${SECRET}\n`, { mode: 0o600 });
      const r = await box.run(['--stack', 's', '--resource', 'R', '-i', 'x', '-u', `${server.url}/v1/`, '-f', creds, '--signature-version', '2']);
      assert.equal(r.status, 0, r.stderr);
      const q = new URL(server.requests[0]!.url, server.url).searchParams;
      assert.equal(q.get('AWSAccessKeyId'), 'AKIDFILE');
      assert.equal(q.get('SignatureVersion'), '2');
      assert.equal(q.get('Status'), 'SUCCESS');
    });
  });

  it("heat-api-cfn's InvalidAction (Heat has no SignalResource) is final and says to use the handle URL", async () => {
    const invalidAction = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(400, { 'Content-Type': 'application/xml' });
      res.end('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>The action or operation requested is invalid</Message></Error></ErrorResponse>');
    };
    await withServer(invalidAction, async (server) => {
      const r = await box.run(['--stack', 's', '--resource', 'R', '-i', 'x', '-u', `${server.url}/v1/`, '--access-key', 'AK', '--secret-key', SECRET]);
      assert.equal(r.status, 1);
      assert.equal(server.requests.length, 1);
      assert.match(r.stderr, /HTTP 400 InvalidAction: The action or operation requested is invalid; heat-api-cfn has no SignalResource: on OpenStack Heat, signal the wait condition handle URL instead/);
    });
  });

  it('without any credentials it fails before sending, naming what it tried', async () => {
    await withServer(accepted, async (server) => {
      const r = await box.run(['--stack', 's', '--resource', 'R', '-i', 'x', '-u', `${server.url}/v1/`]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no credentials found; tried/);
      assert.equal(server.requests.length, 0);
    });
  });
});

describe('cfn-signal for OS::Heat::WaitConditionHandle', function () {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  const nativeEndpoint = (origin: string) => `${origin}/v1/tenant0/stacks/teststack/f00dface-0000-4000-8000-000000000000/resources/wait_handle/signal`;

  it('--auth-token: the POST of curl_cli, lower-case keys, and the token nowhere in the log', async () => {
    await withServer(answerAccepted, async (server) => {
      const r = await box.run(['--auth-token', TOKEN, '-i', 'web1', '-r', 'all good', '-d', 'v=1', nativeEndpoint(server.url)]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.length, 1);
      const req = server.requests[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, new URL(nativeEndpoint(server.url)).pathname);
      assert.equal(req.headers['x-auth-token'], TOKEN);
      assert.equal(req.headers['content-type'], 'application/json');
      assert.equal(req.headers.accept, 'application/json');
      assert.equal(req.body.toString(), '{"status": "SUCCESS", "reason": "all good", "data": "v=1", "id": "web1"}');
      const log = box.readLog();
      assert.match(log, /native signal SUCCESS \(id web1, token\) accepted/);
      assert.ok(!log.includes(TOKEN) && !r.stderr.includes(TOKEN), log);
    });
  });

  it(`the token from ${'CFN_SIGNAL_AUTH_TOKEN'} (not on argv); a 401 is final and shows neither token nor its value`, async () => {
    const unauthorized = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The request you have made requires authentication.', code: 401, title: 'Unauthorized' } }));
    };
    await withServer(unauthorized, async (server) => {
      const r = await box.run(['-e', '3', '-i', 'web1', nativeEndpoint(server.url)], { CFN_SIGNAL_AUTH_TOKEN: TOKEN });
      assert.equal(r.status, 1);
      assert.equal(server.requests.length, 1, 'not retried');
      assert.equal(server.requests[0]!.headers['x-auth-token'], TOKEN);
      assert.match(server.requests[0]!.body.toString(), /^\{"status": "FAILURE"/);
      assert.match(r.stderr, /native signal FAILURE \(id web1, token\) was refused by .* \(not retried\): HTTP 401 Unauthorized: The request you have made requires authentication\./);
      for (const text of [r.stderr, box.readLog()]) assert.ok(!text.includes(TOKEN), text);
    });
  });

  it('--native with a temp URL: a PUT of the lower-case body without Content-Type; temp_url_sig stays out of the log', async () => {
    await withServer(answerAccepted, async (server) => {
      const sig = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
      const url = `${server.url}/v1/AUTH_tenant0/teststack-wait_handle-abc/obj?temp_url_sig=${sig}&temp_url_expires=4102444800`;
      const r = await box.run(['--native', '-i', 'web1', url]);
      assert.equal(r.status, 0, r.stderr);
      const req = server.requests[0]!;
      assert.equal(req.method, 'PUT');
      assert.equal(req.headers['content-type'], undefined);
      assert.equal(req.headers['x-auth-token'], undefined);
      assert.deepEqual(JSON.parse(req.body.toString()), { status: 'SUCCESS', reason: 'Configuration Complete', data: 'Application has completed configuration.', id: 'web1' });
      assert.ok(!box.readLog().includes(sig), box.readLog());
    });
  });

  it('--auth-token with --resource is a usage error', async () => {
    const r = await box.run(['--auth-token', TOKEN, '--stack', 's', '--resource', 'R']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--auth-token\/--native signal a handle URL, not --resource/);
    assert.ok(!r.stderr.includes(TOKEN));
  });
});
