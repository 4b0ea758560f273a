/**
 * A real boot: the .deb on a Debian root booted with systemd as PID 1
 * (scripts/make-boot-root.sh: systemd, cloud-init, logrotate; no libatomic1,
 * no node), under systemd-nspawn, with the endpoint emulator on loopback.
 * cloud-init's NoCloud user data installs the package, runs cfn-init and
 * signals; then, on a second root, the units for real: cfn-hup.service and
 * .timer reacting to metadata changes, reload with a good and a broken hook
 * file, logrotate, stop during a running hook, heat-agent.service completing
 * a deployment, cfn-init's reboot and resume across a reboot of the
 * container, dpkg -r and dpkg --purge.
 *
 * boot-driver.ts does it all in one run inside `unshare -m -n -p` (nothing
 * leaves loopback, every mount and process goes with the namespace; the
 * cached root is only read, through overlays on a tmpfs) and records what it
 * saw; the tests below judge the records. The suite skips, visibly, only
 * where this machine cannot boot a container (not root, no systemd-nspawn,
 * nspawn failing to start systemd, no overlayfs), saying why; under CI=true
 * that is an error.
 *
 * CFNTOOLS_BOOT_ROOT boots another root (default
 * /var/cache/cfntools-test/boot-bookworm); CFNTOOLS_BOOT_KEEP=1 keeps the
 * records (results.json, each container's console) and says where.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { namespaceMissing } from '../support/namespace';
import { skipUnless } from '../support/skip';
import type { DriverArgs } from './boot-driver';
import { type BootResults, readResults } from './boot-results';
import { REBOOT_EXIT_CODE, type Step } from './container';
import { DEB, VERSION, artifactMissing, commandMissing, needRoot, removeTemp, tempDir } from './artifacts';

const BOOT_ROOT = process.env.CFNTOOLS_BOOT_ROOT || '/var/cache/cfntools-test/boot-bookworm';
const DRIVER = path.join(__dirname, 'boot-driver.js');
const FLAGS = ['-m', '-n', '-p', '-f', '--kill-child', '--mount-proc'];
/** The whole driver: two boots and a reboot (about 2-3 minutes here); past this it is killed with its namespace. */
const DRIVER_BOUND_MS = 9 * 60_000;

