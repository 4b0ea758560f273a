/**
 * services: sysvinit for real (an /etc/init.d script, `service`,
 * update-rc.d), systemd through a recording systemctl stand-in (systemd is
 * not PID 1 here). Restarts follow what changed in this run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommandError } from '../../shared/init/handlers/command';
import { createServicesHandler, restartReason, servicesHandler } from '../../shared/init/handlers/services';
import { ChangeSet } from '../../shared/init/handlers/types';
import { applyKey, handlerContext, tempDir, TestSystem, uniqueName, validate, validationContext } from './support/handler-harness';
import { installInitScript, sysvEnabled, writeSystemctl, type InitScript, type Systemctl } from './support/service-standins';

function changes(...list: Parameters<ChangeSet['record']>[0][]): ChangeSet {
  const c = new ChangeSet();
  for (const x of list) c.record(x);
  return c;
}

describe('cfn-init services: sysvinit (real init.d script, service, update-rc.d)', function () {
  this.timeout(60_000);
  let dir: string;
  let svc: InitScript;
  let broken: InitScript;
  const env = process.env;

  before(function () {
    if (fs.existsSync('/run/systemd/system')) this.skip(); // on a systemd host `service` would hand the script to systemd
    dir = tempDir('cfntest-sysv');
    svc = installInitScript(uniqueName(), dir);
    broken = installInitScript(uniqueName(), dir, 'start');
  });
  after(() => {
    svc?.remove();
    broken?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.ok(!svc || !sysvEnabled(svc.name), 'rc links removed');
  });

  it('enables (links created) and starts; the second run only looks', async () => {
    const raw = { sysvinit: { [svc.name]: { enabled: 'true', ensureRunning: true } } };
    const actions = await applyKey(servicesHandler, raw, handlerContext({ env }));
    assert.deepEqual(actions.map((a) => a.summary), [`sysvinit: enable ${svc.name}`, `sysvinit: start ${svc.name}`]);
    assert.ok(sysvEnabled(svc.name));
    assert.ok(svc.running());
    assert.deepEqual(svc.calls(), ['status', 'start']);
    assert.deepEqual(await applyKey(servicesHandler, raw, handlerContext({ env })), []);
    assert.deepEqual(svc.calls(), ['status', 'start', 'status']);
  });

  it('restarts when a listed file changed in this run, and only then', async () => {
    const raw = { sysvinit: { [svc.name]: { ensureRunning: true, files: ['/etc/cfntest.conf'], sources: ['/srv/app'] } } };
    assert.deepEqual(await applyKey(servicesHandler, raw, handlerContext({ env, changes: changes({ key: 'files', name: '/etc/other.conf' }) })), []);
    const actions = await applyKey(servicesHandler, raw, handlerContext({ env, changes: changes({ key: 'files', name: '/etc/cfntest.conf' }) }));
    assert.deepEqual(actions.map((a) => a.summary), [`sysvinit: restart ${svc.name} (file /etc/cfntest.conf changed)`]);
    assert.equal(svc.calls().at(-1), 'restart');
  });

  it('stops and disables; ensureRunning false wins over a restart', async () => {
    const raw = { sysvinit: { [svc.name]: { enabled: false, ensureRunning: 'false', files: ['/etc/cfntest.conf'] } } };
    const actions = await applyKey(servicesHandler, raw, handlerContext({ env, changes: changes({ key: 'files', name: '/etc/cfntest.conf' }) }));
    assert.deepEqual(actions.map((a) => a.summary), [`sysvinit: disable ${svc.name}`, `sysvinit: stop ${svc.name}`]);
    assert.ok(!svc.running());
    assert.ok(!sysvEnabled(svc.name));
    assert.ok(!svc.calls().slice(-2).includes('restart'));
    assert.deepEqual(await applyKey(servicesHandler, raw, handlerContext({ env })), []);
  });

  it('a failing start is an error naming the service (heat-cfntools ignores it)', async () => {
    await assert.rejects(applyKey(servicesHandler, { sysvinit: { [broken.name]: { ensureRunning: true } } }, handlerContext({ env })), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.match(err.message, new RegExp(`^config\\.services\\.sysvinit\\.${broken.name}: sysvinit: start ${broken.name} failed: .* exited 1:\\n.*failed on purpose`));
      return true;
    });
  });
});

describe('cfn-init services: systemd (recording systemctl stand-in)', function () {
  this.timeout(30_000);
  let dir: string;
  let sc: Systemctl;
  let env: NodeJS.ProcessEnv;
  let handler: ReturnType<typeof createServicesHandler>;

  before(() => {
    dir = tempDir('cfntest-systemd');
    sc = writeSystemctl(dir);
    fs.mkdirSync(path.join(dir, 'run-systemd-system'));
    handler = createServicesHandler({ systemdRunDir: path.join(dir, 'run-systemd-system') });
    env = { ...process.env, PATH: `${sc.bin}:/usr/bin:/bin` };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => sc.clear());

  it('enables and starts with systemctl, only when the state differs', async () => {
    const raw = { systemd: { web: { enabled: true, ensureRunning: true } } };
    const actions = await applyKey(handler, raw, handlerContext({ env }));
    assert.deepEqual(actions.map((a) => a.summary), ['systemd: enable web', 'systemd: start web']);
    assert.deepEqual(sc.calls(), ['is-enabled web', 'is-active --quiet web', 'enable web', 'start web']);
    sc.clear();
    assert.deepEqual(await applyKey(handler, raw, handlerContext({ env })), []);
    assert.deepEqual(sc.calls(), ['is-enabled web', 'is-active --quiet web']);
  });

  it('restarts (daemon-reload, restart) when a listed package of that manager changed', async () => {
    const raw = { systemd: { web: { ensureRunning: true, packages: { yum: ['httpd'], apt: 'nginx' } } } };
    const other = changes({ key: 'packages', manager: 'python', name: 'httpd' }, { key: 'commands', name: 'x' });
    assert.deepEqual(await applyKey(handler, raw, handlerContext({ env, changes: other })), []);
    sc.clear();
    const actions = await applyKey(handler, raw, handlerContext({ env, changes: changes({ key: 'packages', manager: 'apt', name: 'nginx' }) }));
    assert.deepEqual(actions.map((a) => a.summary), ['systemd: restart web (apt package nginx changed)']);
    assert.deepEqual(sc.calls(), ['is-active --quiet web', 'daemon-reload', 'restart web']);
  });

  it('a change starts a stopped service unless ensureRunning is false (then it is stopped, not restarted)', async () => {
    sc.set('api', { active: false });
    const c = () => changes({ key: 'users', name: 'appuser' });
    const started = await applyKey(handler, { systemd: { api: { users: ['appuser'] } } }, handlerContext({ env, changes: c() }));
    assert.deepEqual(started.map((a) => a.summary), ['systemd: start api (user appuser changed)']);
    assert.ok(sc.active('api'));
    const stopped = await applyKey(handler, { systemd: { api: { ensureRunning: false, users: ['appuser'] } } }, handlerContext({ env, changes: c() }));
    assert.deepEqual(stopped.map((a) => a.summary), ['systemd: stop api']);
    assert.ok(!sc.active('api'));
  });

  it('leaves static units alone for enabled, disables enabled ones', async () => {
    sc.set('static-unit', { enabled: 'static' });
    sc.set('db', { enabled: 'enabled' });
    const ctx = handlerContext({ env });
    const actions = await applyKey(handler, { systemd: { 'static-unit': { enabled: false }, db: { enabled: false } } }, ctx);
    assert.deepEqual(actions.map((a) => a.summary), ['systemd: disable db']);
    assert.equal(sc.enabled('db'), 'disabled');
    assert.ok(ctx.logger.lines.some((l) => l.includes('static-unit cannot be enabled or disabled')));
  });

  it('a failing systemctl is an error, and the services after it are not touched', async () => {
    await assert.rejects(applyKey(handler, { systemd: { 'app-broken': { ensureRunning: true }, later: { ensureRunning: true } } }, handlerContext({ env })), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.keyPath, 'config.services.systemd.app-broken');
      assert.match(err.message, /systemctl start app-broken exited 1:\nJob for app-broken\.service failed\./);
      return true;
    });
    assert.ok(!sc.calls().includes('start later'));
  });
});

describe('cfn-init services: validation and restart rules', () => {
  let dir: string;
  before(() => (dir = tempDir('cfntest-svcval')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('systemd without a running systemd is a validation problem, not a crash', () => {
    const sc = writeSystemctl(dir);
    const sys = new TestSystem({ PATH: `${sc.bin}:/usr/bin:/bin` });
    const h = createServicesHandler({ systemdRunDir: path.join(dir, 'no-such-dir') });
    const { spec, problems } = validate(h, { systemd: { web: { ensureRunning: true } } }, validationContext(sys));
    assert.equal(spec, undefined);
    assert.deepEqual(problems, [{ path: 'config.services.systemd', message: `systemd is not running on this machine (no ${path.join(dir, 'no-such-dir')}); use the sysvinit key` }]);
    // No systemctl at all.
    const none = validate(createServicesHandler({ systemdRunDir: dir }), { systemd: { web: {} } }, validationContext(new TestSystem({ PATH: path.join(dir, 'empty') })));
    assert.match(none.problems[0].message, /^systemctl is not on PATH/);
  });

  it('reports Windows services and bad booleans as errors; unknown service managers (skipped), keys and package managers (ignored) as tolerated, with their paths', () => {
    const sys = new TestSystem(process.env);
    const { problems, tolerated } = validate(
      servicesHandler,
      { windows: { cfn: {} }, upstart: {}, sysvinit: { s: { ensureRunning: 'maybe', restart: true, packages: { yumm: ['x'] }, files: 'not-a-list-but-ok' } } },
      validationContext(sys),
    );
    assert.deepEqual(problems.map((p) => p.path), ['config.services.windows', 'config.services.sysvinit.s.ensureRunning']);
    assert.equal(problems[0].message, 'Windows services: Windows is not supported on Linux; use sysvinit or systemd');
    assert.deepEqual(tolerated.map((p) => `${p.path}: ${p.message} (${p.tolerated})`), [
      'config.services.upstart: unknown service manager; expected sysvinit or systemd (skipped)',
      'config.services.sysvinit.s.restart: unknown key; expected one of enabled, ensureRunning, files, sources, packages, commands, users, groups (ignored)',
      'config.services.sysvinit.s.packages.yumm: unknown key; expected one of rpm, apt, yum, dnf, python, rubygems (ignored)',
    ]);
  });

  it('a service under no known manager (services: {httpd: {...}}) is skipped: the others are still planned', () => {
    const sys = new TestSystem(process.env);
    const { spec, problems, tolerated } = validate(servicesHandler, { httpd: { enabled: true, ensureRunning: true }, sysvinit: { web: { ensureRunning: true } } }, validationContext(sys));
    assert.deepEqual(problems, []);
    assert.deepEqual(tolerated.map((p) => p.path), ['config.services.httpd']);
    assert.deepEqual(spec?.map((s) => [s.tools.kind, s.name]), [['sysvinit', 'web']]);
  });

  it('restartReason looks at every kind of change of the whole run, packages by manager', () => {
    const watch = { files: ['/a'], sources: ['/srv'], commands: ['c1'], users: ['u'], groups: ['g'], packages: { yum: ['httpd'] } };
    assert.equal(restartReason(watch, changes()), undefined);
    assert.equal(restartReason(watch, changes({ key: 'sources', name: '/srv' })), 'source /srv changed');
    assert.equal(restartReason(watch, changes({ key: 'commands', name: 'c1' })), 'command c1 changed');
    assert.equal(restartReason(watch, changes({ key: 'groups', name: 'g' })), 'group g changed');
    assert.equal(restartReason(watch, changes({ key: 'packages', manager: 'apt', name: 'httpd' })), undefined);
    assert.equal(restartReason(watch, changes({ key: 'packages', manager: 'yum', name: 'httpd' })), 'yum package httpd changed');
  });
});
