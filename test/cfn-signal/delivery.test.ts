/**
 * Getting the signal accepted once, intact: retries on transient failures
 * deliver exactly one accepted signal, a refusal is final and explained
 * (an expired Heat URL says so), --timeout bounds the retrying, the
 * base64 form of the URL works, and no log or error shows the signature.
 */
import * as assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  answerAccepted,
  answerError,
  atOrigin,
  resetConnection,
  sandbox,
  sequence,
  withServer,
  WIRE_SIGNATURE,
  WIRE_URL,
  type Sandbox,
} from './support';

/** Heat's handle URL with its Timestamp set to `issued` (the signature no longer matches; the test servers do not check it). */
function heatUrlIssuedAt(origin: string, issued: Date): string {
  const u = new URL(atOrigin(WIRE_URL, origin));
  u.searchParams.set('Timestamp', issued.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  return u.href;
}

describe('cfn-signal delivery', function () {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  it('503, then a reset connection, then 200: retried, and exactly one request reached the 200', async () => {
    const statuses: Array<number | 'reset'> = [];
    const handler = sequence(
      [
        (req, res) => {
          statuses.push(503);
          answerError(503, 'ServiceUnavailable', 'Service temporarily unavailable')(req, res);
        },
        (req, res) => {
          statuses.push('reset');
          resetConnection(req, res);
        },
      ],
      (req, res) => {
        statuses.push(200);
        answerAccepted(req, res);
      },
    );
    await withServer(handler, async (server) => {
      const r = await box.run(['-i', 'web1', '-e', '0', atOrigin(WIRE_URL, server.url)]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(statuses, [503, 'reset', 200]);
      assert.equal(server.requests.length, 3);
      // Every attempt is the same signal: same UniqueId, so Heat stores it once whatever arrived.
      const bodies = new Set(server.requests.map((q) => q.body.toString()));
      assert.equal(bodies.size, 1);
      assert.equal([...bodies][0], '{"Status": "SUCCESS", "Reason": "Configuration Complete", "UniqueId": "web1", "Data": "Application has completed configuration."}');
      const log = box.readLog();
      assert.match(log, /HTTP 503 ServiceUnavailable \(attempt 1\/\d+\); retrying in \d+ ms/);
      assert.match(log, /ECONNRESET \(attempt 2\/\d+\); retrying in \d+ ms/);
      assert.match(log, /INFO .*signal SUCCESS \(UniqueId web1\) accepted: HTTP 200/);
      assert.ok(!log.includes(WIRE_SIGNATURE), log);
    });
  });

  it('throttling (400 Throttling, 429) is retried too', async () => {
    await withServer(sequence([answerError(400, 'Throttling', 'Rate exceeded'), answerError(429, 'TooManyRequests', 'slow down')], answerAccepted), async (server) => {
      const r = await box.run(['-i', 'x', atOrigin(WIRE_URL, server.url)]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.length, 3);
    });
  });

  it('a 403 is final: one request, exit 1, the server\'s code and message, no signature anywhere', async () => {
    await withServer(answerError(403, 'AccessDenied', 'User is not authorized to perform action'), async (server) => {
      const r = await box.run(['-i', 'x', atOrigin(WIRE_URL, server.url)]);
      assert.equal(r.status, 1);
      assert.equal(server.requests.length, 1, 'not retried');
      assert.match(r.stderr, /^cfn-signal: signal SUCCESS \(UniqueId x\) was refused by http:\/\/127\.0\.0\.1:\d+\/v1\/waitcondition\/arn%3Aopenstack%3Aheat%3A%3Atenant0%3Astacks\/teststack\/f00dface-0000-4000-8000-000000000000\/resources\/WaitHandle \(not retried\): HTTP 403 AccessDenied: User is not authorized to perform action/);
      const log = box.readLog();
      assert.match(log, /ERROR .*refused .*HTTP 403 AccessDenied/);
      for (const text of [r.stderr, log]) {
        assert.ok(!text.includes(WIRE_SIGNATURE), text);
        assert.ok(!text.includes(decodeURIComponent('sB9zS39JfNLqp8G7ZCzaLWfdKe3DPjWYlCic6nCE2d4%3D')), text);
      }
    });
  });

  it('a handle URL with user:password@: the password is in neither the log nor stderr, written or decoded', async () => {
    // The server's message quotes the decoded password: the URL's password is registered, not only masked in URLs.
    await withServer(answerError(403, 'AccessDenied', 'no user alice with password p@ss/W0rd-77'), async (server) => {
      const withUser = atOrigin(WIRE_URL, server.url).replace('http://', 'http://alice:p%40ss%2FW0rd-77@');
      const r = await box.run(['-v', '-i', 'x', withUser]);
      assert.equal(r.status, 1);
      const log = box.readLog();
      assert.match(log, /sending signal SUCCESS \(UniqueId x\): PUT http:\/\/alice:<redacted>@127\.0\.0\.1:/);
      for (const text of [r.stderr, log]) {
        for (const form of ['p%40ss%2FW0rd-77', 'p@ss/W0rd-77', 'W0rd-77']) assert.ok(!text.includes(form), `${form} in ${text}`);
      }
    });
  });

  it('an expired Heat URL: says when it was issued and that Heat refuses it after 15 minutes', async () => {
    const serverNow = new Date('2030-01-01T12:00:00Z');
    await withServer(answerError(403, 'AccessDenied', 'User is not authorized to perform action', serverNow.toUTCString()), async (server) => {
      const issued = new Date(serverNow.getTime() - 42 * 60_000);
      const r = await box.run(['-i', 'x', heatUrlIssuedAt(server.url, issued)]);
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /HTTP 403 AccessDenied: User is not authorized to perform action; the pre-signed URL was issued at 2030-01-01T11:18:00Z, more than 15 minutes ago \(42 minutes before 2030-01-01T12:00:00Z by the server's clock\); Heat \(keystone's \[credential\] auth_ttl\) refuses signed URLs older than 15 minutes/,
      );
    });
  });

  it('a 403 for a URL still within its 15 minutes does not blame its age', async () => {
    await withServer(answerError(403, 'AccessDenied', 'User is not authorized to perform action'), async (server) => {
      const r = await box.run(['-i', 'x', heatUrlIssuedAt(server.url, new Date(Date.now() - 60_000))]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /HTTP 403 AccessDenied/);
      assert.doesNotMatch(r.stderr, /more than 15 minutes/);
    });
  });

  it('the handle URL base64-encoded (Fn::Base64) is decoded and signalled', async () => {
    await withServer(answerAccepted, async (server) => {
      const url = atOrigin(WIRE_URL, server.url);
      const r = await box.run(['-i', 'x', Buffer.from(url).toString('base64')]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.length, 1);
      assert.equal(`${server.url}${server.requests[0]!.url}`, url);
      assert.match(box.readLog(), /decoded from base64/);
      assert.ok(!box.readLog().includes(WIRE_SIGNATURE));
    });
  });

  it('--timeout bounds the retrying of a server that keeps failing', async () => {
    await withServer(answerError(500, 'InternalFailure', 'The request processing has failed due to an internal error'), async (server) => {
      const t0 = performance.now();
      const r = await box.run(['-i', 'x', '--timeout', '2', atOrigin(WIRE_URL, server.url)]);
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(r.status, 1);
      assert.ok(seconds < 8, `took ${seconds.toFixed(1)} s`);
      assert.ok(server.requests.length >= 2, `${server.requests.length} requests`);
      assert.match(r.stderr, /was not accepted by http:\/\/127\.0\.0\.1:\d+\/v1\/waitcondition\/\S+ within \d+\.\d s of retries: HTTP 500 InternalFailure/);
    });
  });

  it('warnings reach stderr as well as the log; -v echoes the log on stderr', async () => {
    await withServer(answerAccepted, async (server) => {
      const r = await box.run(['-i', 'x', '--exit', '0', '-s', 'maybe', '-v', atOrigin(WIRE_URL, server.url)]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /cfn-signal: warning: --exit is deprecated/);
      assert.match(r.stderr, /DEBUG \[.*\] body: \{"Status": "SUCCESS"/);
      assert.ok(!r.stderr.includes(WIRE_SIGNATURE));
    });
  });

  it('an unreadable -s sends FAILURE (never nothing, never a false SUCCESS)', async () => {
    await withServer(answerAccepted, async (server) => {
      const r = await box.run(['-i', 'x', '-s', 'yes', atOrigin(WIRE_URL, server.url)]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(server.requests[0]!.body.toString(), /^\{"Status": "FAILURE"/);
      assert.match(r.stderr, /-s "yes" is neither true nor false; sending FAILURE/);
    });
  });

  it('usage errors exit 2 and send nothing', async () => {
    await withServer(answerAccepted, async (server) => {
      const url = atOrigin(WIRE_URL, server.url);
      for (const [args, msg] of [
        [['--resource', 'R', url], /either a wait condition handle URL or --resource, not both/],
        [['--resource', 'R'], /--resource needs --stack/],
        [[url, url], /expected one wait condition handle URL, got 2 arguments/],
        [['--timeout', '0', url], /--timeout must be a number of seconds > 0/],
        [['--no-such-flag', url], /Unknown argument/],
      ] as Array<[string[], RegExp]>) {
        const r = await box.run(args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, msg);
      }
      assert.equal(server.requests.length, 0);
    });
  });
});
