/**
 * aws-cfn-bootstrap's override files as the tools meet them (the bundle,
 * real processes, loopback servers): the CA override trusted by cfn-init's
 * downloads and cfn-signal's wait-condition PUT, and the endpoints override
 * deciding which URLs cfn-init signs as S3.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool, toolEnv } from '../support/cli';
import { startServer, type TestServer } from '../support/server';
import { startHttpsServer, testPki, type TestHttpsServer } from '../support/tls';

const INIT = 'AWS::CloudFormation::Init';
const AUTH = 'AWS::CloudFormation::Authentication';

describe('override files in the tools', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-overrides-'));
    fs.mkdirSync(path.join(dir, 'cfn'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const p = (...s: string[]) => path.join(dir, ...s);
  const env = (extra: NodeJS.ProcessEnv = {}) =>
    toolEnv({ CFNTOOLS_CFN_DIR: p('cfn'), CFNTOOLS_HEAT_DIR: p('heat'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_STATE_DIR: p('state'), ...extra });
  const cfnInit = (meta: unknown, extra: NodeJS.ProcessEnv = {}) => {
    fs.writeFileSync(p('meta.json'), JSON.stringify(meta));
    return runTool('cfn-init', ['--log-file', p('cfn-init.log'), p('meta.json')], { env: env(extra) });
  };

  describe('CA override', () => {
    let server: TestHttpsServer;
    before(async () => {
      server = await startHttpsServer((req, res) => res.end(req.method === 'PUT' ? '' : 'from https'));
    });
    after(() => server.close());

    it('cfn-init downloads over HTTPS trusting CA_OVERRIDE; without it the certificate is refused', async () => {
      const meta = { [INIT]: { config: { files: { [p('out')]: { source: `${server.url}/object` } } } } };
      const refused = await cfnInit(meta);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /TLS certificate verification failed/);
      assert.ok(!fs.existsSync(p('out')));
      const r = await cfnInit(meta, { CA_OVERRIDE: testPki().caFile });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(p('out'), 'utf8'), 'from https');
    });

    it("cfn-signal's wait-condition PUT trusts ca-override.pem of the cfn directory", async () => {
      const url = `${server.url}/waitcondition?X-Amz-Signature=abc`;
      const args = ['--log-file', p('cfn-signal.log'), '-e', '0', '-i', 'web1', url];
      const refused = await runTool('cfn-signal', args, { env: env() });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /TLS certificate verification failed/);
      fs.copyFileSync(testPki().caFile, p('cfn', 'ca-override.pem'));
      const before = server.requests.length;
      const r = await runTool('cfn-signal', args, { env: env() });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.slice(before).filter((q) => q.method === 'PUT').length, 1);
    });
  });

  describe('endpoints override', () => {
    let s3: TestServer;
    beforeEach(async () => {
      s3 = await startServer((_req, res) => void res.end('object'));
    });
    afterEach(() => s3.close());

    const meta = () => ({
      [AUTH]: { store: { type: 'S3', accessKeyId: 'AKIDOVERRIDE', secretKey: 'override/Secret', buckets: ['b'] } },
      [INIT]: { config: { files: { [p('out')]: { source: `${s3.url}/b/object` } } } },
    });
    const override = (doc: unknown) => fs.writeFileSync(p('cfn', 'endpoints-override.json'), JSON.stringify(doc));

    it("cfn-init signs for the override's region a host it lists, and leaves it unsigned without it", async () => {
      const plain = await cfnInit(meta());
      assert.equal(plain.status, 0, plain.stderr);
      assert.equal(s3.requests[0].headers.authorization, undefined, 'not an S3 host without the override');
      override({ Services: { AmazonS3: { Endpoints: [{ Region: 'eu-test-1', Hostname: new URL(s3.url).host }] } } });
      const r = await cfnInit(meta());
      assert.equal(r.status, 0, r.stderr);
      assert.match(String(s3.requests[1].headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDOVERRIDE\/\d{8}\/eu-test-1\/s3\/aws4_request/);
    });

    it('a broken override stops cfn-init before anything changes, naming the file and the key path', async () => {
      override({ Services: { AmazonS3: { Endpoints: [{ Region: 'eu-test-1', Hostname: `${s3.url}/` }] } } });
      const r = await cfnInit(meta());
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`${p('cfn', 'endpoints-override.json')}: Services\\.AmazonS3\\.Endpoints\\[0\\]\\.Hostname: expected a host name`));
      assert.ok(!fs.existsSync(p('out')));
      assert.equal(s3.requests.length, 0);
    });
  });
});
