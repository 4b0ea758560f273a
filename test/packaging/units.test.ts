/**
 * The systemd units and the logrotate file the packages install: systemd's
 * own checker accepts every unit without a warning, the daemons start with no
 * Node options (the executable's built-in daemon flags reach the runtime),
 * the timer and the daemon exclude each other, and a rotation signals the
 * daemons quietly.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { skipUnless } from '../support/skip';
import {
  EXE, LOGROTATE_SRC, PRESET, PRESET_SRC, REPO, SYSTEMD_SRC, TOOLS, UNITS, VERSION,
  artifactMissing, commandMissing, isolatedEnv, readUnit, removeTemp, run, runOk, systemdWords, tempDir, unitValue,
} from './artifacts';

const DAEMONS = ['cfn-hup.service', 'heat-agent.service'];

/** The ExecStart= words of a unit, as systemd would pass them. */
function execStart(unit: string): string[] {
  const line = unitValue(readUnit(unit), 'Service', 'ExecStart');
  assert.ok(line, `${unit} has no ExecStart=`);
  return systemdWords(line);
}

/** An environment whose state, cache and config directories are all under `dir`: a tool run leaves nothing on the host. */
/** A bin dir with the executable's tools (links to packaging/out/cfntools), for units that must name a real file. */
function fakeBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(EXE, path.join(bin, 'cfntools'));
  for (const t of TOOLS) fs.symlinkSync('cfntools', path.join(bin, t));
  return bin;
}

/** Copies of the units into dir/units with ExecStart= and ExecReload= pointed at `bin` instead of /usr/bin. */
function unitsAt(dir: string, bin: string): string[] {
  const units = path.join(dir, 'units');
  fs.mkdirSync(units);
  return UNITS.map((u) => {
    const text = fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8').replace(/^(ExecStart=|ExecReload=)\/usr\/bin\//gm, `$1${bin}/`);
    fs.writeFileSync(path.join(units, u), text);
    return path.join(units, u);
  });
}

