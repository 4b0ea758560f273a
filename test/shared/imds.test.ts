import * as assert from 'node:assert/strict';
import { ConfigError, CredentialError } from '../../shared/errors';
import { MemoryLogger } from '../../shared/log';
import {
  DEFAULT_IMDS_ENDPOINT,
  ImdsClient,
  ImdsError,
  imdsEndpoint,
  isImdsNotFound,
  parseRoleCredentials,
  type ImdsOptions,
} from '../../shared/credentials/imds';
import { closedPort, roleDocument, ROLE_PATH, startFakeImds, type FakeImds } from '../support/imds-server';
import { startServer, type TestServer } from '../support/server';

const TOKEN_PATH = '/latest/api/token';
const ID_PATH = '/latest/meta-data/instance-id';
const OS_PATH = '/openstack/latest/meta_data.json';

describe('instance metadata service client', () => {
  let fake: FakeImds;
  let sleeps: number[];
  afterEach(async () => {
    await fake?.close();
  });

  /** A client of `fake` that never sleeps for real. */
  function client(extra: Partial<ImdsOptions> = {}): ImdsClient {
    sleeps = [];
    return new ImdsClient({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url },
      timeoutMs: 300,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...extra,
    });
  }

  describe('endpoint', () => {
    it('defaults to 169.254.169.254 and is moved or disabled by the AWS_EC2_METADATA_* variables', () => {
      assert.equal(imdsEndpoint({}), DEFAULT_IMDS_ENDPOINT);
      assert.equal(DEFAULT_IMDS_ENDPOINT, 'http://169.254.169.254');
      assert.equal(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1234/' }), 'http://127.0.0.1:1234');
      assert.equal(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' }), 'http://[fd00:ec2::254]');
      for (const v of ['true', 'TRUE', ' True ']) assert.equal(imdsEndpoint({ AWS_EC2_METADATA_DISABLED: v }), undefined);
      assert.equal(imdsEndpoint({ AWS_EC2_METADATA_DISABLED: 'false' }), DEFAULT_IMDS_ENDPOINT);
    });

    it('rejects an endpoint that is not an http:// URL', () => {
      assert.throws(() => imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'not a url' }), ConfigError);
      assert.throws(() => imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'https://127.0.0.1:1' }), /must be an http:\/\/ URL/);
    });
  });

  describe('IMDSv2', () => {
    it('fetches one token with a 21600 s TTL and reuses it across calls', async () => {
      fake = await startFakeImds({ tokens: 'required' });
      const c = client();
      for (let i = 0; i < 3; i++) assert.equal(await c.get(ID_PATH), 'i-0123456789abcdef0');
      assert.equal(fake.count('PUT', TOKEN_PATH), 1);
      const put = fake.requests.find((r) => r.method === 'PUT')!;
      assert.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
      const gets = fake.requests.filter((r) => r.method === 'GET');
      assert.equal(gets.length, 3);
      for (const g of gets) assert.equal(g.headers['x-aws-ec2-metadata-token'], fake.tokensIssued[0]);
    });

    it('fetches a new token when the old one is about to run out', async () => {
      fake = await startFakeImds({ tokens: 'required' });
      let now = 1_000_000;
      const c = client({ now: () => now });
      await c.get(ID_PATH);
      now += 21600_000 - 61_000;
      await c.get(ID_PATH);
      assert.equal(fake.count('PUT', TOKEN_PATH), 1);
      now += 2_000;
      await c.get(ID_PATH);
      assert.equal(fake.count('PUT', TOKEN_PATH), 2);
      assert.equal(fake.requests.at(-1)!.headers['x-aws-ec2-metadata-token'], fake.tokensIssued[1]);
    });

    it('honours a shorter TTL granted by the service', async () => {
      fake = await startFakeImds({ tokens: 'required', grantTtlSeconds: 120 });
      let now = 0;
      const c = client({ now: () => now });
      await c.get(ID_PATH);
      now = 80_000;
      await c.get(ID_PATH);
      assert.equal(fake.count('PUT', TOKEN_PATH), 1);
      now = 95_000; // within 30 s (a quarter of the TTL) of the end
      await c.get(ID_PATH);
      assert.equal(fake.count('PUT', TOKEN_PATH), 2);
    });

    it('on a 401 fetches a new token once and retries', async () => {
      fake = await startFakeImds({ tokens: 'required' });
      const c = client();
      await c.get(ID_PATH);
      fake.expireTokens();
      assert.equal(await c.get(ID_PATH), 'i-0123456789abcdef0');
      assert.equal(fake.count('PUT', TOKEN_PATH), 2);
      assert.deepEqual(
        fake.requests.map((r) => r.method),
        ['PUT', 'GET', 'GET', 'PUT', 'GET'],
      );
    });

    it('gives up after one renewal when even a fresh token gets 401', async () => {
      fake = await startFakeImds({ tokens: 'required', reject401: 5 });
      const c = client();
      await assert.rejects(c.get(ID_PATH), (err: unknown) => err instanceof ImdsError && err.status === 401 && /fresh IMDSv2 token/.test(err.message));
      assert.equal(fake.count('GET'), 2);
      assert.equal(fake.count('PUT'), 2);
    });

    for (const status of [405, 404, 403]) {
      it(`falls back to IMDSv1 when the token request answers ${status}, and remembers it`, async () => {
        fake = await startFakeImds({ tokens: 'unsupported', putStatus: status });
        const log = new MemoryLogger();
        const c = client({ logger: log });
        assert.equal(await c.get(ID_PATH), 'i-0123456789abcdef0');
        assert.equal(await c.get(ID_PATH), 'i-0123456789abcdef0');
        assert.equal(fake.count('PUT'), 1);
        for (const r of fake.requests.filter((r) => r.method === 'GET')) assert.equal(r.headers['x-aws-ec2-metadata-token'], undefined);
        assert.ok(log.lines.some((l) => l.includes(`answered HTTP ${status}`) && l.includes('IMDSv1')));
      });
    }

    it('falls back to IMDSv1 when the token request times out, and hints at the hop limit', async () => {
      fake = await startFakeImds({ hang: new Set([`PUT ${TOKEN_PATH}`]) });
      const log = new MemoryLogger();
      const c = client({ logger: log, timeoutMs: 150 });
      const t0 = Date.now();
      assert.equal(await c.get(ID_PATH), 'i-0123456789abcdef0');
      assert.ok(Date.now() - t0 < 1500);
      assert.equal(fake.count('PUT'), 1, 'the token request is not retried');
      assert.ok(log.lines.some((l) => l.startsWith('DEBUG') && /hop limit/.test(l) && /HttpPutResponseHopLimit/.test(l)), log.lines.join('\n'));
    });

    it('switches back to tokens when a v1 request gets 401 (HttpTokens turned to required)', async () => {
      fake = await startFakeImds({ tokens: 'unsupported' });
      const c = client();
      await c.get(ID_PATH);
      fake.config.tokens = 'required';
      assert.equal(await c.get(ID_PATH), 'i-0123456789abcdef0');
      assert.equal(fake.count('PUT'), 2);
      assert.equal(fake.requests.at(-1)!.headers['x-aws-ec2-metadata-token'], fake.tokensIssued[0]);
    });

    it('explains a 401 when v2 is required but no token could be had', async () => {
      fake = await startFakeImds({ tokens: 'required', hang: new Set([`PUT ${TOKEN_PATH}`]) });
      const c = client({ timeoutMs: 100 });
      await assert.rejects(c.get(ID_PATH), /HTTP 401: it requires an IMDSv2 token, but none could be obtained \(IMDSv2 token request got no answer within 100 ms/);
    });
  });

  describe('transport', () => {
    it('never goes through a proxy, whatever HTTP_PROXY/http_proxy say', async () => {
      const proxy: TestServer = await startServer((_req, res) => {
        res.writeHead(502);
        res.end('proxied');
      });
      try {
        fake = await startFakeImds({ roles: { web: roleDocument(new Date(Date.now() + 3600_000)) } });
        const env = {
          AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url,
          HTTP_PROXY: proxy.url,
          http_proxy: proxy.url,
          HTTPS_PROXY: proxy.url,
          https_proxy: proxy.url,
          ALL_PROXY: proxy.url,
        };
        const c = new ImdsClient({ env, sleep: async () => {} });
        assert.equal((await c.roleCredentials()).source, 'role web');
        assert.equal(await c.instanceId(), 'i-0123456789abcdef0');
        assert.equal(proxy.requests.length, 0);
        assert.ok(fake.count('PUT', TOKEN_PATH) >= 1);
      } finally {
        await proxy.close();
      }
    });

    it('when disabled, every call fails at once without any request', async () => {
      fake = await startFakeImds({ roles: { web: roleDocument(new Date(Date.now() + 3600_000)) } });
      const c = new ImdsClient({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url, AWS_EC2_METADATA_DISABLED: 'True' } });
      assert.equal(c.disabled, true);
      for (const call of [() => c.get(ID_PATH), () => c.roleCredentials(), () => c.roleCredentials('web'), () => c.instanceId(), () => c.openstackMetadata()]) {
        await assert.rejects(call(), (err: unknown) => err instanceof ImdsError && err.reason === 'disabled' && /disabled \(AWS_EC2_METADATA_DISABLED=true\)/.test(err.message));
      }
      assert.equal(fake.requests.length, 0);
    });

    it('reports an unreachable service after a few quick, jittered attempts', async () => {
      fake = await startFakeImds();
      const port = await closedPort();
      const c = new ImdsClient({
        env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}` },
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        random: () => 0.5,
      });
      sleeps = [];
      const t0 = Date.now();
      await assert.rejects(c.get(ID_PATH), (err: unknown) => {
        assert.ok(err instanceof ImdsError);
        assert.equal(err.reason, 'unreachable');
        assert.match(err.message, new RegExp(`metadata service at http://127.0.0.1:${port} is unreachable: GET ${ID_PATH}: .*ECONNREFUSED.*\\(3 attempts\\)`));
        return true;
      });
      assert.deepEqual(sleeps, [100, 200]);
      assert.ok(Date.now() - t0 < 1000);
    });

    it('times out a hanging answer on every attempt, bounded', async () => {
      fake = await startFakeImds({ tokens: 'unsupported', hang: new Set([ID_PATH]) });
      const c = client({ timeoutMs: 100, maxAttempts: 2 });
      const t0 = Date.now();
      await assert.rejects(c.get(ID_PATH), /unreachable: GET \/latest\/meta-data\/instance-id: no answer within 100 ms \(2 attempts\)/);
      assert.equal(fake.count('GET', ID_PATH), 2);
      assert.ok(Date.now() - t0 < 1500);
    });

    it('answers within the timeout are fine even when slow', async () => {
      fake = await startFakeImds({ delayMs: { [ID_PATH]: 50 } });
      assert.equal(await client({ timeoutMs: 500 }).get(ID_PATH), 'i-0123456789abcdef0');
    });

    it('retries 5xx, then succeeds', async () => {
      fake = await startFakeImds({ failWith: { [ID_PATH]: [500, 503] } });
      assert.equal(await client().get(ID_PATH), 'i-0123456789abcdef0');
      assert.equal(fake.count('GET', ID_PATH), 3);
      assert.equal(sleeps.length, 2);
    });

    it('gives up on persistent 5xx after maxAttempts', async () => {
      fake = await startFakeImds({ failWith: { [ID_PATH]: [500, 500, 500, 500] } });
      await assert.rejects(client().get(ID_PATH), (err: unknown) => err instanceof ImdsError && err.reason === 'http' && err.status === 500);
      assert.equal(fake.count('GET', ID_PATH), 3);
    });

    it('a 404 is a typed not-found error, not retried', async () => {
      fake = await startFakeImds();
      await assert.rejects(client().get('/latest/meta-data/nothing'), (err: unknown) => isImdsNotFound(err) && err.path === '/latest/meta-data/nothing');
      assert.equal(fake.count('GET'), 1);
    });
  });

  describe('role credentials', () => {
    it('takes the first role of the listing and parses its credentials', async () => {
      const exp = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
      const doc = roleDocument(exp);
      fake = await startFakeImds({ tokens: 'required', roles: { web: doc, other: roleDocument(exp, '2') } });
      const creds = await client().roleCredentials();
      assert.deepEqual(creds, {
        accessKeyId: doc.AccessKeyId,
        secretAccessKey: doc.SecretAccessKey,
        sessionToken: doc.Token,
        expiration: exp,
        source: 'role web',
      });
      assert.equal(fake.count('GET', ROLE_PATH), 1);
      assert.equal(fake.count('GET', `${ROLE_PATH}web`), 1);
    });

    it('fetches a named role directly', async () => {
      fake = await startFakeImds({ roles: { 'my role': roleDocument(new Date(Date.now() + 3600_000)) } });
      assert.equal((await client().roleCredentials('my role')).source, 'role my role');
      assert.equal(fake.count('GET', ROLE_PATH), 0);
      assert.equal(fake.count('GET', `${ROLE_PATH}my%20role`), 1);
    });

    it('says when no role is attached, or the named one is unknown', async () => {
      fake = await startFakeImds();
      await assert.rejects(client().roleCredentials(), (err: unknown) => isImdsNotFound(err) && /no instance role is attached/.test(err.message));
      fake.config.paths[ROLE_PATH] = '\n';
      await assert.rejects(client().roleCredentials(), /no instance role is attached to this instance \(empty role listing\)/);
      await assert.rejects(client().roleCredentials('nope'), /has no credentials for instance role nope/);
    });

    it('refuses a document whose Code is not Success', async () => {
      fake = await startFakeImds({ roles: { web: { Code: 'AssumeRoleUnauthorizedAccess', Message: 'not allowed' } } });
      await assert.rejects(client().roleCredentials(), (err: unknown) => {
        assert.ok(err instanceof CredentialError);
        assert.match(err.message, /no usable credentials for instance role web \(AssumeRoleUnauthorizedAccess: not allowed\)/);
        return true;
      });
    });

    it('parseRoleCredentials checks shape, keys and Expiration', () => {
      assert.throws(() => parseRoleCredentials('<html>', 'r'), /instance role r .* not valid JSON: syntax error at offset 0$/);
      assert.throws(() => parseRoleCredentials('[]', 'r'), /not a JSON object/);
      assert.throws(() => parseRoleCredentials('{"Code":"Success","AccessKeyId":"A"}', 'r'), /lack AccessKeyId or SecretAccessKey/);
      assert.throws(() => parseRoleCredentials('{"Code":"Success","AccessKeyId":"A","SecretAccessKey":"Secret1","Expiration":"soon"}', 'r'), /Expiration is not a date: soon/);
      assert.deepEqual(parseRoleCredentials('{"Code":"Success","AccessKeyId":"A","SecretAccessKey":"Secret1"}', 'r'), {
        accessKeyId: 'A',
        secretAccessKey: 'Secret1',
        source: 'role r',
      });
    });
  });

  describe('instance id and OpenStack metadata', () => {
    const NOVA = { uuid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', name: 'web', meta: { 'metering.stack': 'f00dface', AutoScalingGroupName: 'asg1' } };

    it('uses the EC2 instance id when there is one', async () => {
      fake = await startFakeImds({ paths: { [ID_PATH]: 'i-0abc\n', [OS_PATH]: NOVA } });
      assert.equal(await client().instanceId(), 'i-0abc');
      assert.equal(fake.count('GET', OS_PATH), 0);
    });

    it('falls back to nova\'s uuid (OpenStack, IMDSv2 unknown)', async () => {
      fake = await startFakeImds({ tokens: 'unsupported', putStatus: 404, paths: { [OS_PATH]: NOVA } });
      const c = client();
      assert.equal(await c.instanceId(), NOVA.uuid);
      assert.deepEqual(await c.openstackMetadata(), NOVA);
    });

    it('says so when neither exists', async () => {
      fake = await startFakeImds({ paths: {} });
      await assert.rejects(client().instanceId(), (err: unknown) => isImdsNotFound(err) && /gives no instance id/.test(err.message));
      assert.equal(await client().openstackMetadata(), undefined);
    });

    it('meta_data.json that is not a JSON object is a protocol error', async () => {
      fake = await startFakeImds({ paths: { [OS_PATH]: '<html>oops</html>' } });
      await assert.rejects(client().openstackMetadata(), (err: unknown) => err instanceof ImdsError && err.reason === 'protocol');
      fake.config.paths[OS_PATH] = '[1]';
      await assert.rejects(client().openstackMetadata(), /not a JSON object/);
    });
  });

  describe('redaction', () => {
    it('registers the token and the role secrets so logs never show them', async () => {
      const doc = roleDocument(new Date(Date.now() + 3600_000));
      fake = await startFakeImds({ roles: { web: doc } });
      const log = new MemoryLogger();
      const c = client({ logger: log });
      const creds = await c.roleCredentials();
      log.debug(`creds ${JSON.stringify(creds)} token ${fake.tokensIssued[0]}`);
      const text = log.lines.join('\n');
      assert.ok(text.includes(doc.AccessKeyId!), 'the access key id is not secret');
      for (const secret of [doc.SecretAccessKey!, doc.Token!, fake.tokensIssued[0]!]) assert.ok(!text.includes(secret), `leaked ${secret}`);
    });
  });
});
