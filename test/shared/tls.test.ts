import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
    assert.equal(settings.extraCaPems.length, 0);
    assert.match(settings.warnings[0], /cannot read system CA bundle/);
  });
});
