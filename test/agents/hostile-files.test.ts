/**
 * Files that are not files, configuration anyone can write, and ids that
 * are not ids, at the paths every tool reads or writes, run from the bundle
 * as a user would: a FIFO or a link to /dev/zero at a state, lock, sample,
 * cache or output path is refused in one line naming it (never waited on,
 * never read without end); a symbolic link in place of a log is refused
 * and its target left alone; a damaged state file is said by offset, not
 * quoted; heat-agent refuses an os-collect-config.conf, a cfn-init-data or
 * a hook that another user could change, and deployment ids that would be
 * a property name or a path. Each run is bounded: a hang shows as a run
 * killed (status null), never as a test that waits.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';
import { ensureRunningServices } from '../../agents/cfn-hup/services';
import { HupBox } from '../cfn-hup/support';
import { PushBox } from '../cfn-push-stats/support';

/** Longer than any of these runs takes; a run still going then was blocked. */
const HANG_MS = 30_000;
const SHADOW = 'root:$6$saltsalt$hashhashhashhash:19000:0:99999:7:::\n';
const asRoot = process.getuid?.() === 0;

const run = (tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> => runProcess([process.execPath, BUNDLE, tool, ...args], { env, timeoutMs: HANG_MS });
const mkfifo = (file: string) => execFileSync('mkfifo', [file]);
const notHung = (r: RunResult) => assert.notEqual(r.status, null, `blocked until killed\n${r.stderr}`);

describe('hostile files at every path the tools use', function () {
  this.timeout(4 * HANG_MS);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hostile-files-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = (...parts: string[]) => path.join(dir, ...parts);

  describe('heat-agent (local collector, NO_SIGNAL)', () => {
    const script = (marker: string, extra = '') => `#!/bin/sh\necho ran >> ${p('out', marker)}\n${extra}`;
    const deployment = (id: string, over: Record<string, unknown> = {}) => ({
      id,
      name: `dep-${id.replace(/[^a-z0-9]/gi, '')}`,
      group: 'script',
      config: script(id.replace(/[^a-z0-9]/gi, '') || 'x'),
      inputs: [{ name: 'deploy_signal_transport', value: 'NO_SIGNAL' }],
      ...over,
    });
    const env = (extra: NodeJS.ProcessEnv = {}) =>
      toolEnv({ CFNTOOLS_HEAT_AGENT_DIR: p('state'), CFNTOOLS_HEAT_CONFIG_DIR: p('heat-config'), CFNTOOLS_HEAT_DIR: p('heat'), CFNTOOLS_STATE_DIR: p('cfn-init'), CFNTOOLS_CACHE_DIR: p('cache'), OS_REFRESH_CONFIG_BASE_DIR: p('orc'), HEAT_SHELL_CONFIG: p('heat-shell-config'), ...extra });
    const conf = (file = p('etc', 'os-collect-config.conf')) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `[DEFAULT]\ncollectors = local\n\n[local]\npath = ${p('local')}\n`, { mode: 0o600 });
      return file;
    };
    const metadata = (deployments: unknown[]) => fs.writeFileSync(p('local', 'md.json'), JSON.stringify({ deployments }), { mode: 0o600 });
    const agent = (extra: string[] = [], e = env()) => run('heat-agent', ['--one-time', '--hooks-dir', p('hooks'), '--log-file', p('agent.log'), ...extra], e);
    const withConf = (extra: string[] = []) => agent(['--config', conf(), ...extra]);
    const log = () => (fs.existsSync(p('agent.log')) ? fs.readFileSync(p('agent.log'), 'utf8') : '');
    const runs = (marker: string) => (fs.existsSync(p('out', marker)) ? fs.readFileSync(p('out', marker), 'utf8').split('\n').filter(Boolean).length : 0);
    beforeEach(() => {
      for (const d of ['local', 'out', 'hooks', 'state', 'heat', 'heat-config']) fs.mkdirSync(p(d), { mode: 0o700 });
    });

    it('its state (deployed.json) as a FIFO or a link to /dev/zero: set aside, said by what it is, the deployment runs', async () => {
      metadata([deployment('d1')]);
      mkfifo(p('state', 'deployed.json'));
      let r = await withConf();
      notHung(r);
      assert.equal(r.status, 0, r.stderr);
      assert.match(log(), /deployed\.json: the state file is a FIFO, not a regular file: refused; set aside as .*deployed\.json\.damaged-\d+/);
      assert.equal(runs('d1'), 1);
      fs.rmSync(p('state', 'deployed.json'));
      fs.symlinkSync('/dev/zero', p('state', 'deployed.json'));
      r = await withConf();
      notHung(r);
      assert.match(log(), /deployed\.json: the state file is a symbolic link: refused/);
    });

    it('a damaged state file is said by offset: its bytes never reach the log', async () => {
      metadata([deployment('d1')]);
      fs.writeFileSync(p('state', 'deployed.json'), SHADOW);
      const r = await withConf();
      assert.equal(r.status, 0, r.stderr);
      assert.match(log(), /deployed\.json: not valid JSON: syntax error at offset 0; set aside/);
      assert.doesNotMatch(log() + r.stderr, /root:|\$6\$|saltsalt/);
    });

    it('a symbolic link in place of its log file is refused; the link\'s target is not appended to', async () => {
      metadata([deployment('d1')]);
      fs.writeFileSync(p('passwd'), 'root:x:0:0::/root:/bin/sh\n');
      fs.symlinkSync(p('passwd'), p('agent.log'));
      const r = await withConf();
      notHung(r);
      assert.equal(fs.readFileSync(p('passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
      assert.match(r.stderr, /cannot open log file .*agent\.log .*the log file is a symbolic link: refused/);
    });

    it('a script output that is a FIFO or a link to /dev/zero is passed over with a warning, not waited on', async () => {
      const config = script('d1', `mkfifo "$heat_outputs_path.a"\nln -s /dev/zero "$heat_outputs_path.b"\n`);
      metadata([deployment('d1', { config, outputs: [{ name: 'a' }, { name: 'b' }] })]);
      const r = await withConf();
      notHung(r);
      assert.equal(runs('d1'), 1);
      assert.match(log(), /output a: .*out\.a: output a is a FIFO, not a regular file: refused/);
      assert.match(log(), /output b: .*output b is a symbolic link: refused/);
    });

    describe('configuration another user could change is refused, as cfn-hup refuses its own (nothing runs)', () => {
      it('os-collect-config.conf writable by others, or in a directory others can write, or another user\'s', async () => {
        metadata([deployment('d1')]);
        const file = conf();
        fs.chmodSync(file, 0o666);
        let r = await agent(['--config', file]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /os-collect-config\.conf: os-collect-config's file is writable by every user \(mode 0666\): refused/);
        fs.mkdirSync(p('open'), { mode: 0o777 });
        fs.chmodSync(p('open'), 0o777);
        const inOpen = conf(p('open', 'os-collect-config.conf'));
        r = await agent(['--config', inOpen]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`is in ${p('open')}, which others can write \\(mode 0777\\): they can replace it: refused`));
        if (asRoot) {
          const theirs = conf(p('etc', 'theirs.conf'));
          fs.chownSync(theirs, 65534, 65534);
          r = await agent(['--config', theirs]);
          assert.equal(r.status, 1);
          assert.match(r.stderr, /theirs\.conf: os-collect-config's file belongs to uid 65534, not to root or to this user/);
        }
        assert.equal(runs('d1'), 0);
      });

      it("Heat's boot data (cfn-init-data) writable by others", async () => {
        metadata([deployment('d1')]);
        fs.writeFileSync(p('heat', 'cfn-init-data'), JSON.stringify({ 'os-collect-config': { collectors: ['local'], local: { path: p('local') } } }), { mode: 0o666 });
        fs.chmodSync(p('heat', 'cfn-init-data'), 0o666);
        const r = await agent([], env({ CFNTOOLS_OCC_CONFIG: p('etc', 'absent.conf') }));
        assert.equal(r.status, 1);
        assert.match(r.stderr, /cfn-init-data: Heat's boot data is writable by every user \(mode 0666\): refused/);
        fs.chmodSync(p('heat', 'cfn-init-data'), 0o600);
        assert.equal((await agent([], env({ CFNTOOLS_OCC_CONFIG: p('etc', 'absent.conf') }))).status, 0, 'the same data, once only root can change it');
        assert.equal(runs('d1'), 1);
      });

      it('a hook others can write, or in a hooks directory others can write, is not run: the deployment fails saying why', async () => {
        metadata([deployment('d1', { group: 'mine', config: {} })]);
        fs.writeFileSync(p('hooks', 'mine'), `#!/bin/sh\necho ran >> ${p('out', 'hook')}\necho '{}'\n`, { mode: 0o777 });
        fs.chmodSync(p('hooks', 'mine'), 0o777);
        notHung(await withConf());
        assert.match(log(), /hook .*hooks\/mine is writable by every user \(mode 0777\): not run/);
        fs.chmodSync(p('hooks', 'mine'), 0o755);
        fs.chmodSync(p('hooks'), 0o777);
        fs.writeFileSync(p('local', 'md.json'), JSON.stringify({ deployments: [deployment('d1', { group: 'mine', config: { again: 1 } })] }), { mode: 0o600 });
        notHung(await withConf());
        assert.match(log(), new RegExp(`hook .*hooks/mine is in ${p('hooks')}, which others can write`));
        assert.equal(runs('hook'), 0);
        fs.chmodSync(p('hooks'), 0o755);
        fs.writeFileSync(p('local', 'md.json'), JSON.stringify({ deployments: [deployment('d1', { group: 'mine', config: { again: 2 } })] }), { mode: 0o600 });
        notHung(await withConf());
        assert.equal(runs('hook'), 1);
      });
    });

    describe('deployment ids are checked where they become keys and file names', () => {
      it('`__proto__` is refused in one line naming the deployment; it never runs (it ran at every check)', async () => {
        metadata([deployment('__proto__', { name: 'proto', config: script('proto') })]);
        for (let i = 0; i < 2; i++) {
          const r = await withConf();
          assert.equal(r.status, 1);
        }
        assert.equal(runs('proto'), 0);
        assert.match(log(), /deployments\[0\]\.id: "__proto__" is not a deployment id \(deployment "proto"\): expected letters, digits/);
      });

      it("an id with ../ does not make heat-agent read a planted record outside heat-config's deployed/", async () => {
        // A record heat-config would have left for exactly this deployment, planted beside deployed/.
        const d = deployment('../planted', { name: 'planted', config: script('planted') });
        fs.writeFileSync(p('heat-config', 'planted.json'), JSON.stringify(d));
        fs.mkdirSync(p('heat-config', 'deployed'));
        metadata([d]);
        const r = await withConf();
        assert.equal(r.status, 1);
        assert.match(log(), /deployments\[0\]\.id: "\.\.\/planted" is not a deployment id \(deployment "planted"\)/);
        assert.doesNotMatch(log(), /heat-config deployed it before/);
      });

      it('ids that are names of every object\'s properties are kept as any other: run once', async () => {
        metadata(['constructor', 'toString', 'hasOwnProperty'].map((id) => deployment(id)));
        for (let i = 0; i < 2; i++) assert.equal((await withConf()).status, 0);
        assert.deepEqual(['constructor', 'toString', 'hasOwnProperty'].map(runs), [1, 1, 1]);
      });
    });
  });

  describe('cfn-hup', () => {
    let box: HupBox;
    beforeEach(async () => {
      box = await HupBox.create();
      box.writeMain();
      box.writeHook('h', box.hook('h', 'Resources.Web.Metadata', 'post.add,post.update'));
      fs.mkdirSync(path.join(box.dir, 'state'), { mode: 0o700 });
    });
    afterEach(() => box.close());
    const hup = () => run('cfn-hup', ['--no-daemon', '--log-file', box.logFile], box.env());
    const state = (name: string) => path.join(box.dir, 'state', name);

    it('metadata_db.json as a link to /dev/zero or a FIFO: set aside, said by what it is', async () => {
      fs.symlinkSync('/dev/zero', state('metadata_db.json'));
      let r = await hup();
      notHung(r);
      assert.equal(r.status, 0, r.stderr);
      assert.match(box.log(), /metadata_db\.json: the state file is a symbolic link: refused .*: moved to .*damaged-\d+/);
      fs.rmSync(state('metadata_db.json'));
      mkfifo(state('metadata_db.json'));
      r = await hup();
      notHung(r);
      assert.match(box.log(), /metadata_db\.json: the state file is a FIFO, not a regular file: refused: moved to/);
    });

    it('a damaged metadata_db.json is said by offset, never quoted', async () => {
      fs.writeFileSync(state('metadata_db.json'), SHADOW);
      const r = await hup();
      assert.equal(r.status, 0, r.stderr);
      assert.match(box.log(), /metadata_db\.json: not valid JSON: syntax error at offset 0: moved to/);
      assert.doesNotMatch(box.log() + r.stderr, /root:|\$6\$|saltsalt/);
    });

    it('its lock as a FIFO is refused in one line naming it, not waited on', async () => {
      mkfifo(state('cfn-hup.lock'));
      const r = await hup();
      notHung(r);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /cfn-hup\.lock: the lock file is a FIFO, not a regular file: refused/);
    });

    it("cfn-init's cached metadata as a FIFO (compared on the first check) is passed over with a warning", async () => {
      fs.mkdirSync(path.join(box.dir, 'cache', 'metadata'), { recursive: true });
      mkfifo(path.join(box.dir, 'cache', 'metadata', 'hupstack.Web.json'));
      const r = await hup();
      notHung(r);
      assert.equal(r.status, 0, r.stderr);
      assert.match(box.log(), /cfn-init's cache of hupstack\/Web: .*cached metadata is a FIFO, not a regular file: refused \(delete the file to refetch\); not used/);
    });

    it('a service name that is a path or an option is not watched (service.restarted runs it as /etc/init.d/<name>)', () => {
      const refused: string[] = [];
      const metadata = { 'AWS::CloudFormation::Init': { config: { services: { sysvinit: { '../../tmp/x': { ensureRunning: true }, nginx: { ensureRunning: 'true' } }, systemd: { '--user': { ensureRunning: true } } } } } };
      assert.deepEqual(ensureRunningServices({ metadata } as never, refused), [{ kind: 'sysvinit', name: 'nginx' }]);
      assert.deepEqual(refused, ['services.sysvinit: "../../tmp/x" is not a service name; not watched', 'services.systemd: "--user" is not a service name; not watched']);
    });

    it('cfn-hup.conf in a directory others can write is refused', async () => {
      fs.chmodSync(box.etc, 0o777);
      const r = await hup();
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`cfn-hup\\.conf: the main configuration is in ${box.etc}, which others can write \\(mode 0777\\): they can replace it: refused`));
    });
  });

  describe('cfn-push-stats', () => {
    let box: PushBox;
    beforeEach(async () => {
      box = await PushBox.create();
      fs.mkdirSync(path.join(box.dir, 'state'), { mode: 0o755 });
    });
    afterEach(() => box.close());
    const push = (args: string[]) => runProcess([process.execPath, BUNDLE, 'cfn-push-stats', '--credential-file', box.creds, '--log-file', box.logFile, '--url', box.emulator.apiUrl, ...args], { env: box.env({ CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' }), timeoutMs: HANG_MS });
    const state = (name: string) => path.join(box.dir, 'state', name);

    it('its CPU sample as a link to /dev/zero or a FIFO: sampled afresh with a warning, then replaced by a real sample', async () => {
      fs.symlinkSync('/dev/zero', state('cpu-sample.json'));
      let r = await push(['--cpu-util', '-v']);
      notHung(r);
      assert.equal(r.status, 0, r.stderr);
      assert.match(box.log(), /cpu: .*cpu-sample\.json: the CPU sample is a symbolic link: refused .*; sampling afresh/);
      assert.ok(fs.lstatSync(state('cpu-sample.json')).isFile(), 'the next sample replaced the link');
      fs.rmSync(state('cpu-sample.json'));
      mkfifo(state('cpu-sample.json'));
      r = await push(['--cpu-util']);
      notHung(r);
      assert.equal(r.status, 0, r.stderr);
      assert.match(box.log(), /the CPU sample is a FIFO, not a regular file: refused; sampling afresh/);
    });

    it('its cron lock as a FIFO is refused in one line naming it', async () => {
      mkfifo(state('cfn-push-stats.lock'));
      const r = await push(['--heartbeat', '--from-cron']);
      notHung(r);
      assert.equal(r.status, 1);
      assert.match(box.log(), /cfn-push-stats\.lock: the lock file is a FIFO, not a regular file: refused/);
    });
  });

  describe('cfn-init and cfn-get-metadata', () => {
    const env = () => toolEnv({ CFNTOOLS_STATE_DIR: p('state'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_HEAT_DIR: p('heat') });
    const metadataFile = () => {
      fs.writeFileSync(p('md.json'), JSON.stringify({ 'AWS::CloudFormation::Init': { config: { commands: { a: { command: `touch ${p('ran')}` } } } } }));
      return p('md.json');
    };

    it('saved progress as a FIFO is refused in one line naming it, not waited on', async () => {
      fs.mkdirSync(p('state'));
      mkfifo(p('state', 'progress.json'));
      const r = await run('cfn-init', [metadataFile(), '--log-file', p('init.log')], env());
      notHung(r);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /progress\.json: saved progress is a FIFO, not a regular file: refused \(delete the file to start over\)/);
      assert.equal(fs.existsSync(p('ran')), false);
    });

    it('a metadata file that is /dev/zero is refused, not read until memory runs out', async () => {
      const r = await run('cfn-init', ['/dev/zero', '--log-file', p('init.log')], env());
      notHung(r);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /\/dev\/zero: the metadata file is a character device, not a regular file: refused/);
    });

    it('its log and command log as symbolic links are refused; their targets are not appended to', async () => {
      fs.writeFileSync(p('target'), 'keep\n');
      fs.symlinkSync(p('target'), p('init.log'));
      fs.symlinkSync(p('target'), p('cfn-init-cmd.log'));
      const r = await run('cfn-init', [metadataFile(), '--log-file', p('init.log')], env());
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.existsSync(p('ran')), true);
      assert.equal(fs.readFileSync(p('target'), 'utf8'), 'keep\n');
      assert.match(r.stderr, /cannot open log file .*init\.log .*symbolic link: refused/);
      assert.match(r.stderr, /cannot open log file .*cfn-init-cmd\.log .*symbolic link: refused/);
    });

    it('cfn-get-metadata: a cached copy that is a FIFO is refused, not waited on', async () => {
      fs.mkdirSync(p('cache', 'metadata'), { recursive: true });
      mkfifo(p('cache', 'metadata', 's.r.json'));
      const r = await run('cfn-get-metadata', ['-s', 's', '-r', 'r'], env());
      notHung(r);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /s\.r\.json: cached metadata is a FIFO, not a regular file: refused \(delete the file to refetch\)/);
    });
  });
});
