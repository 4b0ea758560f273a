/**
 * Every scenario of heat-wire/cfn-signal-*.txt replayed against our
 * cfn-signal: the same command line must put the same request on the wire,
 * byte for byte (method, path and query, body, no Content-Type), except
 * where docs/COMPATIBILITY.md lists a deliberate difference, which is
 * asserted as such here.
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { startFakeImds, closedPort, type FakeImds } from '../support/imds-server';
import { startServer } from '../support/server';
import { answerAccepted, answerError, atOrigin, cfnSignalScenarios, sandbox, WIRE_SIGNATURE, WIRE_UUID, type Sandbox, type WireScenario } from './support';

const scenarios = cfnSignalScenarios();

function label(s: WireScenario): string {
  return `${s.file.replace(/\.txt$/, '')}: cfn-signal ${s.argv.map((a) => (/^http/.test(a) ? 'URL' : JSON.stringify(a))).join(' ')}`;
}

describe('cfn-signal against the heat-wire transcripts', function () {
  let box: Sandbox;
  let imds: FakeImds;
  before(async () => {
    // The transcripts' nova_meta.json uuid, served by a loopback metadata service.
    imds = await startFakeImds({ tokens: 'unsupported', paths: { '/openstack/latest/meta_data.json': { uuid: WIRE_UUID } } });
  });
  after(() => imds.close());
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  it('finds the 14 recorded scenarios', () => {
    assert.equal(scenarios.length, 14, scenarios.map(label).join('\n'));
    assert.equal(scenarios.filter((s) => s.request).length, 11);
  });

  for (const s of scenarios.filter((x) => x.request?.method === 'PUT')) {
    const wire = s.request!;
    it(`same request as heat-cfntools: ${label(s)}`, async () => {
      const forced403 = wire.responseStatus === 403;
      const server = await startServer(forced403 ? answerError(403, 'Forced', 'forced 403') : answerAccepted);
      try {
        const args = s.argv.map((a) => (a.startsWith('http://127.0.0.1:8000/') ? atOrigin(a, server.url) : a));
        const defaultId = !s.argv.includes('-i');
        // cfn-signal-default had nova's uuid; cfn-signal-no-instance-id had no metadata service at all.
        const env = defaultId && s.file === 'cfn-signal-default.txt' ? { AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url } : {};
        const r = await box.run(args, env);

        assert.equal(server.requests.length, 1, `exactly one request\n${r.stderr}`);
        const got = server.requests[0]!;
        assert.equal(got.method, wire.method);
        assert.equal(got.url, wire.target, 'path and query byte for byte');
        assert.equal(got.headers['content-type'], undefined, 'no Content-Type header, as heat-cfntools strips it');
        assert.equal(wire.headers['content-type'], undefined);

        let expected = wire.body.toString('utf8');
        if (s.file === 'cfn-signal-no-instance-id.txt') {
          // heat-cfntools' socket.getfqdn() was "localhost" there; we send os.hostname() (no DNS lookup).
          assert.match(expected, /"UniqueId": "localhost"/);
          expected = expected.replace('"UniqueId": "localhost"', `"UniqueId": ${JSON.stringify(os.hostname())}`);
        }
        if (s.argv.join(' ').includes('-s True')) {
          // Deliberate: heat-cfntools reads only the exact string "true" as success.
          assert.match(expected, /^\{"Status": "FAILURE"/);
          expected = expected.replace('"Status": "FAILURE"', '"Status": "SUCCESS"');
        }
        assert.equal(got.body.toString('utf8'), expected, 'body byte for byte');
        assert.equal(got.headers['content-length'], String(Buffer.byteLength(expected)));

        if (forced403) {
          // Deliberate: heat-cfntools exits 0 on a 403; the signal was not accepted, so we exit 1.
          assert.equal(s.exitCode, 0);
          assert.equal(r.status, 1, r.stderr);
          assert.match(r.stderr, /refused .*HTTP 403 Forced: forced 403/);
        } else {
          assert.equal(r.status, s.exitCode, r.stderr);
          assert.equal(r.stdout, '', 'nothing on stdout, as heat-cfntools');
        }
        if (s.argv.includes('--exit')) assert.match(box.readLog(), /WARNING .*--exit is deprecated/);
        for (const text of [box.readLog(), r.stderr]) {
          assert.ok(!text.includes(WIRE_SIGNATURE), `no signature in:\n${text}`);
        }
      } finally {
        await server.close();
      }
    });
  }

  it('heat-cfntools exits 7 when nothing listens (curl); we retry until --timeout, then exit 1 saying why', async () => {
    const s = scenarios.find((x) => x.argv.includes('http://127.0.0.1:8009/v1/waitcondition/x'))!;
    assert.equal(s.exitCode, 7);
    const port = await closedPort();
    const r = await box.run([...s.argv.slice(0, -1), `http://127.0.0.1:${port}/v1/waitcondition/x`, '--timeout', '2']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /was not delivered within \d+\.\d s: PUT http:\/\/127\.0\.0\.1:\d+\/v1\/waitcondition\/x: connection refused \[ECONNREFUSED\]; gave up after \d+ attempts/);
    assert.ok((box.readLog().match(/retrying in/g) ?? []).length >= 1, box.readLog());
  });

  it('heat-cfntools exits 3 (curl) for "not a url"; we exit 2, a usage error, and send nothing', async () => {
    const s = scenarios.find((x) => x.argv.includes('not a url'))!;
    assert.equal(s.exitCode, 3);
    const r = await box.run(s.argv);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /must be an http\(s\):\/\/ URL or the base64 encoding of one; got "not a url"/);
  });

  it('no URL at all: exit 2 in both', async () => {
    const s = scenarios.find((x) => x.argv.join(' ') === '-i x')!;
    assert.equal(s.exitCode, 2);
    const r = await box.run(s.argv);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no wait condition handle URL and no --resource given/);
  });
});
