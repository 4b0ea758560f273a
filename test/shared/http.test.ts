import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { Clock } from '../../shared/clock';
import { ApiError, ConfigError, NetworkError } from '../../shared/errors';
import { HttpClient, type HttpClientOptions } from '../../shared/http';
import { MemoryLogger } from '../../shared/log';
import type { HttpRequest } from '../../shared/request';
import { startServer, type Handler, type TestServer } from '../support/server';

const throttlingXml =
  '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>';
const xmlError = (code: string, message: string) =>
  `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`;

function reply(res: http.ServerResponse, status: number, body = '', headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/xml', ...headers });
  res.end(body);
}

/** A handler that plays `steps` in order, repeating the last one. */
function script(...steps: Handler[]): Handler {
  let i = 0;
  return (req, res) => steps[Math.min(i++, steps.length - 1)](req, res);
}

const status = (code: number, body = '', headers: http.OutgoingHttpHeaders = {}): Handler => (_req, res) => reply(res, code, body, headers);
const ok: Handler = (_req, res) => reply(res, 200, 'ok', { 'Content-Type': 'text/plain' });
const hang: Handler = () => undefined;
const reset: Handler = (_req, res) => {
  res.socket?.destroy();
};
const truncated: Handler = (_req, res) => {
  res.writeHead(200, { 'Content-Length': '100' });
  res.write('abc', () => res.socket?.destroy());
};

