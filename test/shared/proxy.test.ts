import * as assert from 'node:assert/strict';
import { ApiError, ConfigError, NetworkError } from '../../shared/errors';
import { HttpClient } from '../../shared/http';
import type { TransportOptions } from '../../shared/transport-options';
import { MemoryLogger } from '../../shared/log';
import { isAlwaysDirect, matchesNoProxy, parseProxyUrl, redactProxyUrl, selectProxy } from '../../shared/proxy';
import { redact } from '../../shared/redact';
import { startProxy, type TestProxy } from '../support/proxy-server';
import { startServer, type Handler, type TestServer } from '../support/server';
import { startHttpsServer, testPki, type TestHttpsServer } from '../support/tls';

describe('proxy selection (pure)', () => {
  const P1 = 'http://p1.example:3128';
  const P2 = 'http://p2.example:3128';

  it('explicit --http-proxy/--https-proxy win over the environment', () => {
    const env = { HTTP_PROXY: P2, HTTPS_PROXY: P2 };
    assert.equal(selectProxy('http://heat.example:8000/v1/', { httpProxy: P1, env }), P1);
    assert.equal(selectProxy('https://heat.example/v1/', { httpsProxy: P1, env }), P1);
    // Each flag is for its own scheme only.
    assert.equal(selectProxy('https://heat.example/v1/', { httpProxy: P1, env }), P2);
    assert.equal(selectProxy('http://heat.example/v1/', { httpsProxy: P1, env }), P2);
  });

  it('an explicit empty proxy means none, whatever the environment says', () => {
    assert.equal(selectProxy('http://heat.example/', { httpProxy: '', env: { HTTP_PROXY: P2 } }), undefined);
  });

  it('reads lower- and upper-case variables, lower-case first, by URL scheme', () => {
    assert.equal(selectProxy('http://h.example/', { env: { http_proxy: P1, HTTP_PROXY: P2 } }), P1);
    assert.equal(selectProxy('http://h.example/', { env: { HTTP_PROXY: P2 } }), P2);
    assert.equal(selectProxy('https://h.example/', { env: { https_proxy: P1, HTTPS_PROXY: P2 } }), P1);
    assert.equal(selectProxy('https://h.example/', { env: { HTTPS_PROXY: P2 } }), P2);
    assert.equal(selectProxy('http://h.example/', { env: { HTTPS_PROXY: P2 } }), undefined);
    assert.equal(selectProxy('https://h.example/', { env: { HTTP_PROXY: P2 } }), undefined);
    assert.equal(selectProxy('http://h.example/', { env: {} }), undefined);
    assert.equal(selectProxy('http://h.example/', { env: { http_proxy: '' } }), undefined);
  });

  it('defaults to process.env', () => {
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = P2;
    try {
      assert.equal(selectProxy(new URL('http://h.example/')), P2);
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
  });

  it('NO_PROXY bypasses, also for explicit proxies; no_proxy wins over NO_PROXY', () => {
    const t = (url: string, noProxy: string): string | undefined => selectProxy(url, { httpProxy: P1, httpsProxy: P1, env: { NO_PROXY: noProxy } });
    assert.equal(t('http://heat.internal:8000/', 'heat.internal'), undefined);
    assert.equal(t('http://other.internal:8000/', 'heat.internal'), P1);
    assert.equal(selectProxy('http://a/', { httpProxy: P1, env: { no_proxy: 'a', NO_PROXY: 'b' } }), undefined);
    assert.equal(selectProxy('http://b/', { httpProxy: P1, env: { no_proxy: 'a', NO_PROXY: 'b' } }), P1);
  });

  it('NO_PROXY forms: *, domains with and without a dot, host:port, IPs, CIDR, IPv6', () => {
    const m = (host: string, port: string, list: string) => matchesNoProxy(host, port, list);
    assert.ok(m('anything.example', '80', '*'));
    assert.ok(m('example.com', '80', 'example.com'));
    assert.ok(m('api.example.com', '80', 'example.com'));
    assert.ok(m('api.example.com', '80', '.example.com'));
    assert.ok(m('example.com', '80', '.example.com'));
    assert.ok(m('a.b.example.com', '80', '*.example.com'));
    assert.ok(!m('notexample.com', '80', 'example.com'));
    assert.ok(!m('example.com.evil', '80', 'example.com'));
    assert.ok(m('API.Example.COM', '80', 'example.com'), 'case-insensitive');
    assert.ok(m('example.com.', '80', 'example.com'), 'trailing dot');
    assert.ok(m('heat.internal', '8000', 'other, heat.internal:8000 ,x'));
    assert.ok(!m('heat.internal', '8004', 'heat.internal:8000'));
    assert.ok(m('127.0.0.1', '80', '127.0.0.1'));
    assert.ok(!m('10.0.0.1', '80', '0.0.1'), 'IP addresses are not suffix-matched');
    assert.ok(m('10.1.2.3', '80', '192.168.0.0/16,10.0.0.0/8'));
    assert.ok(!m('11.0.0.1', '80', '10.0.0.0/8'));
    assert.ok(!m('10.example', '80', '10.0.0.0/8'));
    assert.ok(!m('10.1.2.3', '80', '10.0.0.0/99'), 'a malformed prefix matches nothing');
    assert.ok(m('[::1]', '80', '::1'));
    assert.ok(m('[::1]', '8000', '[::1]:8000'));
    assert.ok(m('[fd00::5]', '80', 'fd00::/8'));
    assert.ok(!m('h.example', '80', ' , ,'));
  });

  it('the metadata service (and link-local) is never proxied, whatever is configured', () => {
    const all: TransportOptions = { httpProxy: P1, httpsProxy: P1, env: { HTTP_PROXY: P2, HTTPS_PROXY: P2 } };
    assert.equal(selectProxy('http://169.254.169.254/latest/api/token', all), undefined);
    assert.equal(selectProxy('http://169.254.169.254/openstack/latest/meta_data.json', { env: { http_proxy: P2 } }), undefined);
    assert.equal(selectProxy('http://[fd00:ec2::254]/latest/meta-data/', all), undefined);
    assert.equal(selectProxy('http://169.254.170.2/v2/credentials', all), undefined);
    assert.ok(isAlwaysDirect('[fe80::1]'));
    assert.ok(!isAlwaysDirect('169.255.0.1'));
    assert.ok(!isAlwaysDirect('metadata.example'));
    assert.equal(selectProxy('http://169.255.0.1/', all), P1);
  });

  it('redacts proxy passwords and parses proxy settings', () => {
    assert.equal(redactProxyUrl('http://user:s3cret@proxy:3128'), 'http://user:<redacted>@proxy:3128');
    assert.equal(redactProxyUrl('user:s3cret@proxy:3128'), 'user:<redacted>@proxy:3128');
    assert.equal(redactProxyUrl('http://user:p@ss@proxy:3128/'), 'http://user:<redacted>@proxy:3128/');
    assert.equal(redactProxyUrl('http://user@proxy:3128'), 'http://user@proxy:3128');
    assert.equal(redactProxyUrl('http://proxy:3128'), 'http://proxy:3128');
    assert.equal(parseProxyUrl('proxy.example:3128').href, 'http://proxy.example:3128/');
    assert.throws(() => parseProxyUrl('socks5://user:sockspw@proxy:1080'), (e: unknown) => e instanceof ConfigError && /unsupported proxy scheme socks5:/.test(e.message) && !e.message.includes('sockspw'));
    assert.throws(() => parseProxyUrl('http://user:pw@[bad'), ConfigError);
    parseProxyUrl('http://u:registered-proxy-pw@proxy:3128');
    assert.equal(redact('oops registered-proxy-pw'), 'oops <redacted>', 'the password is masked everywhere once seen');
  });
});

const text = (body: string): Handler => (_req, res) => {
  res.end(body);
};

describe('proxies (loopback)', function () {
  this.timeout(10000);
  let proxy: TestProxy | undefined;
  let target: TestServer | undefined;
  let tlsTarget: TestHttpsServer | undefined;
  let logger: MemoryLogger;

  beforeEach(() => {
    logger = new MemoryLogger();
  });
  afterEach(async () => {
    await Promise.all([proxy?.close(), target?.close(), tlsTarget?.close()]);
    proxy = target = tlsTarget = undefined;
  });

  const client = (transport: TransportOptions) =>
    new HttpClient({ transport: { systemCaFiles: [], ...transport }, logger, sleep: async () => undefined, random: () => 0.5, retry: { maxAttempts: 2 } });

  it('sends an http URL through the proxy as an absolute URI', async () => {
    proxy = await startProxy();
    target = await startServer(text('proxied ok'));
    const res = await client({ env: { HTTP_PROXY: proxy.url } }).request({ method: 'GET', url: `${target.url}/v1/?Action=X`, headers: {} });
    assert.equal(res.body.toString(), 'proxied ok');
    assert.deepEqual(proxy.requests.map((r) => [r.method, r.url]), [['GET', `${target.url}/v1/?Action=X`]]);
    assert.equal(target.requests.length, 1);
    assert.ok(logger.lines.some((l) => l.includes(`via proxy ${proxy!.url}`)), logger.lines.join('\n'));
  });

  it('tunnels an https URL with CONNECT and verifies the server with the CA bundle', async () => {
    proxy = await startProxy();
    tlsTarget = await startHttpsServer();
    const res = await client({ httpsProxy: proxy.url, caBundle: testPki().caFile, env: {} }).request({ method: 'GET', url: `${tlsTarget.url}/secure`, headers: {} });
    assert.equal(res.body.toString(), 'secure ok');
    assert.deepEqual(proxy.requests.map((r) => [r.method, r.url]), [['CONNECT', `127.0.0.1:${tlsTarget.port}`]]);
    assert.equal(tlsTarget.requests[0].url, '/secure');
  });

  it('verifies the server behind a CONNECT tunnel too: no CA bundle, no connection', async () => {
    proxy = await startProxy();
    tlsTarget = await startHttpsServer();
    await assert.rejects(client({ httpsProxy: proxy.url, env: {} }).request({ method: 'GET', url: tlsTarget.url, headers: {} }), (err: unknown) => {
      assert.ok(err instanceof NetworkError);
      assert.match(err.message, /certificate/);
      return true;
    });
    assert.equal(tlsTarget.requests.length, 0);
    assert.equal(proxy.requests.length, 1, 'a certificate error is not retried');
  });

  it('--insecure applies behind a CONNECT tunnel too', async () => {
    proxy = await startProxy();
    tlsTarget = await startHttpsServer();
    const res = await client({ httpsProxy: proxy.url, insecure: true, env: {} }).request({ method: 'GET', url: tlsTarget.url, headers: {} });
    assert.equal(res.body.toString(), 'secure ok');
    assert.equal(proxy.requests[0].method, 'CONNECT');
  });

  it('NO_PROXY=127.0.0.1 makes the request go direct', async () => {
    proxy = await startProxy();
    target = await startServer(text('direct'));
    const res = await client({ env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } }).request({ method: 'GET', url: target.url, headers: {} });
    assert.equal(res.body.toString(), 'direct');
    assert.equal(proxy.requests.length, 0);
    assert.equal(target.requests.length, 1);
  });

  it('authenticates to the proxy with user:pass from the URL and never logs the password', async () => {
    const pass = 'pr0xy-P@ss';
    proxy = await startProxy({ auth: { user: 'agent', pass } });
    target = await startServer(text('authed'));
    tlsTarget = await startHttpsServer();
    const proxyUrl = `http://agent:${encodeURIComponent(pass)}@127.0.0.1:${proxy.port}`;
    const c = client({ httpProxy: proxyUrl, httpsProxy: proxyUrl, caBundle: testPki().caFile, env: {} });
    assert.equal((await c.request({ method: 'GET', url: target.url, headers: {} })).body.toString(), 'authed');
    assert.equal((await c.request({ method: 'GET', url: tlsTarget.url, headers: {} })).body.toString(), 'secure ok');
    const expected = `Basic ${Buffer.from(`agent:${pass}`).toString('base64')}`;
    assert.deepEqual(proxy.requests.map((r) => [r.method, r.headers['proxy-authorization']]), [
      ['GET', expected],
      ['CONNECT', expected],
    ]);
    assert.equal(target.requests[0].headers['proxy-authorization'], undefined, 'not forwarded to the server');
    assert.ok(logger.lines.some((l) => l.includes('via proxy http://agent:<redacted>@127.0.0.1')), logger.lines.join('\n'));
    for (const line of logger.lines) assert.ok(!line.includes(pass) && !line.includes(encodeURIComponent(pass)), line);
  });

  it('a wrong proxy password is a 407 that is not retried, and the error hides the password', async () => {
    proxy = await startProxy({ auth: { user: 'agent', pass: 'right' } });
    target = await startServer(text('never'));
    const proxyUrl = `http://agent:wrong-pw-123@127.0.0.1:${proxy.port}`;
    await assert.rejects(client({ httpProxy: proxyUrl, env: {} }).request({ method: 'GET', url: target.url, headers: {} }), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 407);
      assert.ok(!err.message.includes('wrong-pw-123'));
      return true;
    });
    assert.equal(proxy.requests.length, 1);
    assert.equal(target.requests.length, 0);
    for (const line of logger.lines) assert.ok(!line.includes('wrong-pw-123'), line);
  });

  it('an unreachable proxy is a retried NetworkError naming the proxy, password redacted', async () => {
    const dead = await startProxy();
    await dead.close();
    const proxyUrl = `http://agent:dead-pw-456@127.0.0.1:${dead.port}`;
    await assert.rejects(client({ httpProxy: proxyUrl, env: {} }).request({ method: 'GET', url: 'http://127.0.0.1:9/', headers: {} }), (err: unknown) => {
      assert.ok(err instanceof NetworkError);
      assert.equal(err.code, 'ECONNREFUSED');
      assert.match(err.message, /via proxy http:\/\/agent:<redacted>@127\.0\.0\.1/);
      assert.match(err.message, /gave up after 2 attempts/);
      assert.ok(!err.message.includes('dead-pw-456'));
      return true;
    });
  });

  it('a malformed --http-proxy is a ConfigError when the client is made', () => {
    assert.throws(() => new HttpClient({ transport: { httpProxy: 'socks5://127.0.0.1:1080', env: {} } }), ConfigError);
  });
});
