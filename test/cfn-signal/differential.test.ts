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
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE } from '../support/cli';
import type { DriverCase, DriverPlan, DriverResult } from './hct-driver';
import { WIRE_SIGNATURE, WIRE_URL } from './support';

const HCT = '/usr/bin/cfn-signal';
const NS_HOSTNAME = 'cfnsig-ns-test';
const OUR_LOG = '/var/log/cfntools-cfn-signal.log';

function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux namespaces; this is ${process.platform}`;
  if (!fs.existsSync(HCT)) return `${HCT} is not installed (Debian package heat-cfntools; scripts/install-test-deps.sh)`;
  if (process.getuid?.() !== 0) return 'needs root for unshare -n -m -u';
  const probe = spawnSync('unshare', ['-n', '-m', '-u', '--', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `unshare -n -m -u with ip does not work here: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

function requirePrerequisites(ctx: Mocha.Context): void {
  const missing = missingPrerequisite();
  if (!missing) return;
  if (process.env.CI === 'true') throw new Error(`cfn-signal differential tests cannot run: ${missing}`);
  console.log(`      cfn-signal differential: skipped: ${missing}`);
  ctx.skip();
}

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
    requirePrerequisites(this);
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
      const r = spawnSync(
        'unshare',
        ['-n', '-m', '-u', '--', 'sh', '-c', script, 'sh', logDir, libDir, NS_HOSTNAME, process.execPath, path.join(__dirname, 'hct-driver.js'), planFile],
        { encoding: 'utf8', timeout: 110_000, maxBuffer: 16 * 1024 * 1024 },
      );
      if (r.error || r.status !== 0) throw new Error(`driver failed (status ${r.status}): ${r.error?.message ?? ''}\n${r.stderr}`);
      results = new Map((JSON.parse(r.stdout) as DriverResult[]).map((x) => [x.name, x]));
      hctLog = fs.readFileSync(path.join(logDir, 'cfn-signal.log'), 'utf8');
      ourLog = fs.readFileSync(path.join(logDir, path.basename(OUR_LOG)), 'utf8');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  function pair(name: string): { ours: DriverResult; hct: DriverResult } {
    const ours = results.get(`ours ${name}`)!;
    const hct = results.get(`hct ${name}`)!;
    assert.equal(hct.status, 0, `heat-cfntools: ${hct.stderr}`);
    assert.equal(ours.status, 0, `ours: ${ours.stderr}`);
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
