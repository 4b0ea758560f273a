import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ConfigError, NetworkError } from '../../shared/errors';
import { HttpClient } from '../../shared/http';
import type { TransportOptions } from '../../shared/transport-options';
import { MemoryLogger } from '../../shared/log';
import { isCertificateError, resolveTls } from '../../shared/tls';
import { startHttpsServer, testPki, type TestHttpsServer } from '../support/tls';

describe('TLS verification (loopback HTTPS, throw-away CA)', function () {
  this.timeout(10000);
  let server: TestHttpsServer;
  let logger: MemoryLogger;
  let delays: number[];
  let dir: string;

  before(async () => {
    server = await startHttpsServer();
  });
  after(() => server.close());
  beforeEach(() => {
    logger = new MemoryLogger();
    delays = [];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-tls-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const client = (transport: TransportOptions) =>
    new HttpClient({
      transport: { env: {}, systemCaFiles: [], ...transport },
      logger,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
  const get = (c: HttpClient) => c.request({ method: 'GET', url: `${server.url}/x`, headers: {} });

  it('fails verification by default, saying it is a certificate problem, without retrying', async () => {
    const before = server.requests.length;
    await assert.rejects(get(client({})), (err: unknown) => {
      assert.ok(err instanceof NetworkError, String(err));
      assert.ok(isCertificateError(err.code), err.code);
      assert.match(err.message, /TLS certificate verification failed/);
      assert.match(err.message, /--ca-bundle/);
      return true;
    });
    assert.deepEqual(delays, []);
    assert.equal(server.requests.length, before);
  });

  it('succeeds with --ca-bundle', async () => {
    const res = await get(client({ caBundle: testPki().caFile }));
    assert.equal(res.body.toString(), 'secure ok');
  });

  it('succeeds with AWS_CA_BUNDLE from the environment', async () => {
    const res = await get(client({ env: { AWS_CA_BUNDLE: testPki().caFile } }));
    assert.equal(res.body.toString(), 'secure ok');
  });

  it('an explicit --ca-bundle wins over AWS_CA_BUNDLE', async () => {
    const res = await get(client({ caBundle: testPki().caFile, env: { AWS_CA_BUNDLE: path.join(dir, 'missing.pem') } }));
    assert.equal(res.status, 200);
  });

  it('trusts a CA installed in the system bundle', async () => {
    const res = await get(client({ systemCaFiles: [path.join(dir, 'absent.crt'), testPki().caFile] }));
    assert.equal(res.status, 200);
  });

  it('keeps trusting the public roots when a bundle is given', () => {
    const settings = resolveTls({ caBundle: testPki().caFile, env: {}, systemCaFiles: [] });
    assert.deepEqual(settings.caSources, [testPki().caFile]);
    assert.equal(settings.rejectUnauthorized, true);
  });

  it('succeeds with --insecure, warning once per client', async () => {
    const c = client({ insecure: true });
    assert.equal((await get(c)).status, 200);
    assert.equal((await get(c)).status, 200);
    const warnings = logger.lines.filter((l) => l.startsWith('WARNING'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /verification is disabled/);
  });

  it('a missing bundle file is a ConfigError naming the file', () => {
    const missing = path.join(dir, 'no-such-ca.pem');
    assert.throws(() => client({ caBundle: missing }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, missing);
      assert.ok(err.message.includes(missing));
      assert.match(err.message, /--ca-bundle.*ENOENT/);
      return true;
    });
    assert.throws(() => client({ env: { AWS_CA_BUNDLE: missing } }), /AWS_CA_BUNDLE/);
  });

  it('a bundle without any PEM certificate is a ConfigError naming the file', () => {
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate\n');
    assert.throws(() => client({ caBundle: junk }), (err: unknown) => err instanceof ConfigError && err.file === junk && /no PEM certificate/.test(err.message));
  });

  it('an unreadable system bundle is a warning, not an error', () => {
    const settings = resolveTls({ env: {}, systemCaFiles: [dir] });
    assert.equal(settings.caPems.length, 0);
    assert.match(settings.warnings[0], /system CA bundle is a directory, not a regular file: refused; not using it/);
  });

  describe("aws-cfn-bootstrap's CA override", () => {
    /** A CA that did not sign the test server's certificate: one of Node's public roots. */
    const otherCa = () => {
      const file = path.join(dir, 'other-ca.pem');
      fs.writeFileSync(file, tls.rootCertificates[0]);
      return file;
    };
    /** `<dir>/cfn/ca-override.pem` holding `pem`, and the env that makes `<dir>/cfn` the cfn directory. */
    const overrideFile = (pem: string) => {
      fs.mkdirSync(path.join(dir, 'cfn'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'cfn', 'ca-override.pem'), pem);
      return { file: path.join(dir, 'cfn', 'ca-override.pem'), env: { CFNTOOLS_CFN_DIR: path.join(dir, 'cfn') } };
    };
    const rejectsCertificate = async (c: HttpClient, mention: RegExp) =>
      assert.rejects(get(c), (err: unknown) => {
        assert.ok(err instanceof NetworkError && isCertificateError(err.code), String(err));
        assert.match(err.message, mention);
        return true;
      });

    it('ca-override.pem in the cfn directory is trusted in the handshake', async () => {
      const { env } = overrideFile(testPki().ca);
      assert.equal((await get(client({ env }))).body.toString(), 'secure ok');
    });

    it('CA_OVERRIDE is trusted, and wins over ca-override.pem', async () => {
      assert.equal((await get(client({ env: { CA_OVERRIDE: testPki().caFile } }))).status, 200);
      const { env } = overrideFile(tls.rootCertificates[0]);
      assert.equal((await get(client({ env: { ...env, CA_OVERRIDE: testPki().caFile } }))).status, 200);
    });

    it('replaces the trust store: the system bundle and NODE_EXTRA_CA_CERTS no longer count, and the error says so', async () => {
      const system = { systemCaFiles: [testPki().caFile] };
      assert.equal((await get(client(system))).status, 200, 'control: the system bundle alone is trusted');
      const { file, env } = overrideFile(tls.rootCertificates[0]);
      await rejectsCertificate(client({ ...system, env }), new RegExp(`only the CA override ${file} is trusted`));
      const withExtra = { ...env, NODE_EXTRA_CA_CERTS: testPki().caFile };
      await rejectsCertificate(client({ ...system, env: withExtra }), /CA override/);
      const settings = resolveTls({ ...system, env: withExtra });
      assert.deepEqual(settings.caSources, [file]);
      assert.equal(settings.override, file);
      assert.match(settings.warnings.join('\n'), /not using NODE_EXTRA_CA_CERTS .*whole trust store/);
    });

    it('--ca-bundle, then AWS_CA_BUNDLE, win over CA_OVERRIDE and the file, which are then not read', async () => {
      const { env } = overrideFile('not a certificate\n');
      const overridden = { ...env, CA_OVERRIDE: otherCa() };
      assert.equal((await get(client({ caBundle: testPki().caFile, env: overridden }))).status, 200);
      assert.equal((await get(client({ env: { ...overridden, AWS_CA_BUNDLE: testPki().caFile } }))).status, 200);
      assert.equal((await get(client({ env: { ...env, AWS_CA_BUNDLE: testPki().caFile } }))).status, 200, 'a broken override file is not read');
      assert.equal(resolveTls({ caBundle: testPki().caFile, env: overridden, systemCaFiles: [] }).override, undefined);
      // And the override, when it decides, is what failed.
      await rejectsCertificate(client({ env: overridden }), /CA override/);
    });

    it('no override file: the system store, as before', () => {
      const settings = resolveTls({ env: { CFNTOOLS_CFN_DIR: path.join(dir, 'absent') }, systemCaFiles: [testPki().caFile] });
      assert.deepEqual(settings.caSources, [testPki().caFile]);
      assert.equal(settings.override, undefined);
    });

    it('an override that cannot be read or holds no certificate is a ConfigError naming the file, never skipped', () => {
      const missing = path.join(dir, 'missing.pem');
      assert.throws(() => client({ env: { CA_OVERRIDE: missing } }), (err: unknown) => {
        assert.ok(err instanceof ConfigError && err.file === missing, String(err));
        assert.match(err.message, /CA_OVERRIDE \(ENOENT\)/);
        return true;
      });
      const { file, env } = overrideFile('not a certificate\n');
      assert.throws(() => client({ env }), (err: unknown) => err instanceof ConfigError && err.file === file && /CA override file contains no PEM certificate/.test(err.message));
      fs.rmSync(file);
      fs.mkdirSync(file);
      assert.throws(() => client({ env }), (err: unknown) => err instanceof ConfigError && err.file === file && /CA override file is a directory, not a regular file: refused/.test(err.message));
    });
  });
});
