import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CredentialError } from '../../shared/errors';
import { MemoryLogger } from '../../shared/log';
import { ImdsClient } from '../../shared/credentials/imds';
import { credentialProvider, NoCredentialsError, resolveCredentials, type CredentialOptions } from '../../shared/credentials/resolve';
import { closedPort, roleDocument, ROLE_PATH, startFakeImds, type FakeImds } from '../support/imds-server';

const AKID = 'AKIDEXAMPLE0000000000000000000001';
const SECRET = 'SeCrEt/Key+With=Chars!';
const ENV_KEYS = { AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'env/secret+key', AWS_SESSION_TOKEN: 'env-session-token' };
const MIN = 60_000;

describe('credential resolution', () => {
  let fake: FakeImds;
  let dir: string;
  let credFile: string;
  const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-resolve-'));
    credFile = path.join(dir, 'cfn-credentials');
    fs.writeFileSync(credFile, `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, { mode: 0o600 });
    fake = await startFakeImds({ roles: { web: roleDocument(new Date(T0 + 60 * MIN)) } });
  });
  afterEach(async () => {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Options whose metadata service is always the loopback fake. */
  function opts(extra: CredentialOptions = {}, env: NodeJS.ProcessEnv = {}): CredentialOptions {
    return { env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url, ...env }, now: () => T0, ...extra };
  }

  describe('order', () => {
    it('explicit keys beat the file, the role and the environment', async () => {
      const c = await resolveCredentials(opts({ accessKey: 'AKIDCLI', secretKey: 'cli-secret', sessionToken: 'cli-token', credentialFile: credFile, role: 'web' }, ENV_KEYS));
      assert.deepEqual(c, { accessKeyId: 'AKIDCLI', secretAccessKey: 'cli-secret', sessionToken: 'cli-token', source: '--access-key' });
      assert.equal(fake.requests.length, 0);
    });

    it('the credential file beats a role and the environment', async () => {
      const c = await resolveCredentials(opts({ credentialFile: credFile, role: 'web' }, ENV_KEYS));
      assert.deepEqual(c, { accessKeyId: AKID, secretAccessKey: SECRET, source: `file ${credFile}` });
      assert.equal(fake.requests.length, 0);
    });

    it('a named role beats the environment (what was typed wins)', async () => {
      const c = await resolveCredentials(opts({ role: 'web' }, ENV_KEYS));
      assert.equal(c.source, 'role web');
      assert.equal(c.accessKeyId, fake.config.roles.web!.AccessKeyId);
    });

    it('the environment beats the attached role, without asking the metadata service', async () => {
      const c = await resolveCredentials(opts({}, ENV_KEYS));
      assert.deepEqual(c, { accessKeyId: 'AKIDFROMENV', secretAccessKey: 'env/secret+key', sessionToken: 'env-session-token', source: 'env' });
      assert.equal(fake.requests.length, 0);
    });

    it('with nothing configured, the attached role is found through the listing', async () => {
      fake.config.roles = { 'app-role': roleDocument(new Date(T0 + 60 * MIN)), second: roleDocument(new Date(T0 + 60 * MIN), '2') };
      const c = await resolveCredentials(opts());
      assert.equal(c.source, 'role app-role');
      assert.equal(c.secretAccessKey, fake.config.roles['app-role']!.SecretAccessKey);
      assert.equal(fake.count('GET', ROLE_PATH), 1);
      assert.equal(fake.count('GET', `${ROLE_PATH}app-role`), 1);
    });
  });

  describe('a named source that fails is an error, not a fall-through', () => {
    it('a credential file without keys', async () => {
      fs.writeFileSync(credFile, 'nothing here\n');
      await assert.rejects(resolveCredentials(opts({ credentialFile: credFile }, ENV_KEYS)), new RegExp(`credential file ${credFile} has no AWSAccessKeyId line`));
      assert.equal(fake.requests.length, 0);
    });

    it('a missing credential file', async () => {
      await assert.rejects(resolveCredentials(opts({ credentialFile: '/nonexistent/creds' }, ENV_KEYS)), /credential file \/nonexistent\/creds does not exist/);
    });

    it('a world-writable credential file', async () => {
      fs.chmodSync(credFile, 0o666);
      await assert.rejects(resolveCredentials(opts({ credentialFile: credFile }, ENV_KEYS)), new RegExp(`chmod 600 ${credFile}$`));
    });

    it('a named role the metadata service does not know', async () => {
      await assert.rejects(resolveCredentials(opts({ role: 'nope' }, ENV_KEYS)), (err: unknown) => {
        assert.ok(err instanceof CredentialError && !(err instanceof NoCredentialsError));
        assert.match(err.message, /^cannot get credentials of instance role nope: the metadata service has no credentials for instance role nope/);
        return true;
      });
    });

    it('a named role while the metadata service is disabled', async () => {
      await assert.rejects(resolveCredentials(opts({ role: 'web' }, { AWS_EC2_METADATA_DISABLED: 'true' })), /instance role web: the instance metadata service is disabled/);
      assert.equal(fake.requests.length, 0);
    });
  });

  describe('half a key pair is an error', () => {
    const cases: Array<[string, CredentialOptions, NodeJS.ProcessEnv, RegExp]> = [
      ['--access-key alone', { accessKey: 'AKID' }, ENV_KEYS, /^--access-key given without --secret-key$/],
      ['--secret-key alone', { secretKey: 'secret' }, ENV_KEYS, /^--secret-key given without --access-key$/],
      ['--session-token alone', { sessionToken: 'tok' }, ENV_KEYS, /^--session-token given without --access-key$/],
      ['AWS_ACCESS_KEY_ID alone', {}, { AWS_ACCESS_KEY_ID: 'AKID' }, /^AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not$/],
      ['AWS_SECRET_ACCESS_KEY alone', {}, { AWS_SECRET_ACCESS_KEY: 'secret' }, /^AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not$/],
    ];
    for (const [name, o, env, re] of cases) {
      it(name, async () => {
        await assert.rejects(resolveCredentials(opts(o, env)), (err: unknown) => err instanceof CredentialError && re.test(err.message));
        assert.equal(fake.requests.length, 0);
      });
    }

    it('empty environment variables count as unset', async () => {
      const c = await resolveCredentials(opts({}, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }));
      assert.equal(c.source, 'role web');
    });
  });

  describe('nothing found', () => {
    it('lists what was tried when no role is attached', async () => {
      fake.config.roles = {};
      await assert.rejects(resolveCredentials(opts()), (err: unknown) => {
        assert.ok(err instanceof NoCredentialsError);
        assert.equal(
          err.message,
          'no credentials found; tried: --access-key/--secret-key (not given); credential file (not given); ' +
            'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set); instance role (no instance role is attached to this instance)',
        );
        return true;
      });
    });

    it('says the metadata service is disabled, and sends nothing', async () => {
      await assert.rejects(resolveCredentials(opts({}, { AWS_EC2_METADATA_DISABLED: 'TRUE' })), (err: unknown) => {
        assert.ok(err instanceof NoCredentialsError);
        assert.match(err.message, /instance role \(the instance metadata service is disabled \(AWS_EC2_METADATA_DISABLED=true\)\)$/);
        return true;
      });
      assert.equal(fake.requests.length, 0);
    });

    it('says the metadata service is unreachable, quickly (default timeouts and retries)', async () => {
      const port = await closedPort();
      const t0 = Date.now();
      await assert.rejects(
        resolveCredentials({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}` } }),
        (err: unknown) => err instanceof NoCredentialsError && new RegExp(`metadata service at http://127.0.0.1:${port} is unreachable`).test(err.message),
      );
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    });
  });

  describe('caching provider', () => {
    it('resolves lazily, once, for static keys', async () => {
      const p = credentialProvider(opts({ credentialFile: credFile }));
      fs.rmSync(credFile);
      await assert.rejects(p.get(), /does not exist/);
      fs.writeFileSync(credFile, `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, { mode: 0o600 });
      const a = await p.get();
      fs.rmSync(credFile);
      assert.equal(await p.get(), a);
    });

    it('keeps role credentials until 5 minutes before Expiration, then refreshes', async () => {
      let now = T0;
      fake.config.roles.web = roleDocument(new Date(T0 + 10 * MIN), 'A');
      const p = credentialProvider(opts({ now: () => now }));
      const first = await p.get();
      assert.equal(first.accessKeyId, 'ASIAROLEKEYA');
      assert.deepEqual(first.expiration, new Date(T0 + 10 * MIN));
      const seen = fake.requests.length;

      now = T0 + 4 * MIN;
      assert.equal(await p.get(), first);
      assert.equal(fake.requests.length, seen, 'no request while the credentials are fresh');

      fake.config.roles.web = roleDocument(new Date(T0 + 70 * MIN), 'B');
      now = T0 + 6 * MIN;
      const second = await p.get();
      assert.equal(second.accessKeyId, 'ASIAROLEKEYB');
      assert.equal(fake.count('GET', `${ROLE_PATH}web`), 2);
      assert.equal(fake.count('PUT'), 1, 'the IMDSv2 token is reused across refreshes');
    });

    it('a named role is refreshed too', async () => {
      let now = T0;
      fake.config.roles.web = roleDocument(new Date(T0 + 10 * MIN), 'A');
      const p = credentialProvider(opts({ role: 'web', now: () => now }));
      await p.get();
      now = T0 + 5 * MIN + 1;
      fake.config.roles.web = roleDocument(new Date(T0 + 70 * MIN), 'B');
      assert.equal((await p.get()).accessKeyId, 'ASIAROLEKEYB');
      assert.equal(fake.count('GET', ROLE_PATH), 0);
    });

    it('if a refresh fails, keeps using unexpired credentials with a warning; after expiry it fails', async () => {
      let now = T0;
      fake.config.roles.web = roleDocument(new Date(T0 + 10 * MIN), 'A');
      const log = new MemoryLogger();
      const imds = new ImdsClient({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url }, sleep: async () => {}, now: () => now });
      const p = credentialProvider(opts({ role: 'web', imds, logger: log, now: () => now }));
      const first = await p.get();
      fake.config.failWith[`${ROLE_PATH}web`] = [500, 500, 500];
      now = T0 + 7 * MIN;
      assert.equal(await p.get(), first);
      assert.ok(log.lines.some((l) => /^WARNING cannot refresh credentials \(.*HTTP 500.*\); using those from role web until they expire at 2030-01-01T12:10:00.000Z$/.test(l)), log.lines.join('\n'));
      fake.config.roles = {};
      now = T0 + 10 * MIN;
      await assert.rejects(p.get(), /no credentials for instance role web/);
    });

    it('concurrent get() calls share one resolution', async () => {
      const p = credentialProvider(opts());
      const all = await Promise.all([p.get(), p.get(), p.get()]);
      assert.ok(all.every((c) => c === all[0]));
      assert.equal(fake.count('GET', `${ROLE_PATH}web`), 1);
      assert.equal(fake.count('PUT'), 1);
    });
  });

  describe('redaction', () => {
    it('role secret key, session token and IMDS token never reach the log', async () => {
      const doc = roleDocument(new Date(T0 + 60 * MIN), 'R');
      fake.config.roles = { web: doc };
      fake.config.tokens = 'required';
      const log = new MemoryLogger();
      const p = credentialProvider(opts({ logger: log }));
      const creds = await p.get();
      // log everything we hold, as a careless caller might
      log.debug(`resolved ${JSON.stringify(creds)}; IMDS token ${fake.tokensIssued[0]}`);
      log.error(`${creds.secretAccessKey}|${creds.sessionToken}`);
      const text = log.lines.join('\n');
      assert.ok(log.lines.some((l) => l.includes('using credentials from role web (access key ASIAROLEKEYR)')), text);
      for (const secret of [doc.SecretAccessKey!, doc.Token!, fake.tokensIssued[0]!]) assert.ok(!text.includes(secret), `leaked ${secret}`);
      assert.ok(text.includes('ERROR <redacted>|<redacted>'));
    });
  });
});