describe('packaging: a real boot (systemd as PID 1 under systemd-nspawn, a Debian root without libatomic1, network only on loopback)', function () {
  let work: string | undefined;
  let r: BootResults;
  let driverNote = '';

  before(function () {
    this.timeout(DRIVER_BOUND_MS + 60_000);
    const rootMissing = fs.existsSync(path.join(BOOT_ROOT, 'lib/systemd/systemd')) && fs.existsSync(path.join(BOOT_ROOT, 'usr/bin/cloud-init'))
      ? undefined
      : `no boot root at ${BOOT_ROOT}: run bash scripts/make-test-root.sh && bash scripts/make-boot-root.sh (as root; they need the network once)`;
    skipUnless(this, 'the boot tests', needRoot('booting a container')
      ?? artifactMissing(DEB)
      ?? rootMissing
      ?? commandMissing('systemd-nspawn', 'systemd-container, at the installed systemd\'s version: scripts/install-test-deps.sh')
      ?? commandMissing('nsenter', 'util-linux')
      ?? namespaceMissing(BOOT_ROOT, FLAGS)
      ?? (fs.existsSync(DRIVER) ? undefined : `${DRIVER} is missing: run npm run build`));
    work = tempDir('boot');
    const args: DriverArgs = { root: BOOT_ROOT, deb: DEB, work: path.join(work, 'mnt'), out: path.join(work, 'out') };
    fs.mkdirSync(args.work);
    fs.mkdirSync(args.out);
    const run = spawnSync('unshare', [...FLAGS, '--', process.execPath, DRIVER, JSON.stringify(args)], { encoding: 'utf8', timeout: DRIVER_BOUND_MS, maxBuffer: 16 * 1024 * 1024 });
    if (run.error || run.status !== 0) driverNote = ` (the driver ${run.error ? `was stopped: ${run.error.message}` : `exited ${run.status}`}: ${run.stderr.trim().slice(-2000)})`;
    const file = path.join(args.out, 'results.json');
    if (!fs.existsSync(file)) throw new Error(`the boot driver recorded nothing${driverNote}`);
    r = readResults(file);
    if (process.env.CFNTOOLS_BOOT_KEEP) console.log(`      boot records kept in ${args.out}`);
    console.log(`      boot driver: ${(r.ms / 1000).toFixed(0)} s`);
    if (r.cannotBoot) skipUnless(this, 'the boot tests', `this machine cannot boot the root with systemd-nspawn: ${r.cannotBoot}`);
  });
  after(() => {
    if (!process.env.CFNTOOLS_BOOT_KEEP) removeTemp(work);
  });

  const why = (name: string) => {
    const stops = Object.entries(r.stopped).map(([part, reason]) => `${part}: ${reason}`).join('; ');
    return `${name} was not recorded: ${stops || 'the driver stopped before it'}${driverNote}`;
  };
  const step = (name: string): Step => {
    const s = r.steps[name];
    assert.ok(s, why(name));
    return s;
  };
  const ok = (name: string): Step => {
    const s = step(name);
    assert.equal(s.rc, 0, `${name}: exit ${s.rc ?? 'by a signal'}\n${s.err}${s.out}`);
    return s;
  };
  const waited = (name: string) => {
    const w = r.waits[name];
    assert.ok(w, why(name));
    assert.ok(w.met, `${name}: not within ${w.ms} ms; last seen: ${w.last}`);
  };
  const fact = (name: string): unknown => {
    assert.ok(name in r.facts, why(name));
    return r.facts[name];
  };
  const consoles = () => Object.entries(r.consoles).map(([n, t]) => `--- console of ${n}:\n${t}`).join('\n');

  it('the root boots with systemd as PID 1, every unit started, and has neither libatomic1 nor node', () => {
    assert.equal(fact('main.state'), 'running', `${step('main.failed-units').out}\n${consoles()}`);
    assert.equal(step('main.failed-units').out, '');
    assert.equal(ok('main.absent').out, '', 'present in the root');
  });

  describe('cloud-init NoCloud user data (INSTALL.md\'s recipe)', () => {
    it('dpkg -i installs the .deb on the image without libatomic1', () => {
      assert.equal(ok('cloud.installed').out, `install ok installed ${VERSION}`, String(fact('cloud.output')));
      assert.equal(ok('cloud.absent').out, '', 'the recipe should not need them');
    });

    it('cfn-init applies the stack\'s metadata from the emulator and cfn-signal completes the wait condition with its data', () => {
      assert.equal(ok('cloud.applied').out, 'configured by cloud-init\ncfn-init ran\n', String(fact('cloud.output')));
      const wait = fact('cloud.wait-condition') as { status: string; waitCondition?: { data?: Record<string, unknown> } };
      assert.equal(wait.status, 'CREATE_COMPLETE', `${JSON.stringify(wait)}\n${String(fact('cloud.output'))}`);
      assert.deepEqual(wait.waitCondition?.data, { 'cloud-init': 'configured by cloud-init' });
    });

    it('cloud-init reports no error, and the boot ends with every unit started (cloud-final.service included)', () => {
      assert.match(ok('cloud.status').out, /^status: done$/m, String(fact('cloud.output')));
      assert.equal(fact('cloud.state'), 'running', `${step('cloud.failed-units').out}\n${consoles()}`);
      assert.equal(step('cloud.failed-units').out, '');
    });
  });

  describe('the units on a booted root', () => {
    it('dpkg -i installs the .deb (the root lacks libatomic1)', () => {
      ok('install');
      assert.equal(ok('installed').out, `install ok installed ${VERSION}`);
    });

    it('cfn-hup.service reacts to metadata changes on the emulator: its hook runs for post.add, then post.update', () => {
      ok('hup.enable');
      waited('hup.add');
      waited('hup.update');
    });

    it('cfn-hup.service: hook runs reach the journal', () => {
      waited('hup.journal');
    });

    it('heat-agent.service starts from Heat\'s boot data (cfn-init-data) and completes the deployment from the emulator', () => {
      ok('agent.start');
      waited('agent.deployed');
      const d = fact('agent.deployment') as { status: string; softwareDeployment?: { output_values?: Record<string, unknown> } };
      assert.equal(d.status, 'CREATE_COMPLETE', JSON.stringify(d));
      assert.equal(d.softwareDeployment?.output_values?.result, 'boot!\n');
      assert.equal(fact('agent.effect'), 'deployed boot\n');
      assert.equal(ok('agent.active').out.trim(), 'active');
    });

    it('heat-agent.service: the deployment reaches the journal', () => {
      waited('agent.journal');
    });

    it('systemctl reload cfn-hup with a good hook file: exit 0, and the new hook runs', () => {
      ok('reload.good');
      waited('reload.good.hook');
    });

    it('systemctl reload cfn-hup with a broken hook file fails (non-zero) and the journal says why, naming the file', () => {
      const s = step('reload.broken');
      assert.notEqual(s.rc, 0, `systemctl reload answered 0 to a broken hook file\n${s.err}${s.out}`);
      waited('reload.broken.journal');
    });

    it('... and the daemon keeps running with the configuration it had (same pid, its hooks run); the fixed file reloads', () => {
      assert.equal(fact('reload.broken.active'), 'active');
      assert.equal(fact('reload.broken.pid'), fact('reload.pid-before'));
      waited('reload.broken.old-config');
      ok('reload.fixed');
    });

    it('logrotate rotates the tools\' logs (0600, root) and both daemons write to the new files without a restart', () => {
      ok('logrotate');
      waited('logrotate.hook');
      waited('logrotate.reopened');
      assert.deepEqual(fact('logrotate.pids-after'), fact('logrotate.pids-before'));
      assert.deepEqual(ok('logrotate.files').out.trim().split('\n'), ['cfn-hup.log', 'cfn-hup.log.1', 'heat-agent.log', 'heat-agent.log.1'].map((f) => `${f} 600 root`));
      const old = String(fact('logrotate.hup-old'));
      const now = String(fact('logrotate.hup-new'));
      assert.match(old, /value=one/);
      assert.doesNotMatch(old, /value=rotated/);
      assert.doesNotMatch(now, /value=one/);
    });

    it('systemctl stop during a running hook: the daemon lets the hook finish, then stops at once; nothing of the unit is left', () => {
      waited('stop.hook-started');
      ok('stop.ask');
      waited('stop.waits-for-hook');
      assert.equal(fact('stop.hook-running'), true, 'the hook had already finished when the stop was asked');
      waited('stop.stopped');
      assert.ok(Number(fact('stop.ms-after-release')) < 30_000, `stopped ${String(fact('stop.ms-after-release'))} ms after the hook was released`);
      assert.equal(fact('stop.result'), 'success');
      assert.equal(fact('stop.hook-done'), 'done\n', 'the running hook was not let finish');
      assert.equal(ok('stop.orphan').out, '', 'the hook\'s background child outlived the unit');
    });

    it('cfn-hup.timer: its pass (cfn-hup-pass.service) runs the hook for a metadata change, with the daemon stopped', () => {
      ok('timer.daemon-reload');
      ok('timer.start');
      waited('timer.hook');
      assert.equal(fact('timer.service-state'), 'inactive');
      ok('timer.stop');
    });

    it('cfn-init with waitAfterCompletion: forever reboots the container; after the reboot cfn-init-resume.service runs the rest, once', () => {
      ok('resume.enable');
      assert.equal(fact('resume.exit'), REBOOT_EXIT_CODE, `systemd-nspawn did not end with a reboot\n${step('resume.init').err}${step('resume.init').out}`);
      assert.equal(fact('main.state.2'), 'running', step('main.failed-units.2').out);
      const unit = ok('resume.unit').out;
      assert.match(unit, /^Result=success$/m, `${unit}\n${step('resume.journal').out}`);
      assert.match(unit, /^ExecMainStatus=0$/m);
      const before = String(fact('resume.before'));
      const after = String(fact('resume.after'));
      assert.match(before, /^[0-9a-f-]{36}\n$/);
      assert.notEqual(after, before, '30_after ran before the reboot');
      assert.equal(after, ok('resume.boot-id').out, '30_after did not run in the boot after the reboot');
      assert.equal(fact('resume.reboots'), 'reboot\n', 'the reboot command ran again');
      assert.equal(fact('resume.rest'), 'the rest of the configuration\n');
      assert.equal(fact('resume.progress-left'), false);
    });

    it('dpkg -r stops the daemon cfn-hup.service (enabled, it came back with the reboot) and keeps logs, state and caches', () => {
      const before = ok('remove.before').out.trim().split('\n');
      for (const p of ['/var/log/cfn-hup.log', '/var/log/cfn-hup.log.1', '/var/log/cfn-init.log', '/var/log/heat-agent.log', '/var/lib/cfn-hup', '/var/lib/cfntools', '/var/lib/heat-agent', '/var/cache/cfntools']) {
        assert.ok(before.includes(p), `${p} was not there to begin with: ${before.join(', ')}`);
      }
      assert.ok(before.some((p) => /^\/var\/cache\/cfntools\/.+\.json$/.test(p)), `no cached metadata to begin with: ${before.join(', ')}`);
      assert.match(ok('remove.running').out, /\/usr\/bin\/cfn-hup /, 'cfn-hup.service was not running to begin with');
      ok('remove');
      assert.deepEqual(ok('remove.kept').out.trim().split('\n'), before);
      assert.equal(ok('remove.left-running').out, '', 'still running after dpkg -r');
    });

    it('dpkg --purge removes the logs (rotated ones too), state, caches and work directories', () => {
      ok('purge');
      assert.equal(ok('purge.left').out, '', 'left behind');
    });
  });
});
