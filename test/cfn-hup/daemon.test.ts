/**
 * cfn-hup from the bundle against the endpoint emulator, with the metadata
 * changed while it runs: what fires and what does not, failing and hung
 * actions, SIGHUP with a new hook, SIGTERM during an action, a kill in the
 * middle, runas for real, detaching, --no-daemon and the lock.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownIdentity, startTime } from '../../shared/process-identity';
import { ACCESS_KEY, HupBox, SECRET_KEY, STACK } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('cfn-hup daemon against the emulator', function () {
  this.timeout(60_000);
  let box: HupBox;
  beforeEach(async () => {
    box = await HupBox.create();
  });
  afterEach(async () => box.close());

  it('fires on add, update and remove while it runs; an unchanged value and a change of another resource fire nothing', async () => {
    box.writeMain();
    box.writeHook('web', box.hook('web', 'Resources.Web.Metadata.foo', 'post.add,post.update,post.remove'));
    box.writeHook('db', box.hook('db', 'Resources.Db.Metadata', 'post.update'));
    box.writeHook('new', box.hook('new', 'Resources.Web.Metadata.added', 'post.add'));
    const d = box.start(['-v']);
    await box.until('two checks', () => box.checks() >= 2);
    assert.deepEqual([box.fired('web'), box.fired('db'), box.fired('new')], [[' -> {"v": 1}'], [], []], 'a first check fires post.add only');

    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 }, added: 'yes' });
    await box.until('the update', () => box.fired('web').length === 2 && box.fired('new').length === 1);
    const after = box.checks();
    await box.until('two more checks', () => box.checks() >= after + 2);
    assert.deepEqual(box.fired('web'), [' -> {"v": 1}', '{"v": 1} -> {"v": 2}'], 'once per change');
    assert.deepEqual(box.fired('new'), [' -> yes']);
    assert.deepEqual(box.fired('db'), [], 'Db did not change (heat-cfntools fires it on every check)');

    box.emulator.setMetadata(STACK, 'Web', { other: 1 });
    await box.until('the removal', () => box.fired('web').length === 3);
    assert.equal(box.fired('web')[2], '{"v": 2} -> ');
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0, d.stderr());
    assert.ok(!fs.existsSync(box.pidFile), 'the pid file is removed');
    assert.ok(!box.log().includes(SECRET_KEY), 'the secret key is never logged');
  });

  it('a resource being updated is skipped until it completes; fetch failures are logged, back off and lose no change', async () => {
    box.writeMain();
    box.writeHook('web', box.hook('web', 'Resources.Web.Metadata.foo'));
    const d = box.start(['-v']);
    await box.until('a first check', () => box.checks() >= 1);
    box.emulator.setResourceStatus(STACK, 'Web', { status: 'UPDATE_IN_PROGRESS' });
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    let n = box.checks();
    await box.until('two checks', () => box.checks() >= n + 2);
    assert.deepEqual(box.fired('web'), []);
    assert.match(box.log(), /hook web: Web is UPDATE_IN_PROGRESS; checked again next time/);

    box.emulator.setFaults({ rates: [{ kind: 'error', status: 503, rate: 1 }] });
    box.emulator.setResourceStatus(STACK, 'Web', { status: 'UPDATE_COMPLETE' });
    n = box.checks();
    await box.until('a failed check', () => box.checks() >= n + 1);
    assert.match(box.log(), /ERROR .*cannot check hupstack\/Web: HTTP 503 .*its hooks wait for the next check/);
    assert.match(box.log(), /check \d+ done \(1 failed in a row\)/);
    assert.deepEqual(box.fired('web'), []);
    box.emulator.setFaults({});
    await box.until('the change after the outage', () => box.fired('web').length === 1);
    assert.deepEqual(box.fired('web'), ['{"v": 1} -> {"v": 2}']);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
  });

  it('a failing action is retried a bounded number of times, then given up until the next change', async () => {
    box.writeMain('hook-retries=1\n');
    box.writeHook('fail', `[fail]\ntriggers=post.update\npath=Resources.Web.Metadata.foo\naction=echo try >> ${box.outFile('fail')}; exit 3\n`);
    const d = box.start(['-v']);
    await box.until('a first check', () => box.checks() >= 1);
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    await box.until('two attempts', () => box.fired('fail').length === 2, 20_000);
    // The action's output comes before the daemon has logged its exit: wait for the line, not only the output.
    await box.until('the second failure logged', () => /giving up after 2 attempt/.test(box.log()));
    assert.match(box.log(), /ERROR .*hook fail: exited with code 3; trying again at the first check after .* \(attempt 1 of 2\)/);
    assert.match(box.log(), /ERROR .*hook fail: exited with code 3; giving up after 2 attempt\(s\)/);
    const n = box.checks();
    await box.until('three more checks', () => box.checks() >= n + 3);
    assert.equal(box.fired('fail').length, 2, 'not run again for the same change (aws-cfn-bootstrap runs it every interval forever)');
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 3 } });
    await box.until('the next change', () => box.fired('fail').length === 3);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
  });

  it('a hung action is stopped at its timeout, with what it started, and the daemon goes on', async () => {
    box.writeMain();
    const marker = `${Date.now() % 100000}.5`;
    box.writeHook('hang', `[hang]\ntriggers=post.update\npath=Resources.Web.Metadata.foo\ntimeout=1\naction=sleep ${marker} & sleep ${marker}; echo never >> ${box.outFile('hang')}\n`);
    box.writeHook('next', box.hook('next', 'Resources.Web.Metadata.foo'));
    const d = box.start(['-v']);
    await box.until('a first check', () => box.checks() >= 1);
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    await box.until('the timeout', () => /hook hang: timed out after 1 s and was stopped/.test(box.log()));
    await box.until('the next hook', () => box.fired('next').length === 1);
    assert.deepEqual(box.fired('hang'), []);
    await box.until('the sleeps are gone', () => spawnSync('pgrep', ['-f', `sleep ${marker}`]).status === 1, 10_000);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
  });

  it("a hook-timeout past Node's timer range (2147484 s, 24.8 days) is a timeout, not 1 ms: the action runs to its end", async () => {
    box.writeMain('hook-timeout=2147484\n');
    box.writeHook('long', `[long]\ntriggers=post.add\npath=Resources.Web.Metadata.foo\naction=sleep 0.2; echo done >> ${box.outFile('long')}\n`);
    box.writeHook('own', `[own]\ntriggers=post.add\npath=Resources.Web.Metadata.foo\ntimeout=99999999999\naction=sleep 0.2; echo done >> ${box.outFile('own')}\n`);
    const r = await box.run(['--no-daemon', '-v']);
    assert.equal(r.status, 0, r.stderr + box.log());
    assert.deepEqual([box.fired('long'), box.fired('own')], [['done'], ['done']]);
    assert.doesNotMatch(box.log(), /timed out/);
  });

  it('SIGHUP reads the configuration again: a new hook works, the state is kept; a broken file or credential file keeps the old configuration, and --check-config refuses the same files first', async () => {
    box.writeMain();
    box.writeHook('a', box.hook('a', 'Resources.Web.Metadata.foo'));
    const d = box.start(['-v']);
    await box.until('a first check', () => box.checks() >= 1);
    box.writeHook('b', box.hook('b', 'Resources.Db.Metadata.bar'));
    const good = await box.run(['--check-config']);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(good.stdout, `cfn-hup: configuration OK: ${path.join(box.etc, 'cfn-hup.conf')}, 2 hook(s) on stack ${STACK}\n`);
    assert.equal(good.stderr, '');
    d.child.kill('SIGHUP');
    await box.until('the reload', () => /SIGHUP: configuration read again: 2 hook\(s\)/.test(box.log()));
    let n = box.checks();
    await box.until('a check with the new hook', () => box.checks() >= n + 1);
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    box.emulator.setMetadata(STACK, 'Db', { bar: 2 });
    await box.until('both hooks', () => box.fired('a').length === 1 && box.fired('b').length === 1);
    assert.deepEqual(box.fired('a'), ['{"v": 1} -> {"v": 2}'], 'a kept its state across the reload');

    box.writeHook('c', '[c]\ntriggers=post.sometimes\npath=Resources.Web.Metadata\naction=true\n');
    const bad = await box.run(['--check-config']);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^cfn-hup: \S*hooks\.d\/c: line 2: \[c\] triggers: unknown trigger "post.sometimes"[^\n]*\n$/);
    assert.match(box.log(), /ERROR .*--check-config: \S*hooks\.d\/c: line 2: \[c\] triggers: unknown trigger "post.sometimes"/, 'the refusal is in the log too');
    d.child.kill('SIGHUP');
    await box.until('the refused reload', () => /ERROR .*SIGHUP: configuration not read again: .*hooks\.d\/c: line 2: \[c\] triggers: unknown trigger "post.sometimes".*; keeping the previous one/.test(box.log()));
    n = box.checks();
    box.emulator.setMetadata(STACK, 'Db', { bar: 3 });
    await box.until('b still works', () => box.fired('b').length === 2);

    // A credential file that is gone: refused by both, as at the start, rather than failing every check.
    fs.rmSync(path.join(box.etc, 'hooks.d', 'c'));
    fs.writeFileSync(path.join(box.etc, 'cfn-hup.conf'), fs.readFileSync(path.join(box.etc, 'cfn-hup.conf'), 'utf8').replace(/^credential-file=.*$/m, `credential-file=${path.join(box.dir, 'gone')}`));
    const noCreds = await box.run(['--check-config']);
    assert.equal(noCreds.status, 1);
    assert.match(noCreds.stderr, /^cfn-hup: credential file \S*gone does not exist\n$/);
    d.child.kill('SIGHUP');
    await box.until('the second refused reload', () => /ERROR .*SIGHUP: configuration not read again: credential file \S*gone does not exist; keeping the previous one/.test(box.log()));
    box.emulator.setMetadata(STACK, 'Db', { bar: 4 });
    await box.until('b works with the old keys', () => box.fired('b').length === 3);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
  });

  it('under systemd (stderr is the stream JOURNAL_STREAM names) hook starts, results, failures, a refused reload and the stop reach stderr with their priority, redacted; the log keeps everything', async () => {
    box.writeMain();
    box.writeHook('ok', box.hook('ok', 'Resources.Web.Metadata.foo').replace(/^action=(.*)$/m, `action=$1; echo ${SECRET_KEY} > /dev/null; echo some output`));
    box.writeHook('bad', '[bad]\ntriggers=post.update\npath=Resources.Db.Metadata.bar\naction=exit 3\n');
    const journal = path.join(box.dir, 'journal');
    const d = box.start(['-v'], {}, journal);
    await box.until('a first check', () => box.checks() >= 1);
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    box.emulator.setMetadata(STACK, 'Db', { bar: 2 });
    await box.until('both hooks ran', () => box.fired('ok').length === 1 && /hook bad: exited with code 3/.test(box.log()));
    box.writeHook('broken', '[broken]\ntriggers=post.update\n');
    d.child.kill('SIGHUP');
    await box.until('the refused reload', () => /SIGHUP: configuration not read again/.test(box.log()));
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);

    const lines = d.stderr().split('\n').filter(Boolean);
    for (const l of lines) assert.match(l, /^<[3-5]>(INFO|WARNING|ERROR) /, 'a line without its priority, or below notice');
    const has = (re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `no line like ${re} in the journal:\n${lines.join('\n')}`);
    has(/^<5>INFO cfn-hup started \(pid \d+\): 2 hook\(s\) on stack hupstack/);
    has(/^<5>INFO hook ok: post\.update of Resources\.Web\.Metadata\.foo: running ".*echo <redacted> > \/dev\/null; echo some output"$/);
    has(/^<5>INFO hook ok: succeeded$/);
    has(/^<3>ERROR hook bad: exited with code 3; trying again at /);
    has(/^<3>ERROR SIGHUP: configuration not read again: \S*hooks\.d\/broken: \[broken\] must set path; keeping the previous one$/);
    has(/^<5>INFO cfn-hup stopped$/);
    assert.ok(!lines.some((l) => /\|\s+some output/.test(l)), "a hook's output stays in the log file");
    const log = box.log();
    assert.match(log, /^INFO \[[\d-]+ [\d:,]+\] hook ok: succeeded$/m);
    assert.match(log, /^DEBUG /m);
    assert.match(log, /^INFO .*\|\s+some output$/m);
    for (const text of [d.stderr(), log]) assert.ok(!text.includes(SECRET_KEY), 'the secret key is written out');

    // A JOURNAL_STREAM inherited with stderr elsewhere (a hook's child, a pipe): nothing is mirrored.
    fs.rmSync(path.join(box.etc, 'hooks.d', 'broken'));
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 3 } });
    const elsewhere = fs.statSync(journal, { bigint: true });
    const r = await box.run(['--no-daemon'], { JOURNAL_STREAM: `${elsewhere.dev}:${elsewhere.ino}` });
    assert.equal(box.fired('ok').length, 2, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('SIGTERM during an action lets it finish, then exits 0', async () => {
    box.writeMain();
    box.writeHook('slow', `[slow]\ntriggers=post.update\npath=Resources.Web.Metadata.foo\naction=echo started >> ${box.outFile('slow')}; sleep 2; echo done >> ${box.outFile('slow')}\n`);
    const d = box.start(['-v']);
    await box.until('a first check', () => box.checks() >= 1);
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    await box.until('the action starts', () => box.fired('slow').length === 1);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0, d.stderr());
    assert.deepEqual(box.fired('slow'), ['started', 'done']);
    assert.match(box.log(), /SIGTERM: stopping once the running action \(if any\) has finished[\s\S]*hook slow: succeeded[\s\S]*cfn-hup stopped/);
    const state = JSON.parse(fs.readFileSync(path.join(box.dir, 'state', 'metadata_db.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(state['slow|Resources.Web.Metadata.foo'], { v: 2 }, 'the finished action recorded its change');
  });

  it('killed with SIGKILL during an action, it runs the action again at the next start: the change was not recorded', async () => {
    box.writeMain();
    box.writeHook('slow', `[slow]\ntriggers=post.update\npath=Resources.Web.Metadata.foo\naction=echo run >> ${box.outFile('slow')}; sleep 3\n`);
    let d = box.start(['-v']);
    await box.until('a first check', () => box.checks() >= 1);
    box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
    await box.until('the action starts', () => box.fired('slow').length === 1);
    d.child.kill('SIGKILL');
    await d.exited;
    d = box.start(['-v']);
    await box.until('the action again', () => box.fired('slow').length === 2, 20_000);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
  });

  it('runas runs the action as that user for real: uid, gid, groups, HOME', async function () {
    if (process.getuid?.() !== 0) this.skip();
    box.writeMain();
    box.writeHook('who', `[who]\ntriggers=post.add\npath=Resources.Web.Metadata.foo\nrunas=nobody\naction=echo "$(id -ru) $(id -rg) $(id -G) $HOME $USER" >> ${box.outFile('who')}\n`);
    const r = await box.run(['--no-daemon']);
    assert.equal(r.status, 0, r.stderr + box.log());
    const nobody = spawnSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).stdout.trim().split(':');
    const groups = spawnSync('id', ['-G', 'nobody'], { encoding: 'utf8' }).stdout.trim();
    assert.deepEqual(box.fired('who'), [`${nobody[2]} ${nobody[3]} ${groups} ${nobody[5]} nobody`]);
  });

  it("a hook's child never inherits the tool's credentials; as nobody it gets the metadata without its secrets", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const s3Secret = 's3-secret-in-the-metadata';
    box.emulator.setMetadata(STACK, 'Web', {
      'AWS::CloudFormation::Authentication': { S3Creds: { type: 'S3', accessKeyId: 'AKIDS3INMETADATA', secretKey: s3Secret, buckets: ['b'] } },
      'AWS::CloudFormation::Init': { config: { files: { '/etc/cfn/cfn-credentials': { content: `AWSAccessKeyId=${ACCESS_KEY}\nAWSSecretKey=${SECRET_KEY}\n`, mode: '000400' } } } },
    });
    box.writeMain();
    // Each child reads its own environment, as anything of that uid could from /proc.
    const dump = (name: string, extra = '') => `[${name}]\ntriggers=post.add\npath=Resources.Web.Metadata\naction=cat /proc/self/environ > ${box.outFile(name)}\n${extra}`;
    box.writeHook('nobody', dump('nobody', 'runas=nobody\n'));
    box.writeHook('root', dump('root'));
    const r = await box.run(['--no-daemon'], { AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'env-secret-of-the-tool', OS_PASSWORD: 'os-password-of-the-tool' });
    assert.equal(r.status, 0, r.stderr + box.log());
    const environ = (name: string) => new Map(fs.readFileSync(box.outFile(name), 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const nobody = environ('nobody');
    const root = environ('root');
    for (const [who, seen] of [['nobody', nobody], ['root', root]] as const) {
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'OS_PASSWORD']) assert.ok(!seen.has(name), `${who}'s child has ${name}`);
      assert.ok(seen.has('CFN_NEW_METADATA') && seen.has('PATH'), `${who}'s child has the rest`);
    }
    const text = [...nobody.values()].join('\n');
    for (const secret of [s3Secret, 'AKIDS3INMETADATA', SECRET_KEY]) assert.ok(!text.includes(secret), `${secret} reached nobody: ${text}`);
    const seen = JSON.parse(nobody.get('CFN_NEW_METADATA')!) as Record<string, any>;
    assert.deepEqual(seen['AWS::CloudFormation::Authentication'], { S3Creds: { type: 'S3', buckets: ['b'] } });
    assert.match(seen['AWS::CloudFormation::Init'].config.files['/etc/cfn/cfn-credentials'].content, /^AWSAccessKeyId=\S+\nAWSSecretKey=<redacted>\n$/);
    assert.ok(root.get('CFN_NEW_METADATA')!.includes(s3Secret), 'root gets the metadata whole, as from aws-cfn-bootstrap');
  });

  it('runas=--service=files is refused before anything runs (getent read it as an option and the action ran as root)', async () => {
    box.writeMain();
    box.writeHook('who', `[who]\ntriggers=post.add\npath=Resources.Web.Metadata.foo\nrunas=--service=files\naction=id -u >> ${box.outFile('who')}\n`);
    const r = await box.run(['--no-daemon']);
    assert.equal(r.status, 1, r.stderr + box.log());
    assert.match(r.stderr, /^cfn-hup: .*hooks\.d\/who: line 4: \[who\] runas: a user name cannot start with "-", got "--service=files"\n$/);
    assert.deepEqual(box.fired('who'), []);
  });

  it('detaches as aws-cfn-bootstrap does: returns 0 at once, the daemon works in its own session; a configuration error is exit 1 first', async () => {
    box.writeMain();
    box.writeHook('web', box.hook('web', 'Resources.Web.Metadata.foo'));
    const r = await box.run(['--pid-file', box.pidFile, '-v']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
    const pid = Number(fs.readFileSync(box.pidFile, 'utf8'));
    try {
      assert.ok(alive(pid));
      const sid = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[3];
      assert.equal(Number(sid), pid, 'a session of its own');
      await box.until('a first check', () => box.checks() >= 1);
      box.emulator.setMetadata(STACK, 'Web', { foo: { v: 2 } });
      await box.until('the update', () => box.fired('web').length === 1);
      const again = await box.run(['--pid-file', path.join(box.dir, 'other.pid')]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /^cfn-hup: .*cfn-hup\.lock: another cfn-hup \(pid \d+\) is running\n$/);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    await box.until('the daemon ends', () => !alive(pid));
    assert.ok(!fs.existsSync(box.pidFile));

    box.writeHook('bad', '[bad]\ntriggers=post.update\n');
    const bad = await box.run(['--pid-file', box.pidFile]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^cfn-hup: .*hooks\.d\/bad: \[bad\] must set path\n$/);
    assert.ok(!fs.existsSync(box.pidFile), 'nothing was started');
  });

  it('a lock whose pid belongs to an unrelated process now is taken over, said in the log: -f runs its check, the daemon starts', async () => {
    box.writeMain();
    box.writeHook('ok', box.hook('ok', 'Resources.Web.Metadata.foo', 'post.add'));
    const lock = path.join(box.dir, 'state', 'cfn-hup.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    // Under the tool's name, as `tail -f /var/log/cfn-hup.log` or cron's shell would be.
    const other = spawn('bash', ['-c', 'exec -a cfn-hup sleep 60'], { stdio: 'ignore' });
    try {
      await box.until('the exec', () => fs.readFileSync(`/proc/${other.pid}/cmdline`, 'utf8').startsWith('cfn-hup'));
      fs.writeFileSync(lock, `${other.pid} ${Number(startTime(other.pid!)) + 3} ${ownIdentity().boot}\n`);
      const r = await box.run(['-f', '-v']);
      assert.equal(r.status, 0, r.stderr + box.log());
      assert.deepEqual(box.fired('ok'), [' -> {"v": 1}'], 'the check ran');
      assert.match(box.log(), new RegExp(`WARNING .*cfn-hup\\.lock: taken over: process ${other.pid} has ended \\(its pid belongs to another process now\\)`));

      fs.writeFileSync(lock, `${other.pid}\n`); // an earlier release's lock
      const d = box.start(['-v']);
      await box.until('a first check', () => box.checks() >= 1);
      assert.match(box.log(), new RegExp(`WARNING .*cfn-hup\\.lock: taken over: process ${other.pid} is no cfn-hup now`));
      d.child.kill('SIGTERM');
      assert.equal(await d.exited, 0, d.stderr());
    } finally {
      other.kill();
    }
  });

  it('--no-daemon checks once: 0 when all went well, 1 when a resource could not be checked or an action failed; a held lock skips', async () => {
    box.writeMain();
    box.writeHook('ok', box.hook('ok', 'Resources.Web.Metadata.foo', 'post.add'));
    assert.equal((await box.run(['--no-daemon'])).status, 0);
    assert.deepEqual(box.fired('ok'), [' -> {"v": 1}']);
    assert.equal((await box.run(['-f'])).status, 0, "heat-cfntools' -f");
    assert.equal(box.fired('ok').length, 1);

    box.writeHook('missing', box.hook('missing', 'Resources.Nope.Metadata'));
    const r = await box.run(['--no-daemon']);
    assert.equal(r.status, 1);
    assert.match(box.log(), /ERROR .*cannot check hupstack\/Nope: HTTP 200 InvalidParameterValue/);
    fs.rmSync(path.join(box.etc, 'hooks.d', 'missing'));

    const d = box.start(['-v']);
    await box.until('the daemon holds the lock', () => box.checks() >= 1);
    const skipped = await box.run(['--no-daemon']);
    assert.equal(skipped.status, 0);
    assert.match(skipped.stderr, /another cfn-hup \(pid \d+\) is running; this check is skipped/);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
    await sleep(0);
  });
});