describe('HttpClient', function () {
  this.timeout(5000);
  let server: TestServer | undefined;
  let delays: number[];
  let logger: MemoryLogger;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  beforeEach(() => {
    delays = [];
    logger = new MemoryLogger();
  });

  /** No ambient proxy or CA settings; sleeps are recorded, not waited; jitter fixed at 0.5. */
  function client(opts: HttpClientOptions = {}): HttpClient {
    return new HttpClient({
      transport: { env: {}, systemCaFiles: [] },
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
      logger,
      ...opts,
    });
  }

  async function serve(handler: Handler): Promise<string> {
    server = await startServer(handler);
    return server.url;
  }

  const get = (url: string, headers: Record<string, string> = {}): HttpRequest => ({ method: 'GET', url, headers });

  async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
      await p;
    } catch (err) {
      return err as Error;
    }
    assert.fail('expected the request to fail');
  }

  describe('retries', () => {
    it('503, 503, 200: succeeds on the third attempt after two bounded, jittered delays', async () => {
      const url = await serve(script(status(503), status(503), ok));
      const res = await client().request(get(`${url}/x`));
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'ok');
      assert.equal(res.headers['content-type'], 'text/plain');
      assert.equal(server!.requests.length, 3);
      assert.deepEqual(delays, [250, 500]);
      delays.forEach((d, i) => assert.ok(d <= Math.min(20_000, 500 * 2 ** i)));
      assert.ok(logger.lines.some((l) => /^DEBUG GET http:\/\/127\.0\.0\.1:\d+\/x -> 503 \(attempt 1\/5\)$/.test(l)), logger.lines.join('\n'));
      assert.ok(logger.lines.some((l) => /HTTP 503 HTTP503 \(attempt 2\/5\); retrying in 500 ms/.test(l)), logger.lines.join('\n'));
    });

    it('500 forever: ApiError after maxAttempts', async () => {
      const url = await serve(status(500, xmlError('InternalFailure', 'boom')));
      const err = await rejection(client().request(get(url)));
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 500);
      assert.equal(err.code, 'InternalFailure');
      assert.equal(err.serverMessage, 'boom');
      assert.ok(err.serverDate, 'server Date kept');
      assert.equal(server!.requests.length, 5);
      assert.deepEqual(delays, [250, 500, 1000, 2000]);
    });

    it('Retry-After on 429/503 is waited out when longer than the backoff, within the deadline', async () => {
      const url = await serve(script(status(429, '', { 'Retry-After': '3' }), status(503, '', { 'Retry-After': new Date(Date.now() + 10_000).toUTCString() }), ok));
      assert.equal((await client().request(get(url))).status, 200);
      assert.equal(delays[0], 3000);
      assert.ok(delays[1] > 5000 && delays[1] <= 10_000, `an HTTP date: ${delays[1]}`);
      // Past the deadline: give up at once rather than sleep just to fail.
      delays = [];
      await server!.close();
      const url2 = await serve(status(503, '', { 'Retry-After': '60' }));
      const err = await rejection(client({ retry: { deadlineMs: 5000 } }).request(get(url2)));
      assert.ok(err instanceof ApiError && err.status === 503);
      assert.deepEqual(delays, []);
    });

    it('per-request retry overrides the client policy', async () => {
      const url = await serve(status(502));
      await rejection(client({ retry: { maxAttempts: 4 } }).request(get(url), { retry: { maxAttempts: 2, baseDelayMs: 100 } }));
      assert.equal(server!.requests.length, 2);
      assert.deepEqual(delays, [50]);
    });

    for (const code of [400, 401, 403, 404, 409]) {
      it(`${code}: exactly one attempt`, async () => {
        const url = await serve(status(code, xmlError('ValidationError', 'no')));
        const err = await rejection(client().request(get(url)));
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, code);
        assert.equal(server!.requests.length, 1);
        assert.deepEqual(delays, []);
      });
    }

    it('429 is retried', async () => {
      const url = await serve(script(status(429, '', { 'Content-Type': 'text/plain' }), ok));
      assert.equal((await client().request(get(url))).status, 200);
      assert.equal(server!.requests.length, 2);
    });

    it('a 400 whose XML Code is Throttling is retried', async () => {
      const url = await serve(script(status(400, throttlingXml), status(400, throttlingXml), ok));
      assert.equal((await client().request(get(url))).status, 200);
      assert.equal(server!.requests.length, 3);
    });

    it('connection refused: NetworkError after the retries', async () => {
      const closed = await startServer(ok);
      const url = closed.url;
      await closed.close();
      const err = await rejection(client({ retry: { maxAttempts: 3 } }).request(get(`${url}/path`)));
      assert.ok(err instanceof NetworkError, String(err));
      assert.equal(err.code, 'ECONNREFUSED');
      assert.match(err.message, /connection refused/);
      assert.match(err.message, /gave up after 3 attempts/);
      assert.deepEqual(delays, [250, 500]);
    });

    it('connection reset by the server is retried', async () => {
      const url = await serve(script(reset, ok));
      assert.equal((await client().request(get(url))).status, 200);
      assert.equal(server!.requests.length, 2);
      assert.ok(logger.lines.some((l) => /ECONNRESET \(attempt 1\/5\); retrying/.test(l)), logger.lines.join('\n'));
    });

    it('truncated body (Content-Length larger than sent, then close) is a NetworkError and retried', async () => {
      const url = await serve(script(truncated, ok));
      assert.equal((await client().request(get(url))).body.toString(), 'ok');
      assert.equal(server!.requests.length, 2);
    });

    it('a body truncated on every attempt fails fast, saying how much arrived', async () => {
      const url = await serve(truncated);
      const started = Date.now();
      const err = await rejection(client({ retry: { maxAttempts: 2 } }).request(get(url)));
      assert.ok(err instanceof NetworkError);
      assert.equal(err.code, 'ERR_STREAM_PREMATURE_CLOSE');
      assert.match(err.message, /3 of 100 body bytes/);
      assert.ok(Date.now() - started < 2000, 'not a timeout');
    });
  });

  describe('timeouts and deadline', () => {
    it('a hanging server times out on every attempt with ETIMEDOUT naming the timeout', async () => {
      const url = await serve(hang);
      const err = await rejection(client({ timeoutMs: 100, retry: { maxAttempts: 3 } }).request(get(url)));
      assert.ok(err instanceof NetworkError);
      assert.equal(err.code, 'ETIMEDOUT');
      assert.match(err.message, /timed out after 100 ms/);
      assert.equal(server!.requests.length, 3);
    });

    it('a body that stops arriving also times out', async () => {
      const url = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('abc');
      });
      const err = await rejection(client({ timeoutMs: 100, retry: { maxAttempts: 1 } }).request(get(url)));
      assert.ok(err instanceof NetworkError);
      assert.equal(err.code, 'ETIMEDOUT');
      assert.match(err.message, /reading the body \(3 of 100 body bytes\)/);
    });

    it('a body that drips a byte at a time is cut at the attempt\'s timeout: each byte does not restart it', async () => {
      let sent = 0;
      const drips: NodeJS.Timeout[] = [];
      const url = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Length': '100000' });
        const t = setInterval(() => {
          sent++;
          res.write('x');
        }, 20);
        drips.push(t);
        res.on('close', () => clearInterval(t));
      });
      try {
        const err = await rejection(client({ timeoutMs: 300, retry: { maxAttempts: 1 } }).request(get(url)));
        assert.ok(err instanceof NetworkError);
        assert.equal(err.code, 'ETIMEDOUT');
        assert.match(err.message, /timed out after 300 ms .*reading the body \(\d+ of 100000 body bytes\)/);
        assert.ok(sent > 1, `the server was still dripping (${sent} bytes)`);
      } finally {
        for (const t of drips) clearInterval(t);
      }
    });

    it('the deadline bounds the attempts and shortens the last timeout', async () => {
      const url = await serve(hang);
      const started = Date.now();
      const err = await rejection(client({ timeoutMs: 100, retry: { maxAttempts: 10, baseDelayMs: 0, deadlineMs: 250 } }).request(get(url)));
      assert.ok(err instanceof NetworkError);
      assert.equal(err.code, 'ETIMEDOUT');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 200 && elapsed < 2000, `elapsed ${elapsed}`);
      assert.ok(server!.requests.length <= 3, `${server!.requests.length} attempts`);
    });

    it('the deadline counts the backoff sleeps (monotonic time injected)', async () => {
      const url = await serve(status(503));
      let fake = 0;
      const c = client({
        random: () => 1,
        monotonicMs: () => fake,
        sleep: async (ms) => {
          delays.push(ms);
          fake += ms;
        },
        retry: { maxAttempts: 10, baseDelayMs: 1000, deadlineMs: 4000 },
      });
      await rejection(c.request(get(url)));
      // 1000 + 2000 = 3000 slept; the next 4000 ms delay would cross the deadline.
      assert.deepEqual(delays, [1000, 2000]);
      assert.equal(server!.requests.length, 3);
    });
  });

  describe('signing and clock skew', () => {
    /** A SigV4-like signer: stamps X-Amz-Date and an attempt counter into Authorization. */
    function recordingSigner() {
      const times: Date[] = [];
      const seen: HttpRequest[] = [];
      const signer = async (req: HttpRequest, now: Date) => {
        seen.push(req);
        times.push(now);
        const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
        return { ...req, headers: { ...req.headers, 'X-Amz-Date': amzDate, Authorization: `AWS4-HMAC-SHA256 Signature=sig${times.length}` } };
      };
      return { signer, times, seen };
    }

    const amzDateMs = (v: string | string[] | undefined) =>
      Date.parse(String(v).replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));

    it('calls the signer before every attempt with increasing times, re-signing each retry', async () => {
      const url = await serve(script(status(503), status(503), ok));
      let t = Date.parse('2026-11-24T14:00:00Z');
      const clock = new Clock(() => (t += 1000));
      const { signer, times, seen } = recordingSigner();
      await client({ clock }).request(get(url, { 'X-Caller': 'yes' }), { signer });
      assert.equal(times.length, 3);
      assert.ok(times[0] < times[1] && times[1] < times[2]);
      for (const req of seen) assert.equal(req.headers.Authorization, undefined, 'the signer gets the unsigned request');
      assert.deepEqual(server!.requests.map((r) => r.headers.authorization), ['AWS4-HMAC-SHA256 Signature=sig1', 'AWS4-HMAC-SHA256 Signature=sig2', 'AWS4-HMAC-SHA256 Signature=sig3']);
      assert.equal(new Set(server!.requests.map((r) => r.headers['x-amz-date'])).size, 3);
      assert.equal(server!.requests[0].headers['x-caller'], 'yes');
    });

    it('"Signature expired" with a Date 1 hour ahead: corrects the clock, re-signs, succeeds', async () => {
      const serverNow = () => new Date(Date.now() + 3600_000);
      const url = await serve((req, res) => {
        const skewMs = Math.abs(amzDateMs(req.headers['x-amz-date']) - serverNow().getTime());
        if (skewMs > 60_000) {
          reply(res, 403, xmlError('SignatureDoesNotMatch', 'Signature expired: 20261124T130000Z is now earlier than 20261124T135500Z'), {
            Date: serverNow().toUTCString(),
          });
        } else {
          reply(res, 200, 'ok', { Date: serverNow().toUTCString() });
        }
      });
      const c = client();
      const { signer, times } = recordingSigner();
      const res = await c.request(get(url), { signer });
      assert.equal(res.status, 200);
      assert.equal(server!.requests.length, 2);
      assert.ok(Math.abs(amzDateMs(server!.requests[1].headers['x-amz-date']) - serverNow().getTime()) < 60_000);
      assert.ok(Math.abs(c.clock.offset - 3600_000) < 5000, `offset ${c.clock.offset}`);
      assert.equal(times.length, 2);
      assert.deepEqual(delays, [], 'no backoff for the skew retry');
      const warning = logger.lines.find((l) => l.startsWith('WARNING') && /clock skew/.test(l));
      assert.ok(warning, logger.lines.join('\n'));
      assert.match(warning!, /ahead of this host/);
      assert.match(warning!, /offset 3\d{3} s/);
    });

    it('a plain 403 AccessDenied with a Date 2 hours behind is corrected too (Heat/keystone)', async () => {
      const serverNow = () => new Date(Date.now() - 7200_000);
      const url = await serve((req, res) => {
        const skewMs = Math.abs(amzDateMs(req.headers['x-amz-date']) - serverNow().getTime());
        if (skewMs > 60_000) reply(res, 403, xmlError('AccessDenied', 'User is not authorized to perform action'), { Date: serverNow().toUTCString() });
        else reply(res, 200, 'ok');
      });
      const c = client();
      const { signer } = recordingSigner();
      assert.equal((await c.request(get(url), { signer })).status, 200);
      assert.equal(server!.requests.length, 2);
      assert.ok(Math.abs(c.clock.offset + 7200_000) < 5000);
      assert.ok(logger.lines.some((l) => /WARNING .*clock skew.*behind this host/.test(l)));
    });

    it('a 403 with an accurate Date is not retried and leaves the clock alone', async () => {
      const url = await serve(status(403, xmlError('AccessDenied', 'User is not authorized to perform action')));
      const c = client();
      const err = await rejection(c.request(get(url), { signer: recordingSigner().signer }));
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 'AccessDenied');
      assert.equal(server!.requests.length, 1);
      assert.equal(c.clock.offset, 0);
    });

    it('re-signs after a skew correction only once', async () => {
      const url = await serve((_req, res) =>
        reply(res, 400, xmlError('RequestExpired', 'Request expired or more than 15mins in the future'), { Date: new Date(Date.now() + 3600_000).toUTCString() }),
      );
      const err = await rejection(client().request(get(url), { signer: recordingSigner().signer }));
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 'RequestExpired');
      assert.equal(server!.requests.length, 2);
    });
  });

  describe('redaction', () => {
    const secretQuery = '?Action=Signal&Signature=secretsig&X-Amz-Signature=secretsig2&X-Amz-Security-Token=secrettoken';
    const leaks = (text: string) => /secretsig|secrettoken/.test(text);

    it('API errors and log lines never show URL signatures or tokens', async () => {
      const url = await serve(status(500, xmlError('InternalFailure', `echo ${secretQuery}`)));
      const err = await rejection(client({ retry: { maxAttempts: 2 } }).request(get(`${url}/v1/${secretQuery}`)));
      assert.ok(err instanceof ApiError);
      assert.ok(!leaks(err.message), err.message);
      assert.ok(!leaks(err.url), err.url);
      assert.ok(!leaks(err.serverMessage), err.serverMessage);
      assert.match(err.url, /Signature=<redacted>/);
      assert.ok(logger.lines.length >= 3);
      for (const line of logger.lines) assert.ok(!leaks(line), line);
    });

    it('network errors never show them either', async () => {
      const closed = await startServer(ok);
      await closed.close();
      const err = await rejection(client({ retry: { maxAttempts: 2 } }).request(get(`${closed.url}/${secretQuery}`)));
      assert.ok(err instanceof NetworkError);
      assert.ok(!leaks(err.message), err.message);
      assert.ok(!leaks(err.url));
      for (const line of logger.lines) assert.ok(!leaks(line), line);
    });
  });

  describe('redirects', () => {
    it('follows GET redirects, dropping credentials when the origin changes', async () => {
      const target = await startServer(ok);
      try {
        const url = await serve((req, res) => {
          if (req.url === '/same') return reply(res, 302, '', { Location: '/other' });
          if (req.url === '/other') return reply(res, 301, '', { Location: `${target.url}/final` });
          reply(res, 404);
        });
        const res = await client().request(get(`${url}/same`, { Authorization: 'secret', 'X-Amz-Date': 'd', Accept: 'x' }));
        assert.equal(res.status, 200);
        assert.equal(res.url, `${target.url}/final`);
        assert.equal(server!.requests[1].headers.authorization, 'secret', 'same origin keeps them');
        assert.equal(target.requests[0].headers.authorization, undefined);
        assert.equal(target.requests[0].headers['x-amz-date'], undefined);
        assert.equal(target.requests[0].headers.accept, 'x');
      } finally {
        await target.close();
      }
    });

    it('does not follow redirects for PUT: the 3xx is an error, not retried', async () => {
      const url = await serve(status(307, '', { Location: '/elsewhere' }));
      const err = await rejection(client().request({ method: 'PUT', url, headers: {}, body: '{}' }));
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 307);
      assert.match(err.message, /redirect to \/elsewhere not followed/);
      assert.equal(server!.requests.length, 1);
    });

    it('a redirect to what is not a URL is an error naming it, not retried', async () => {
      const url = await serve(status(301, '', { Location: 'http://[::1' }));
      const err = await rejection(client().request(get(url)));
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 'InvalidRedirect');
      assert.match(err.message, /redirect to "http:\/\/\[::1", which is not a URL/);
      assert.equal(server!.requests.length, 1);
    });

    it('gives up after 5 redirects', async () => {
      const url = await serve((req, res) => reply(res, 302, '', { Location: `/r${req.url.length}` }));
      const err = await rejection(client().request(get(url)));
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 'TooManyRedirects');
      assert.equal(server!.requests.length, 6);
    });
  });

  describe('requests', () => {
    it('a header HTTP does not allow (a control character in a key from an answer) is a ConfigError naming the header, not its value; nothing is sent', async () => {
      const url = await serve(ok);
      const err = await rejection(client().request(get(url, { Authorization: 'AWS4 Credential=AKID\u0001x/secret-ish' })));
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /Authorization/);
      assert.doesNotMatch(err.message, /secret-ish/);
      assert.equal(server!.requests.length, 0);
    });

    it('sends the body with Content-Length and a User-Agent, and keeps caller headers', async () => {
      const url = await serve(ok);
      const body = '{"Status": "SUCCESS", "Reason": "café"}';
      await client({ userAgent: 'cfn-signal/test' }).request({ method: 'PUT', url: `${url}/waitcondition/x`, headers: { 'Content-Type': '' }, body });
      const rec = server!.requests[0];
      assert.equal(rec.method, 'PUT');
      assert.equal(rec.body.toString(), body);
      assert.equal(rec.headers['content-length'], String(Buffer.byteLength(body)));
      assert.equal(rec.headers['user-agent'], 'cfn-signal/test');
    });

    it('a caller User-Agent wins over the client default', async () => {
      const url = await serve(ok);
      await client().request(get(url, { 'user-agent': 'mine' }));
      assert.equal(server!.requests[0].headers['user-agent'], 'mine');
    });

    it('rejects a malformed or non-http URL with ConfigError, without retrying', async () => {
      assert.ok((await rejection(client().request(get('not a url?Signature=secretsig')))) instanceof ConfigError);
      const err = await rejection(client().request(get('ftp://127.0.0.1/x')));
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /unsupported URL scheme ftp:/);
      assert.deepEqual(delays, []);
    });

    it('a signer failure is not retried', async () => {
      const url = await serve(ok);
      const err = await rejection(
        client().request(get(url), {
          signer: async () => {
            throw new Error('no credentials');
          },
        }),
      );
      assert.equal(err.message, 'no credentials');
      assert.equal(server!.requests.length, 0);
    });
  });
});
