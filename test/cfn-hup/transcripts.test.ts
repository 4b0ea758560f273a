/**
 * cfn-hup on the inputs of the heat-wire cfn-hup transcripts (heat-cfntools
 * 1.4.2's cfn-hup.conf and hooks, the answers its server gave): the same
 * DescribeStackResource requests on the wire, the same hooks fired where
 * heat-cfntools is right, and the deliberate differences (docs/COMPATIBILITY.md)
 * asserted as such.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type TestServer } from '../support/server';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';
import { HEAT_WIRE } from '../support/sigv-transcript';

interface Recorded {
  target: string;
  status: number;
  contentType: string;
  body: string;
}

/** The requests and answers of a transcript, in order. */
function recorded(file: string): Recorded[] {
  const text = fs.readFileSync(path.join(HEAT_WIRE, file), 'utf8');
  return [...text.matchAll(/--- request line\nGET (\S+) HTTP\/1\.1\n[\s\S]*?--- response: (\d+) (\S+)\n([^\n]*)\n/g)].map((m) => ({ target: m[1], status: Number(m[2]), contentType: m[3], body: m[4] }));
}

const setup = (name: string) => fs.readFileSync(path.join(HEAT_WIRE, 'setup', name), 'utf8');

describe('cfn-hup on the heat-wire transcripts', function () {
  this.timeout(30_000);
  let dir: string;
  let server: TestServer;
  /** What the server answers for each resource now. */
  let answers: Map<string, Recorded>;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-wire-'));
    fs.chmodSync(dir, 0o755);
    answers = new Map();
    server = await startServer((req, res) => {
      const resource = new URL(req.url, 'http://x').searchParams.get('LogicalResourceId') ?? '';
      const a = answers.get(resource);
      res.writeHead(a?.status ?? 404, { 'content-type': a?.contentType ?? 'text/plain' });
      res.end(a?.body ?? 'no answer');
    });
    const out = path.join(dir, 'out');
    fs.mkdirSync(out, { mode: 0o777 });
    fs.chmodSync(out, 0o777);
    fs.mkdirSync(path.join(dir, 'etc', 'hooks.d'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'creds'), setup('etc-cfn-cfn-credentials'), { mode: 0o600 });
    const main = setup('etc-cfn-cfn-hup.conf').replace('/etc/cfn/cfn-credentials', path.join(dir, 'creds'));
    fs.writeFileSync(path.join(dir, 'etc', 'cfn-hup.conf'), `${main}url=${server.url}/v1/\nsplay=0\n`, { mode: 0o644 });
    for (const hooks of ['db', 'webserver']) {
      const text = setup(`etc-cfn-hooks.d-${hooks}.conf`).replaceAll('/tmp/cfn-example/out', out);
      fs.writeFileSync(path.join(dir, 'etc', 'hooks.d', `${hooks}.conf`), text, { mode: 0o644 });
    }
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const answer = (file: string, index = 0) => {
    for (const r of recorded(file).slice(index)) answers.set(new URL(r.target, 'http://x').searchParams.get('LogicalResourceId') ?? '', r);
  };
  const hooksLog = () => (fs.existsSync(path.join(dir, 'out', 'hooks.log')) ? fs.readFileSync(path.join(dir, 'out', 'hooks.log'), 'utf8').split('\n').filter(Boolean) : []);
  const log = () => fs.readFileSync(path.join(dir, 'cfn-hup.log'), 'utf8');
  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runProcess([process.execPath, BUNDLE, 'cfn-hup', '--log-file', path.join(dir, 'cfn-hup.log'), ...args], {
      cwd: dir,
      env: toolEnv({ CFNTOOLS_CFN_DIR: path.join(dir, 'etc'), CFNTOOLS_HUP_STATE_DIR: path.join(dir, 'state'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), ...extraEnv }),
    });

  it('puts the same DescribeStackResource requests on the wire, path and query byte for byte, each resource once per check, in hook file order', async () => {
    answer('cfn-hup-two-resources-and-services.txt');
    const r = await run(['-f', '-v']);
    assert.equal(r.status, 0, r.stderr + log());
    const expected = recorded('cfn-hup-two-resources-and-services.txt').slice(0, 2).map((x) => x.target);
    assert.deepEqual(expected, ['/v1/?Action=DescribeStackResource&ContentType=JSON&LogicalResourceId=Db&StackName=teststack&Version=2010-05-15', '/v1/?Action=DescribeStackResource&ContentType=JSON&LogicalResourceId=WebServer&StackName=teststack&Version=2010-05-15']);
    assert.deepEqual(server.requests.map((q) => q.url), expected);
    assert.match(String(server.requests[0].headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE0000000000000000000001\//);
  });

  it('first, unchanged and changed runs (run1, run2, run3): heat-cfntools fires post.update without a baseline; we record it, fire post.add, then the same as heat-cfntools', async function () {
    if (process.getuid?.() !== 0) this.skip();
    answer('cfn-hup-run1-first.txt');
    fs.rmSync(path.join(dir, 'etc', 'hooks.d', 'db.conf'));
    const first = await run(['-f', '-v']);
    assert.equal(first.status, 0, first.stderr + log());
    // heat-cfntools (run1): webserver-update and webserver-as-nobody fired, both as uid 0.
    assert.deepEqual(hooksLog(), ['webserver-as-nobody fired: uid=65534 euid=65534'], `post.add only, really as nobody\n${log()}`);

    answer('cfn-hup-run2-unchanged.txt');
    assert.equal((await run(['-f'])).status, 0);
    assert.equal(hooksLog().length, 1, 'unchanged: nothing fires, as in run2');

    answer('cfn-hup-run3-changed.txt');
    assert.equal((await run(['-f'])).status, 0);
    const fired = hooksLog().slice(1);
    assert.equal(fired.length, 2, 'changed: both post.update hooks fire, as in run3');
    assert.match(fired[0], /^webserver-update fired: uid=0 euid=0 HOME=\S+ PWD=/);
    assert.equal(fired[1], 'webserver-as-nobody fired: uid=65534 euid=65534');
  });

  it('two resources watched: heat-cfntools fires post.update on every check (a shared cache); we fire nothing for unchanged metadata', async () => {
    answer('cfn-hup-two-resources-and-services.txt');
    // A service manager that knows no cfnfakesvc, as in the recording.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'service'), '#!/bin/sh\necho "$1: unrecognized service" >&2\nexit 1\n', { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    for (let i = 0; i < 3; i++) assert.equal((await run(['-f'], env)).status, 0, log());
    assert.deepEqual(hooksLog(), ['webserver-as-nobody fired: uid=65534 euid=65534'], 'post.add once, at the first sighting; heat-cfntools wrote db-update, webserver-update, webserver-as-nobody and service.restarted on each of the three checks');
    assert.match(log(), /WARNING .*service cfnfakesvc did not start: .*service cfnfakesvc start exited 1/, 'a service that cannot start is reported; service.restarted does not fire for it');
  });

  it('service.restarted: an ensureRunning service found stopped is started and the hook runs with CFN_SERVICE', async () => {
    answer('cfn-hup-two-resources-and-services.txt');
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const flag = path.join(dir, 'running');
    fs.writeFileSync(path.join(bin, 'service'), `#!/bin/sh\ncase "$2" in status) test -e ${flag};; start) touch ${flag};; *) exit 2;; esac\n`, { mode: 0o755 });
    fs.appendFileSync(path.join(dir, 'etc', 'hooks.d', 'webserver.conf'), `[svc-name]\ntriggers=service.restarted\npath=Resources.WebServer.Metadata\naction=echo "restarted $CFN_SERVICE" >> ${path.join(dir, 'out', 'hooks.log')}\n`);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    assert.equal((await run(['-f'], env)).status, 0, log());
    assert.deepEqual(hooksLog(), ['webserver-as-nobody fired: uid=65534 euid=65534', 'service.restarted hook fired', 'restarted cfnfakesvc'], 'post.add at the first sighting, then the restart');
    assert.equal((await run(['-f'], env)).status, 0);
    assert.equal(hooksLog().length, 3, 'running now: nothing to restart');
  });

  it('the error runs of cfn-hup-errors.txt: exit 1 as heat-cfntools, with the reason on stderr and in the log', async () => {
    fs.renameSync(path.join(dir, 'etc', 'cfn-hup.conf'), path.join(dir, 'cfn-hup.conf.away'));
    let r = await run([]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cfn-hup\.conf: cannot open the main configuration: no such file/);
    assert.match(log(), /ERROR .*cannot open the main configuration/, 'heat-cfntools logs it to /var/log/cfn-hup.log');
    fs.renameSync(path.join(dir, 'cfn-hup.conf.away'), path.join(dir, 'etc', 'cfn-hup.conf'));

    r = await run(['-c', path.join(dir, 'nonexistent-dir')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no hooks: add a section with triggers, path and action to .*hooks\.conf or a file in .*nonexistent-dir/);

    const bad = path.join(dir, 'hooks-bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'bad.conf'), '[bad]\ntriggers=post.update\npath=Resources.WebServer.Metadata\naction=true\n', { mode: 0o644 });
    answer('cfn-hup-run1-first.txt');
    r = await run(['-f', '-c', bad]);
    assert.equal(r.status, 0, `heat-cfntools refuses a hook without runas; it is optional in aws-cfn-bootstrap and here\n${r.stderr}`);

    fs.writeFileSync(path.join(dir, 'etc', 'cfn-hup.conf'), '[main]\nstack=teststack\ncredential-file=/nonexistent/creds\n', { mode: 0o644 });
    r = await run([]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/nonexistent\/creds/);
  });

  it("a 403 (the fifth error run): heat-cfntools' traceback; here one line in the log, and exit 1 from --no-daemon", async () => {
    answer('cfn-hup-errors.txt');
    fs.rmSync(path.join(dir, 'etc', 'hooks.d', 'webserver.conf'));
    const r = await run(['-f']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, '');
    assert.match(log(), /ERROR .*cannot check teststack\/Db: HTTP 403 Forced: forced 403 .*its hooks wait for the next check/);
  });

  it("cfn-hup-configparser-percent: heat-cfntools refuses date +%s; here the action runs as written", async () => {
    answer('cfn-hup-run1-first.txt');
    const pct = path.join(dir, 'hooks-pct');
    fs.mkdirSync(pct);
    fs.writeFileSync(path.join(pct, 'pct.conf'), `[pct]\ntriggers=post.add\npath=Resources.WebServer.Metadata\naction=date +%s >> ${path.join(dir, 'out', 'pct.log')}\nrunas=root\n`, { mode: 0o644 });
    const r = await run(['-f', '-c', pct]);
    assert.equal(r.status, 0, r.stderr + log());
    assert.match(fs.readFileSync(path.join(dir, 'out', 'pct.log'), 'utf8'), /^\d{10}\n$/);
  });
});
