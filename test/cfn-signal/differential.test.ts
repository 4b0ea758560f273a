/**
 * Differential: the real heat-cfntools cfn-signal (Debian's
 * /usr/bin/cfn-signal, which shells out to curl) and ours, run side by side
 * on the same command lines, must put the same request on the wire.
 *
 * heat-cfntools looks for 169.254.169.254 by itself, so both run inside a
 * private network namespace with only `lo` (`unshare -n`): no packet can
 * leave. The same namespace gets its own mounts (its hard-wired
 * /var/log/cfn-signal.log and /var/lib/heat-cfntools land in a temporary
 * folder) and its own host name, so the no-`-i` fallback is comparable.
 * Needs root and util-linux unshare; skipped otherwise (an error in CI).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE } from '../support/cli';
import { namespaceMissing, pairOf, runInNamespace } from '../support/namespace';
import { skipUnless } from '../support/skip';
import type { DriverCase, DriverPlan, DriverResult } from './hct-driver';
import { WIRE_SIGNATURE, WIRE_URL } from './support';

const HCT = '/usr/bin/cfn-signal';
const NS_HOSTNAME = 'cfnsig-ns-test';
const OUR_LOG = '/var/log/cfntools-cfn-signal.log';

const NS_FLAGS = ['-n', '-m', '-u'];

/** The flag sets compared, the last two without -i. */
const FLAG_SETS: Array<{ name: string; args: string[] }> = [
  { name: 'plain -i', args: ['-i', 'x'] },
  { name: '-s false -r -d -i', args: ['-s', 'false', '-r', 'Something broke', '-d', 'some data', '-i', 'my-id-1'] },
  { name: '-e 0 -s false', args: ['-e', '0', '-s', 'false', '-i', 'x'] },
  { name: '-e 1 -s true', args: ['-e', '1', '-s', 'true', '-i', 'x'] },
  { name: "-e '' -s false", args: ['-e', '', '-s', 'false', '-i', 'x'] },
  { name: '--exit 0', args: ['--exit', '0', '-i', 'x'] },
  { name: '-k, non-ASCII and JSON-looking data', args: ['-k', '-i', 'ünïcode "quoted"', '-r', 'Reason with ünïcode', '-d', '{"json": "in data"}'] },
  { name: '-s True (deliberate difference)', args: ['-s', 'True', '-i', 'x'] },
  { name: 'no -i: metadata service unreachable, host name fallback', args: [] },
];

describe('cfn-signal differential against heat-cfntools (unshare -n)', function () {
  this.timeout(120_000);
  let results: Map<string, DriverResult>;
  let hctLog: string;
  let ourLog: string;

  before(function () {
    skipUnless(this, 'cfn-signal differential', namespaceMissing(HCT, NS_FLAGS));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-signal-diff-'));
    try {
      const logDir = path.join(tmp, 'log');
      const libDir = path.join(tmp, 'lib');
      fs.mkdirSync(logDir);
      fs.mkdirSync(path.join(libDir, 'heat-cfntools'), { recursive: true });
      const hctEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
      // No AWS_EC2_METADATA_DISABLED: ours must look for the metadata service, as heat-cfntools does.
      const ourEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
      const cases: DriverCase[] = [
        { name: 'fqdn', command: ['/usr/bin/python3', '-c', 'import socket; print(socket.getfqdn())'], env: hctEnv },
        { name: 'hostname', command: [process.execPath, '-e', 'console.log(require("os").hostname())'], env: ourEnv },
      ];
      for (const f of FLAG_SETS) {
        cases.push({ name: `ours ${f.name}`, command: [process.execPath, BUNDLE, 'cfn-signal', '--log-file', OUR_LOG, ...f.args, 'URL'], env: ourEnv });
        cases.push({ name: `hct ${f.name}`, command: [HCT, ...f.args, 'URL'], env: hctEnv });
      }
      const u = new URL(WIRE_URL);
      const plan: DriverPlan = { pathAndQuery: u.pathname + u.search, cases };
      const planFile = path.join(tmp, 'plan.json');
      fs.writeFileSync(planFile, JSON.stringify(plan));
      const script = 'set -e; ip link set lo up; mount --bind "$1" /var/log; mount --bind "$2" /var/lib; hostname "$3"; shift 3; exec "$@"';
      const out = runInNamespace(NS_FLAGS, script, [logDir, libDir, NS_HOSTNAME, process.execPath, path.join(__dirname, 'hct-driver.js'), planFile]);
      results = new Map((JSON.parse(out) as DriverResult[]).map((x) => [x.name, x]));
      hctLog = fs.readFileSync(path.join(logDir, 'cfn-signal.log'), 'utf8');
      ourLog = fs.readFileSync(path.join(logDir, path.basename(OUR_LOG)), 'utf8');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  function pair(name: string): { ours: DriverResult; hct: DriverResult } {
    const { ours, hct } = pairOf(results, name);
    assert.equal(hct.requests.length, 1, 'heat-cfntools sent one request');
    assert.equal(ours.requests.length, 1, `ours sent one request: ${ours.stderr}`);
    return { ours, hct };
  }

  const body = (r: DriverResult) => Buffer.from(r.requests[0]!.bodyBase64, 'base64').toString('utf8');

  for (const f of FLAG_SETS.slice(0, 7)) {
    it(`same request: ${f.name}`, () => {
      const { ours, hct } = pair(f.name);
      const [o, h] = [ours.requests[0]!, hct.requests[0]!];
      assert.equal(o.method, 'PUT');
      assert.equal(o.method, h.method);
      assert.equal(o.url, h.url, 'path and query');
      assert.equal(body(ours), body(hct), 'body byte for byte');
      assert.equal(h.headers['content-type'], undefined);
      assert.equal(o.headers['content-type'], undefined);
      assert.equal(o.headers['content-length'], h.headers['content-length']);
    });
  }

  it('-s True: heat-cfntools sends FAILURE (case-sensitive), we send SUCCESS; the rest is identical', () => {
    const { ours, hct } = pair('-s True (deliberate difference)');
    assert.match(body(hct), /^\{"Status": "FAILURE"/);
    assert.equal(body(ours), body(hct).replace('"Status": "FAILURE"', '"Status": "SUCCESS"'));
  });

  it('no -i: both find no metadata service and fall back to the host name', () => {
    const { ours, hct } = pair('no -i: metadata service unreachable, host name fallback');
    const fqdn = results.get('fqdn')!.stdout.trim();
    const hostname = results.get('hostname')!.stdout.trim();
    assert.equal(hostname, NS_HOSTNAME);
    assert.equal(JSON.parse(body(hct)).UniqueId, fqdn, 'heat-cfntools: socket.getfqdn()');
    assert.equal(JSON.parse(body(ours)).UniqueId, hostname, 'ours: os.hostname()');
    if (fqdn === hostname) assert.equal(body(ours), body(hct), 'byte for byte when the two names agree');
    assert.match(hctLog, /ERROR .*Could not get the instance id from metadata!/);
    assert.match(ourLog, /WARNING .*could not get the instance id from the metadata service; using the host name cfnsig-ns-test/);
  });

  it("heat-cfntools' log holds the pre-signed URL's signature; ours never does", () => {
    assert.ok(hctLog.includes(WIRE_SIGNATURE), 'heat-cfntools leaks it (the issue this replaces)');
    assert.ok(ourLog.length > 0);
    assert.ok(!ourLog.includes(WIRE_SIGNATURE), ourLog);
  });
});