describe('packaging: systemd units', function () {
  let dir: string | undefined;
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  it('the units are the expected set, each with a Description and a comment saying why', () => {
    assert.deepEqual(UNITS, ['cfn-hup-pass.service', 'cfn-hup.service', 'cfn-hup.timer', 'cfn-init-resume.service', 'heat-agent.service']);
    for (const u of UNITS) {
      const text = fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8');
      assert.match(text, /^# /m, `${u}: no comment`);
      assert.ok(unitValue(readUnit(u), 'Unit', 'Description'), `${u}: no Description=`);
    }
  });

  it('systemd-analyze verify accepts every unit with no warning (ExecStart= pointed at the real executable)', function () {
    skipUnless(this, 'systemd-analyze verify', commandMissing('systemd-analyze', 'systemd') ?? artifactMissing(EXE));
    dir = tempDir('verify');
    const files = unitsAt(dir, fakeBin(dir));
    const r = run('systemd-analyze', ['verify', ...files]);
    assert.equal(r.status, 0, r.stderr);
    // Warnings about units we do not ship (the host's own) are not ours to fix.
    const ours = r.stderr.split('\n').filter((l) => UNITS.some((u) => l.includes(u)));
    assert.deepEqual(ours, [], r.stderr);
  });

  it('systemd-analyze verify would catch a unit whose executable is missing (the check above is not vacuous)', function () {
    skipUnless(this, 'systemd-analyze verify', commandMissing('systemd-analyze', 'systemd') ?? artifactMissing(EXE));
    dir = tempDir('verify-neg');
    const files = unitsAt(dir, path.join(dir, 'no-such-bin'));
    const r = run('systemd-analyze', ['verify', files.find((f) => f.endsWith('/heat-agent.service'))!]);
    assert.match(r.stderr, /heat-agent\.service: Command .*no-such-bin\/heat-agent is not executable/);
  });

  for (const unit of DAEMONS) {
    it(`${unit}: Type=simple, a foreground daemon restarted on failure, after the network, with no Node options`, () => {
      const u = readUnit(unit);
      assert.equal(unitValue(u, 'Service', 'Type'), 'simple');
      assert.equal(unitValue(u, 'Service', 'Restart'), 'on-failure');
      assert.equal(unitValue(u, 'Unit', 'Wants'), 'network-online.target');
      assert.equal((unitValue(u, 'Unit', 'After') ?? '').split(/\s+/)[0], 'network-online.target');
      assert.equal(unitValue(u, 'Install', 'WantedBy'), 'multi-user.target');
      const words = execStart(unit);
      const tool = unit.replace('.service', '');
      assert.equal(words[0], `/usr/bin/${tool}`);
      // The executable takes no Node options: the daemon flags are built in.
      assert.ok(!words.some((w) => w.startsWith('--node-options')), words.join(' '));
      assert.ok(!unitValue(u, 'Service', 'Environment')?.includes('NODE_OPTIONS'), 'NODE_OPTIONS is ignored by the executable');
    });
  }

  for (const unit of DAEMONS) {
    it(`${unit}: a reload checks the configuration first (--check-config), then sends SIGHUP to the main process`, () => {
      const reload = readUnit(unit).get('Service')?.get('ExecReload') ?? [];
      const tool = unit.replace('.service', '');
      assert.deepEqual(reload.map(systemdWords), [[`/usr/bin/${tool}`, '--check-config'], ['/bin/kill', '-HUP', '$MAINPID']]);
    });
  }

  it('the daemons take --check-config: a missing configuration is exit 1 naming the file (what fails `systemctl reload`)', function () {
    skipUnless(this, 'running the executable', artifactMissing(EXE));
    dir = tempDir('check-config');
    const bin = fakeBin(dir);
    const env = { ...isolatedEnv(dir), CFNTOOLS_OCC_CONFIG: path.join(dir, 'os-collect-config.conf') };
    const hup = run(path.join(bin, 'cfn-hup'), ['--check-config', '--log-file', '-'], { env });
    assert.equal(hup.status, 1, hup.stderr);
    assert.match(hup.stderr, /^cfn-hup: \S*cfn\/cfn-hup\.conf: cannot open the main configuration: no such file\n$/);
    const agent = run(path.join(bin, 'heat-agent'), ['--check-config', '--log-file', '-'], { env });
    assert.equal(agent.status, 1, agent.stderr);
    assert.match(agent.stderr, /^heat-agent: no \S*os-collect-config\.conf, and no os-collect-config block in \S*cfn-init-data/);
  });

  it('the preset disables every unit that can be enabled, and names nothing else', () => {
    const lines = fs.readFileSync(PRESET_SRC, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    const installable = UNITS.filter((u) => readUnit(u).get('Install'));
    assert.deepEqual(lines.sort(), installable.map((u) => `disable ${u}`).sort());
    assert.ok(installable.includes('cfn-hup.service') && installable.includes('cfn-hup.timer'));
  });

  it('systemctl preset enables none of the units with the preset beside them; without it, this systemd would enable cfn-hup.service and cfn-hup.timer together', function () {
    skipUnless(this, 'systemctl --root preset', commandMissing('systemctl', 'systemd'));
    dir = tempDir('preset');
    const root = dir;
    const units = path.join(root, 'usr/lib/systemd/system');
    fs.mkdirSync(units, { recursive: true });
    for (const u of UNITS) fs.copyFileSync(path.join(SYSTEMD_SRC, u), path.join(units, u));
    const installable = UNITS.filter((u) => readUnit(u).get('Install'));
    const enabled = () => {
      const wants = path.join(root, 'etc/systemd/system');
      return fs.existsSync(wants) ? (fs.readdirSync(wants, { recursive: true }) as string[]).filter((f) => f.endsWith('.service') || f.endsWith('.timer')).sort() : [];
    };
    runOk('systemctl', [`--root=${root}`, 'preset', ...installable]);
    const without = enabled();
    fs.rmSync(path.join(root, 'etc'), { recursive: true, force: true });
    fs.mkdirSync(path.join(root, 'usr/lib/systemd/system-preset'));
    fs.copyFileSync(PRESET_SRC, path.join(root, 'usr/lib/systemd/system-preset', PRESET));
    runOk('systemctl', [`--root=${root}`, 'preset', ...installable]);
    assert.deepEqual(enabled(), [], 'enabled by the preset');
    runOk('systemctl', [`--root=${root}`, 'preset-all']);
    assert.deepEqual(enabled(), [], 'enabled by preset-all');
    // What the preset is for (Debian's default enables everything; Fedora's disables): not vacuous where it would.
    if (without.length) assert.ok(without.includes('multi-user.target.wants/cfn-hup.service') && without.includes('timers.target.wants/cfn-hup.timer'), without.join(', '));
  });

  it("cfn-hup.service waits for /etc/cfn/cfn-hup.conf and stays in the foreground; heat-agent.service for os-collect-config's file or Heat's boot data, after cloud-init", () => {
    assert.equal(unitValue(readUnit('cfn-hup.service'), 'Unit', 'ConditionPathExists'), '/etc/cfn/cfn-hup.conf');
    assert.ok(execStart('cfn-hup.service').includes('--foreground'));
    const agent = readUnit('heat-agent.service');
    assert.deepEqual(agent.get('Unit')?.get('ConditionPathExists'), ['|/etc/os-collect-config.conf', '|/var/lib/heat-cfntools/cfn-init-data']);
    assert.ok((unitValue(agent, 'Unit', 'After') ?? '').split(/\s+/).includes('cloud-init.service'), 'after cloud-init has written the boot data');
    assert.ok(!execStart('heat-agent.service').includes('--one-time'));
  });

  it("heat-agent.service's conditions as systemd evaluates them: either file is enough, neither keeps it stopped", function () {
    skipUnless(this, 'systemd-analyze condition', commandMissing('systemd-analyze', 'systemd'));
    dir = tempDir('conditions');
    const conditions = (readUnit('heat-agent.service').get('Unit')?.get('ConditionPathExists') ?? []).map((c) => `ConditionPathExists=${c.replace('|/', `|${dir}/`)}`);
    assert.equal(conditions.length, 2);
    const starts = () => run('systemd-analyze', ['condition', ...conditions]).status === 0;
    assert.equal(starts(), false, 'an image with neither');
    const make = (p: string) => {
      fs.mkdirSync(path.dirname(path.join(dir!, p)), { recursive: true });
      fs.writeFileSync(path.join(dir!, p), '{}');
    };
    make('var/lib/heat-cfntools/cfn-init-data');
    assert.equal(starts(), true, 'an image with only cfntools: Heat wrote its boot data');
    fs.rmSync(path.join(dir, 'var'), { recursive: true });
    make('etc/os-collect-config.conf');
    assert.equal(starts(), true, 'an image with os-apply-config: the file');
  });

  it('cfn-hup.timer runs one pass (cfn-hup-pass.service: oneshot cfn-hup --no-daemon), spread at random, and conflicts with the daemon both ways', () => {
    const timer = readUnit('cfn-hup.timer');
    assert.equal(unitValue(timer, 'Timer', 'Unit'), 'cfn-hup-pass.service');
    assert.ok(unitValue(timer, 'Timer', 'OnBootSec'));
    assert.equal(unitValue(timer, 'Timer', 'OnUnitInactiveSec'), '15min');
    assert.match(unitValue(timer, 'Timer', 'RandomizedDelaySec') ?? '', /^[1-9]\d*(s|min)?$/);
    assert.equal(unitValue(timer, 'Install', 'WantedBy'), 'timers.target');
    assert.deepEqual((unitValue(timer, 'Unit', 'Conflicts') ?? '').split(/\s+/), ['cfn-hup.service']);
    assert.ok((unitValue(readUnit('cfn-hup.service'), 'Unit', 'Conflicts') ?? '').split(/\s+/).includes('cfn-hup.timer'));
    const pass = readUnit('cfn-hup-pass.service');
    assert.equal(unitValue(pass, 'Service', 'Type'), 'oneshot');
    assert.deepEqual(execStart('cfn-hup-pass.service'), ['/usr/bin/cfn-hup', '--no-daemon']);
    assert.equal(unitValue(pass, 'Unit', 'ConditionPathExists'), '/etc/cfn/cfn-hup.conf');
    // Started by the timer only: no [Install] of its own, so nobody enables it by mistake.
    assert.equal(pass.get('Install'), undefined);
  });

  it('cfn-init-resume.service is unchanged in content: cfn-init --resume when a progress file exists', () => {
    const u = readUnit('cfn-init-resume.service');
    assert.equal(unitValue(u, 'Service', 'Type'), 'oneshot');
    assert.deepEqual(execStart('cfn-init-resume.service'), ['/usr/bin/cfn-init', '--resume']);
    assert.equal(unitValue(u, 'Unit', 'ConditionPathExists'), '/var/lib/cfntools/cfn-init/progress.json');
  });

  it('the executable takes each daemon unit\'s command line as systemd passes it (--version in place of the rest)', function () {
    skipUnless(this, 'running the executable', artifactMissing(EXE));
    dir = tempDir('argv');
    const bin = fakeBin(dir);
    for (const unit of DAEMONS) {
      const words = execStart(unit);
      const r = run(path.join(bin, path.basename(words[0]!)), [...words.slice(1), '--version']);
      assert.equal(r.status, 0, `${unit}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `${path.basename(words[0]!)} (cfntools) ${VERSION}`);
    }
  });

  it('the built-in daemon flags reach the runtime: heat-agent from the executable runs fewer threads than under a plain node (--v8-pool-size=1)', async function () {
    skipUnless(this, 'running the executable', artifactMissing(EXE) ?? (fs.existsSync('/proc/self/status') ? undefined : 'needs /proc'));
    dir = tempDir('threads');
    const bin = fakeBin(dir);
    // Port 9 on loopback: nothing answers; the daemon backs off and idles, which is all we look at.
    const daemonArgs = ['--url', 'http://127.0.0.1:9/v1/', '--stack', 's', '--resource', 'r', '--access-key', 'AKIDTEST', '--secret-key', 'x', '--log-file', path.join(dir, 'agent.log')];
    const threads = async (command: string[]): Promise<number> => {
      const child = spawn(command[0]!, [...command.slice(1), ...daemonArgs], { stdio: 'ignore', env: isolatedEnv(dir!) });
      try {
        const deadline = Date.now() + 20_000;
        for (;;) {
          await new Promise((r) => setTimeout(r, 200));
          const log = fs.existsSync(path.join(dir!, 'agent.log')) ? fs.readFileSync(path.join(dir!, 'agent.log'), 'utf8') : '';
          if (/heat-agent started/.test(log)) break;
          if (child.exitCode !== null) throw new Error(`heat-agent exited ${child.exitCode}: ${log}`);
          if (Date.now() > deadline) throw new Error(`heat-agent did not start: ${log}`);
        }
        await new Promise((r) => setTimeout(r, 500));
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/^Threads:\s+(\d+)/m.exec(status)![1]);
      } finally {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
        fs.rmSync(path.join(dir!, 'agent.log'), { force: true });
      }
    };
    const plain = await threads([process.execPath, path.join(REPO, 'dist', 'cfntools.cjs'), 'heat-agent']);
    const flagged = await threads(execStart('heat-agent.service').map((w, i) => (i === 0 ? path.join(bin, path.basename(w)) : w)));
    assert.ok(flagged < plain, `threads of the executable ${flagged}, of a plain node ${plain}`);
  });
});

describe('packaging: logrotate', function () {
  let dir: string | undefined;
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    removeTemp(dir);
    dir = undefined;
  });

  it('covers /var/log/cfn-*.log and /var/log/heat-agent.log, without copytruncate, with a postrotate that signals SIGHUP', () => {
    const text = fs.readFileSync(LOGROTATE_SRC, 'utf8');
    const code = text.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
    assert.match(code, /^\/var\/log\/cfn-\*\.log \/var\/log\/heat-agent\.log \{$/m);
    assert.doesNotMatch(code, /copytruncate/);
    assert.match(code, /postrotate[\s\S]*--signal=HUP[\s\S]*endscript/);
    assert.match(code, /cfn-hup\.service/);
    assert.match(code, /heat-agent\.service/);
    const script = /postrotate\n([\s\S]*?)\n\s*endscript/.exec(text)![1]!;
    runOk('sh', ['-n', '-c', script]);
  });

  it('a forced rotation rotates, recreates the logs 0600, HUPs a cfn-hup by its pid file, leaves a stale pid alone, and says nothing without systemd', async function () {
    skipUnless(this, 'logrotate', commandMissing('logrotate', 'logrotate') ?? (process.getuid?.() === 0 ? undefined : 'logrotate of root-owned logs needs root'));
    dir = tempDir('logrotate');
    const logs = path.join(dir, 'log');
    fs.mkdirSync(logs);
    const pidFile = path.join(dir, 'cfn-hup.pid');
    const hupSeen = path.join(dir, 'hup-seen');
    const conf = fs.readFileSync(LOGROTATE_SRC, 'utf8').replaceAll('/var/log/', `${logs}/`).replaceAll('/var/run/cfn-hup.pid', pidFile);
    assert.ok(conf.includes(pidFile), 'the postrotate script no longer reads /var/run/cfn-hup.pid');
    fs.writeFileSync(path.join(dir, 'cfntools.conf'), conf, { mode: 0o644 });
    for (const l of ['cfn-init.log', 'cfn-hup.log', 'heat-agent.log']) fs.writeFileSync(path.join(logs, l), `a line of ${l}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(logs, 'unrelated.log'), 'not ours\n');
    // A stand-in for a detached cfn-hup: its command line names cfn-hup, it records the SIGHUP.
    const fake = spawn('sh', ['-c', `trap 'echo hup >> "$0"' HUP; while :; do sleep 0.1; done`, hupSeen, 'cfn-hup'], { stdio: 'ignore' });
    children.push(fake);
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(bystander);
    await new Promise((r) => setTimeout(r, 300));
    fs.writeFileSync(pidFile, `${fake.pid}\n`);
    const r = run('logrotate', ['-f', '-s', path.join(dir, 'state'), path.join(dir, 'cfntools.conf')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'the postrotate script is not quiet');
    for (const l of ['cfn-init.log', 'cfn-hup.log', 'heat-agent.log']) {
      assert.equal(fs.readFileSync(path.join(logs, `${l}.1`), 'utf8'), `a line of ${l}\n`);
      assert.equal(fs.statSync(path.join(logs, l)).mode & 0o777, 0o600, `${l} recreated with another mode`);
    }
    assert.ok(!fs.existsSync(path.join(logs, 'unrelated.log.1')), 'rotated a log that is not ours');
    for (let i = 0; i < 20 && !fs.existsSync(hupSeen); i++) await new Promise((res) => setTimeout(res, 100));
    assert.ok(fs.existsSync(hupSeen), 'the cfn-hup of the pid file got no SIGHUP');

    // A stale pid file naming some other process: no signal (SIGHUP would end it).
    fs.writeFileSync(pidFile, `${bystander.pid}\n`);
    for (const l of ['cfn-init.log']) fs.writeFileSync(path.join(logs, l), 'more\n', { mode: 0o600 });
    const again = run('logrotate', ['-f', '-s', path.join(dir, 'state'), path.join(dir, 'cfntools.conf')]);
    assert.equal(again.status, 0, again.stderr);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(bystander.exitCode, null, 'a process that is not cfn-hup was signalled');
    assert.equal(bystander.signalCode, null, 'a process that is not cfn-hup was signalled');
  });

  it('logrotate --debug parses the installed file as it is', function () {
    skipUnless(this, 'logrotate', commandMissing('logrotate', 'logrotate'));
    dir = tempDir('logrotate-debug');
    const out = run('logrotate', ['--debug', '-s', path.join(dir, 'state'), LOGROTATE_SRC]);
    assert.equal(out.status, 0, out.stderr);
    assert.doesNotMatch(out.stderr + out.stdout, /error/i);
  });
});
