/**
 * The boot tests' driver, run by boot.test.ts as
 *
 *   unshare -m -n -p -f --kill-child --mount-proc -- node boot-driver.js ARGS
 *
 * (ARGS: JSON of DriverArgs): a mount namespace whose mounts go with it, a
 * network namespace with only `lo` (no packet can leave: the containers share
 * it, cloud-init included), a pid namespace whose end kills everything. It
 * starts the endpoint emulator on 127.0.0.1 and boots the boot root
 * (scripts/make-boot-root.sh: Debian with systemd, cloud-init, no libatomic1)
 * twice, each time on an overlay whose changes stay on a tmpfs:
 *
 * 1. cloud-init: a NoCloud seed whose user data installs the .deb with
 *    dpkg -i, runs cfn-init against the emulator and signals its wait
 *    condition handle (docs/INSTALL.md's recipe);
 * 2. services: the .deb installed by hand, then cfn-hup.service, heat-agent.service,
 *    reload with a good and a broken hook file, logrotate, stop during a
 *    running hook, cfn-hup.timer, cfn-init's reboot and resume across a reboot
 *    of the container, dpkg -r and dpkg --purge.
 *
 * It asserts nothing: it records (boot-results.ts) and the suite judges.
 * Every command and wait has its bound.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Emulator, startEmulator } from '../emulator/server';
import type { StackSpec } from '../emulator/stackfile';
import { Recorder } from './boot-results';
import { BootError, Container, type Step } from './container';

export interface DriverArgs {
  /** The boot root, only read. */
  root: string;
  deb: string;
  /** An empty directory: a tmpfs is mounted there for the overlays. */
  work: string;
  /** Where results.json and the consoles go. */
  out: string;
}

export const STACK = 'bootstack';
/** The instance's key (a Heat stack user's). */
export const INSTANCE_KEY = { accessKey: 'AKIDBOOTTEST00000000000000000001', secretKey: 'boot/Test+Secret=Key' };
/** Where hooks, scripts and commands leave their marks, inside: kept across reboots (nspawn's /tmp is a tmpfs). */
export const MARKS = '/var/tmp/cfntools-boot';
/** The background child the slow hook leaves: the unit's stop must take it too. */
export const ORPHAN_SECONDS = 613;

const WEB_INIT = {
  'AWS::CloudFormation::Init': {
    config: {
      files: { '/etc/cfntools-boot/cloud-init.txt': { content: 'configured by cloud-init\n', mode: '000644', owner: 'root', group: 'root' } },
      commands: { '10_mark': { command: 'echo cfn-init ran > /etc/cfntools-boot/command.txt' } },
    },
  },
};

const REBOOT_INIT = {
  'AWS::CloudFormation::Init': {
    configSets: { default: ['before', 'after'] },
    before: {
      commands: {
        '10_before': { command: `mkdir -p ${MARKS}/resume && cat /proc/sys/kernel/random/boot_id > ${MARKS}/resume/before` },
        '20_reboot': { command: `echo reboot >> ${MARKS}/resume/reboots && systemctl reboot`, waitAfterCompletion: 'forever' },
        '30_after': { command: `cat /proc/sys/kernel/random/boot_id > ${MARKS}/resume/after` },
      },
    },
    after: { files: { '/etc/cfntools-boot/resumed.txt': { content: 'the rest of the configuration\n', mode: '000644' } } },
  },
};

function bootStack(): StackSpec {
  return {
    name: STACK,
    resources: {
      WebServer: { type: 'AWS::EC2::Instance', metadata: WEB_INIT },
      Rebooter: { type: 'AWS::EC2::Instance', metadata: REBOOT_INIT },
      WaitHandle: { type: 'AWS::CloudFormation::WaitConditionHandle' },
      WaitCondition: { type: 'AWS::CloudFormation::WaitCondition', handle: 'WaitHandle', count: 1 },
      // heat-agent polls every 2 s (the block's polling_interval, which Heat keeps): no wait of 30 s in a test.
      Agent: { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: 'POLL_SERVER_HEAT' }, metadata: { 'os-collect-config': { polling_interval: 2 } } },
      Script: {
        type: 'OS::Heat::SoftwareConfig',
        properties: {
          group: 'script',
          config: `#!/bin/sh\nmkdir -p ${MARKS}\necho "deployed $greeting" > ${MARKS}/deployed.txt\necho "$greeting!" > "$heat_outputs_path.result"\n`,
          inputs: [{ name: 'greeting', default: 'world' }],
          outputs: [{ name: 'result' }],
        },
      },
      Deploy: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Script', server: 'Agent', input_values: { greeting: 'boot' }, signal_transport: 'HEAT_SIGNAL', name: '10_boot' } },
    },
    credentials: [INSTANCE_KEY],
  };
}

/** A cfn-hup hook action: which unit ran it (from its cgroup), which hook, the new value. */
const HOOK_SCRIPT = `#!/bin/sh
unit=$(grep -o '[^/]*\\.service' /proc/self/cgroup | head -n 1)
echo "value=$CFN_NEW_METADATA"
mkdir -p ${MARKS}
printf '%s %s %s\\n' "\${unit:-none}" "$1" "$CFN_NEW_METADATA" >>${MARKS}/hooks.log
`;

/** A hook action that runs until the driver releases it (bounded), leaving a background child behind. */
const SLOW_HOOK_SCRIPT = `#!/bin/sh
mkdir -p ${MARKS}
sleep ${ORPHAN_SECONDS} </dev/null >/dev/null 2>&1 &
echo $! > ${MARKS}/slow.child
: > ${MARKS}/slow.started
i=0
while [ ! -e ${MARKS}/slow.release ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
echo done > ${MARKS}/slow.done
`;

/**
 * The shortest cfn-hup.timer that still goes through the unit chain (timer ->
 * cfn-hup-pass.service -> cfn-hup --no-daemon). One empty On...Sec= resets
 * every trigger of the unit (systemd.timer(5)), so it comes first, once.
 */
const TIMER_DROP_IN = `[Timer]
OnBootSec=
OnActiveSec=1s
OnUnitInactiveSec=2s
RandomizedDelaySec=0
AccuracySec=100ms
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function must(file: string, args: string[]): void {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new BootError(`${file} ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
}

function tail(s: Step): string {
  return `${s.err}${s.out}`.trim().split('\n').slice(-10).join('\n');
}

class Driver {
  private overlays = 0;

  constructor(
    readonly args: DriverArgs,
    readonly rec: Recorder,
    readonly emu: Emulator,
  ) {}

  /** A fresh overlay of the root; its changes on the work tmpfs. */
  overlay(name: string): string {
    const base = path.join(this.args.work, `${++this.overlays}-${name}`);
    for (const d of ['upper', 'work', 'root']) fs.mkdirSync(path.join(base, d), { recursive: true });
    const root = path.join(base, 'root');
    try {
      must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.args.root},upperdir=${base}/upper,workdir=${base}/work`, root]);
    } catch (err) {
      // Every boot runs on an overlay (the cached root is never written): without one there is no boot here.
      this.rec.results.cannotBoot = `no overlayfs over ${this.args.root}: ${(err as Error).message}`;
      throw new BootError(this.rec.results.cannotBoot);
    }
    return root;
  }

  container(name: string): Container {
    return new Container(this.overlay(name), `cfntools-${name}-${process.pid}`, path.join(this.args.out, `console-${name}.log`));
  }

  /** Boots; on the machine's first boot a failure of nspawn itself means this machine cannot boot containers. */
  async boot(c: Container, part: string, first: boolean, timeoutMs = 120_000): Promise<string> {
    try {
      await c.boot(30_000);
    } catch (err) {
      if (first) this.rec.results.cannotBoot = (err as Error).message;
      throw err;
    } finally {
      this.rec.results.consoles[c.name] = c.consoleTail();
    }
    const state = await c.waitBooted(timeoutMs);
    this.rec.fact(`${part}.state${c.boots > 1 ? `.${c.boots}` : ''}`, state);
    this.rec.step(`${part}.failed-units${c.boots > 1 ? `.${c.boots}` : ''}`, await c.exec(['systemctl', '--failed', '--plain', '--no-legend']));
    return state;
  }

  /** Polls `probe` until it says done or `timeoutMs` has passed; records either. */
  async waitFor(name: string, timeoutMs: number, probe: () => Promise<[boolean, string]> | [boolean, string]): Promise<boolean> {
    const start = Date.now();
    for (;;) {
      const [done, last] = await probe();
      const ms = Date.now() - start;
      if (done || ms >= timeoutMs) return this.rec.wait(name, { met: done, ms, last });
      await sleep(200);
    }
  }

  async step(name: string, p: Promise<Step>): Promise<Step> {
    return this.rec.step(name, await p);
  }

  signalUrl(): string {
    return this.emu.signalUrls(STACK, 'WaitHandle').sigv2;
  }

  setWeb(extra: Record<string, unknown>): void {
    this.emu.setMetadata(STACK, 'WebServer', { ...WEB_INIT, ...extra });
  }

  // ---- 1. cloud-init ----

  async cloudInit(): Promise<void> {
    const c = this.container('cloud');
    c.write('/root/cfntools.deb', fs.readFileSync(this.args.deb));
    const api = this.emu.apiUrl;
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // INSTALL.md's recipe, with the package from the image instead of a download; runcmd is one sh script.
    const runcmd = [
      'dpkg -i /root/cfntools.deb',
      `cfn-init -s ${STACK} -r WebServer -u ${q(api)} --access-key ${q(INSTANCE_KEY.accessKey)} --secret-key ${q(INSTANCE_KEY.secretKey)} || status=$?`,
      `cfn-signal -e "\${status:-0}" -r 'configured by cloud-init' -i cloud-init -d "$(cat /etc/cfntools-boot/cloud-init.txt)" ${q(this.signalUrl())}`,
    ];
    c.write('/var/lib/cloud/seed/nocloud/meta-data', `instance-id: cfntools-boot-${process.pid}\nlocal-hostname: cfntools-boot\n`);
    c.write('/var/lib/cloud/seed/nocloud/user-data', `#cloud-config\nruncmd:\n${runcmd.map((l) => `  - ${JSON.stringify(l)}\n`).join('')}`, 0o600);
    try {
      await this.boot(c, 'cloud', true, 300_000);
      await this.waitFor('cloud.signalled', 30_000, () => {
        const r = this.emu.resource(STACK, 'WaitCondition');
        return [r.status !== 'CREATE_IN_PROGRESS', r.status];
      });
      this.rec.fact('cloud.wait-condition', this.emu.resource(STACK, 'WaitCondition'));
      await this.step('cloud.status', c.exec(['cloud-init', 'status', '--long']));
      await this.step('cloud.installed', c.exec(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'cfntools']));
      await this.step('cloud.absent', c.sh("dpkg-query -W -f='${Status}\\n' libatomic1 2>/dev/null; command -v node nodejs; true"));
      await this.step('cloud.applied', c.sh('cat /etc/cfntools-boot/cloud-init.txt /etc/cfntools-boot/command.txt'));
      this.rec.fact('cloud.output', c.read('/var/log/cloud-init-output.log') ?? '(no /var/log/cloud-init-output.log)');
    } finally {
      this.rec.results.consoles[c.name] = c.consoleTail();
      this.rec.fact('cloud.poweroff', await c.poweroff(60_000));
    }
  }

  // ---- 2. services ----

  async services(): Promise<void> {
    const c = this.container('main');
    c.write('/etc/cloud/cloud-init.disabled', '');
    c.write('/root/cfntools.deb', fs.readFileSync(this.args.deb));
    c.write('/usr/local/sbin/cfntools-boot-hook', HOOK_SCRIPT, 0o755);
    c.write('/usr/local/sbin/cfntools-boot-slow-hook', SLOW_HOOK_SCRIPT, 0o755);
    try {
      await this.boot(c, 'main', false);
      await this.step('main.absent', c.sh("dpkg-query -W -f='${Status}\\n' libatomic1 2>/dev/null; command -v node nodejs; true"));
      const install = await this.step('install', c.exec(['dpkg', '-i', '/root/cfntools.deb'], 180_000));
      if (install.rc !== 0) {
        this.rec.stopped('services', `dpkg -i /root/cfntools.deb exited ${install.rc}: ${tail(install)}`);
        return;
      }
      await this.step('installed', c.exec(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'cfntools']));
      for (const [part, run] of [
        ['cfn-hup.service', () => this.hupService(c)],
        ['heat-agent.service', () => this.heatAgent(c)],
        ['reload', () => this.reload(c)],
        ['logrotate', () => this.logrotate(c)],
        ['stop', () => this.stopDuringHook(c)],
        ['cfn-hup.timer', () => this.timer(c)],
      ] as const) {
        try {
          await run();
        } catch (err) {
          this.rec.stopped(part, (err as Error).message);
        }
      }
      // The reboot ends this boot; the resume and the removal run in the next.
      await this.resume(c);
      await this.removal(c);
    } finally {
      this.rec.results.consoles[c.name] = c.consoleTail();
      this.rec.fact('main.poweroff', await c.poweroff(60_000));
    }
  }

  hookLines(c: Container): string[] {
    return (c.read(`${MARKS}/hooks.log`) ?? '').split('\n').filter(Boolean);
  }

  waitHook(c: Container, name: string, line: string, timeoutMs = 30_000): Promise<boolean> {
    return this.waitFor(name, timeoutMs, () => {
      const lines = this.hookLines(c);
      return [lines.includes(line), lines.slice(-5).join(' | ') || '(no hook has run)'];
    });
  }

  async unitProperty(c: Container, unit: string, prop: string): Promise<string> {
    return (await c.exec(['systemctl', 'show', '-P', prop, unit])).out.trim();
  }

  async journal(c: Container, name: string, unit: string): Promise<Step> {
    return this.step(name, c.exec(['journalctl', '--no-pager', '-o', 'cat', '-u', unit]));
  }

  async hupService(c: Container): Promise<void> {
    c.write('/etc/cfn/cfn-credentials', `AWSAccessKeyId=${INSTANCE_KEY.accessKey}\nAWSSecretKey=${INSTANCE_KEY.secretKey}\n`, 0o600);
    c.write('/etc/cfn/cfn-hup.conf', `[main]\nstack=${STACK}\nurl=${this.emu.apiUrl}\ncredential-file=/etc/cfn/cfn-credentials\ninterval=2s\nsplay=0\n`, 0o600);
    c.write('/etc/cfn/hooks.d/boot.conf', '[boot-hook]\ntriggers=post.add,post.update\npath=Resources.WebServer.Metadata.boot\naction=/usr/local/sbin/cfntools-boot-hook boot-hook\n');
    this.setWeb({ boot: 'one' });
    await this.step('hup.enable', c.exec(['systemctl', 'enable', '--now', 'cfn-hup.service']));
    await this.waitHook(c, 'hup.add', 'cfn-hup.service boot-hook one');
    this.setWeb({ boot: 'two' });
    await this.waitHook(c, 'hup.update', 'cfn-hup.service boot-hook two');
    await this.waitFor('hup.journal', 15_000, async () => {
      const j = await this.journal(c, 'hup.journal', 'cfn-hup.service');
      return [/boot-hook/.test(j.out), `${j.out.split('\n').length} lines`];
    });
  }

  async heatAgent(c: Container): Promise<void> {
    // Heat's boot data as its part handler writes it: the server's metadata with its collector's block.
    const meta = this.emu.resource(STACK, 'Agent').metadata as Record<string, unknown>;
    c.write('/var/lib/heat-cfntools/cfn-init-data', JSON.stringify({ ...meta, deployments: [] }), 0o600);
    await this.step('agent.start', c.exec(['systemctl', 'start', 'heat-agent.service']));
    await this.waitFor('agent.deployed', 60_000, () => {
      const d = this.emu.deployment(STACK, 'Deploy');
      return [!d.status.endsWith('_IN_PROGRESS'), d.status];
    });
    this.rec.fact('agent.deployment', this.emu.deployment(STACK, 'Deploy'));
    this.rec.fact('agent.effect', c.read(`${MARKS}/deployed.txt`) ?? null);
    await this.step('agent.active', c.exec(['systemctl', 'is-active', 'heat-agent.service']));
    await this.waitFor('agent.journal', 15_000, async () => {
      const j = await this.journal(c, 'agent.journal', 'heat-agent.service');
      return [/10_boot/.test(j.out), `${j.out.split('\n').length} lines`];
    });
  }

  async reload(c: Container): Promise<void> {
    const pid = await this.unitProperty(c, 'cfn-hup.service', 'MainPID');
    this.rec.fact('reload.pid-before', pid);
    c.write('/etc/cfn/hooks.d/second.conf', '[second-hook]\ntriggers=post.add,post.update\npath=Resources.WebServer.Metadata.second\naction=/usr/local/sbin/cfntools-boot-hook second-hook\n');
    await this.step('reload.good', c.exec(['systemctl', 'reload', 'cfn-hup.service']));
    this.setWeb({ boot: 'two', second: 'one' });
    await this.waitHook(c, 'reload.good.hook', 'cfn-hup.service second-hook one');

    c.write('/etc/cfn/hooks.d/zz-broken.conf', '[broken-hook]\ntriggers=post.nonsense\npath=Resources.WebServer.Metadata.broken\naction=/bin/true\n');
    await this.step('reload.broken', c.exec(['systemctl', 'reload', 'cfn-hup.service']));
    await this.waitFor('reload.broken.journal', 15_000, async () => {
      const j = await this.journal(c, 'reload.broken.journal', 'cfn-hup.service');
      return [/zz-broken\.conf/.test(j.out), j.out.trim().split('\n').slice(-3).join(' | ')];
    });
    this.rec.fact('reload.broken.active', await this.unitProperty(c, 'cfn-hup.service', 'ActiveState'));
    this.rec.fact('reload.broken.pid', await this.unitProperty(c, 'cfn-hup.service', 'MainPID'));
    this.setWeb({ boot: 'three', second: 'one' });
    await this.waitHook(c, 'reload.broken.old-config', 'cfn-hup.service boot-hook three');
    fs.rmSync(path.join(c.dir, 'etc/cfn/hooks.d/zz-broken.conf'));
    await this.step('reload.fixed', c.exec(['systemctl', 'reload', 'cfn-hup.service']));
  }

  async logrotate(c: Container): Promise<void> {
    const pids = async () => ({ hup: await this.unitProperty(c, 'cfn-hup.service', 'MainPID'), agent: await this.unitProperty(c, 'heat-agent.service', 'MainPID') });
    this.rec.fact('logrotate.pids-before', await pids());
    await this.step('logrotate', c.exec(['logrotate', '-v', '-f', '/etc/logrotate.d/cfntools']));
    // Something for each daemon to log after the rotation: a metadata change, a deployment update.
    this.setWeb({ boot: 'rotated', second: 'one' });
    this.emu.updateDeployment(STACK, 'Deploy', { greeting: 'rotated' });
    await this.waitHook(c, 'logrotate.hook', 'cfn-hup.service boot-hook rotated');
    await this.waitFor('logrotate.deployed', 60_000, () => {
      const d = this.emu.deployment(STACK, 'Deploy');
      return [d.status === 'UPDATE_COMPLETE' || d.status.endsWith('_FAILED'), d.status];
    });
    await this.waitFor('logrotate.reopened', 15_000, () => {
      const hup = c.read('/var/log/cfn-hup.log') ?? '';
      const agent = c.read('/var/log/heat-agent.log') ?? '';
      return [hup.includes('value=rotated') && /10_boot/.test(agent), `cfn-hup.log ${hup.length} characters, heat-agent.log ${agent.length}`];
    });
    this.rec.fact('logrotate.pids-after', await pids());
    await this.step('logrotate.files', c.sh('cd /var/log && stat -c "%n %a %U" cfn-hup.log cfn-hup.log.1 heat-agent.log heat-agent.log.1'));
    this.rec.fact('logrotate.hup-old', c.read('/var/log/cfn-hup.log.1') ?? null);
    this.rec.fact('logrotate.hup-new', c.read('/var/log/cfn-hup.log') ?? null);
  }

  async stopDuringHook(c: Container): Promise<void> {
    c.write('/etc/cfn/hooks.d/slow.conf', '[slow-hook]\ntriggers=post.add,post.update\npath=Resources.WebServer.Metadata.slow\naction=/usr/local/sbin/cfntools-boot-slow-hook\n');
    await this.step('stop.reload', c.exec(['systemctl', 'reload', 'cfn-hup.service']));
    this.setWeb({ boot: 'rotated', second: 'one', slow: 'go' });
    try {
      if (!(await this.waitFor('stop.hook-started', 30_000, () => [c.read(`${MARKS}/slow.started`) !== undefined, 'the slow hook has not started']))) return;
      await this.step('stop.ask', c.exec(['systemctl', 'stop', '--no-block', 'cfn-hup.service']));
      // systemd has sent SIGTERM and waits for the daemon, which waits for its hook.
      await this.waitFor('stop.waits-for-hook', 15_000, async () => {
        const state = await this.unitProperty(c, 'cfn-hup.service', 'ActiveState');
        return [state === 'deactivating', state];
      });
      this.rec.fact('stop.hook-running', c.read(`${MARKS}/slow.done`) === undefined);
    } finally {
      c.write(`${MARKS}/slow.release`, '');
    }
    const start = Date.now();
    await this.waitFor('stop.stopped', 60_000, async () => {
      const state = await this.unitProperty(c, 'cfn-hup.service', 'ActiveState');
      return [state === 'inactive' || state === 'failed', state];
    });
    this.rec.fact('stop.ms-after-release', Date.now() - start);
    this.rec.fact('stop.result', await this.unitProperty(c, 'cfn-hup.service', 'Result'));
    this.rec.fact('stop.hook-done', c.read(`${MARKS}/slow.done`) ?? null);
    const child = (c.read(`${MARKS}/slow.child`) ?? '').trim();
    await this.step('stop.orphan', c.sh(`ps -o pid=,args= -p ${Number(child) || 0}; pgrep -a -f '^sleep ${ORPHAN_SECONDS}$'; true`));
    await this.journal(c, 'stop.journal', 'cfn-hup.service');
  }

  async timer(c: Container): Promise<void> {
    c.write('/etc/systemd/system/cfn-hup.timer.d/cfntools-boot-test.conf', TIMER_DROP_IN);
    await this.step('timer.daemon-reload', c.exec(['systemctl', 'daemon-reload']));
    this.setWeb({ boot: 'timer', second: 'one', slow: 'go' });
    await this.step('timer.start', c.exec(['systemctl', 'start', 'cfn-hup.timer']));
    await this.waitHook(c, 'timer.hook', 'cfn-hup-pass.service boot-hook timer', 60_000);
    this.rec.fact('timer.service-state', await this.unitProperty(c, 'cfn-hup.service', 'ActiveState'));
    await this.step('timer.stop', c.exec(['systemctl', 'stop', 'cfn-hup.timer']));
    await this.journal(c, 'timer.journal', 'cfn-hup-pass.service');
  }

  async resume(c: Container): Promise<void> {
    try {
      await this.step('resume.enable', c.exec(['systemctl', 'enable', 'cfn-init-resume.service']));
      // cfn-init may be ended by the shutdown it asked for: its progress is saved before the command runs.
      await this.step('resume.init', c.exec(['cfn-init', '-s', STACK, '-r', 'Rebooter', '-u', this.emu.apiUrl, '--access-key', INSTANCE_KEY.accessKey, '--secret-key', INSTANCE_KEY.secretKey], 120_000));
      this.rec.fact('resume.exit', await c.waitExit(90_000));
      this.rec.results.consoles[c.name] = c.consoleTail();
      await this.boot(c, 'main', false);
      await this.step('resume.boot-id', c.exec(['cat', '/proc/sys/kernel/random/boot_id']));
      await this.step('resume.unit', c.exec(['systemctl', 'show', '-p', 'ActiveState', '-p', 'Result', '-p', 'ExecMainStatus', 'cfn-init-resume.service']));
      await this.journal(c, 'resume.journal', 'cfn-init-resume.service');
      for (const f of ['before', 'after', 'reboots']) this.rec.fact(`resume.${f}`, c.read(`${MARKS}/resume/${f}`) ?? null);
      this.rec.fact('resume.rest', c.read('/etc/cfntools-boot/resumed.txt') ?? null);
      this.rec.fact('resume.progress-left', fs.existsSync(path.join(c.dir, 'var/lib/cfntools/cfn-init/progress.json')));
    } catch (err) {
      this.rec.stopped('resume', (err as Error).message);
    }
  }

  async removal(c: Container): Promise<void> {
    if (c.pid1 === undefined) {
      this.rec.stopped('removal', 'the container did not come back from the reboot');
      return;
    }
    const files = `
      find /var/log -maxdepth 1 \\( -name 'cfn-*' -o -name 'heat-agent.log*' \\) | sort
      for d in /var/lib/cfn-hup /var/lib/cfntools /var/lib/heat-agent /var/cache/cfntools; do [ ! -e "$d" ] || echo "$d"; done
      find /var/cache/cfntools -name '*.json' 2>/dev/null | sort`;
    // By what they run, whatever name they were started under (a deleted executable too).
    const processes = `for p in /proc/[0-9]*; do case "$(readlink "$p/exe" 2>/dev/null)" in /usr/bin/cfntools*) echo "\${p#/proc/} $(tr '\\0' ' ' <"$p/cmdline")";; esac; done`;
    await this.step('remove.before', c.sh(files));
    // cfn-hup.service was enabled: it came back with the boot, and removal has to stop it.
    await this.step('remove.running', c.sh(processes));
    await this.step('remove', c.exec(['dpkg', '-r', 'cfntools'], 60_000));
    await this.step('remove.kept', c.sh(files));
    await this.step('remove.left-running', c.sh(processes));
    await this.step('purge', c.exec(['dpkg', '--purge', 'cfntools'], 60_000));
    await this.step('purge.left', c.sh(files));
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as DriverArgs;
  const rec = new Recorder(path.join(args.out, 'results.json'));
  try {
    must('ip', ['link', 'set', 'lo', 'up']);
    must('mount', ['-t', 'tmpfs', '-o', 'size=4g,mode=0755', 'cfntools-boot', args.work]);
    // nspawn keeps its locks under /run/systemd/nspawn: on a tmpfs of this namespace, nothing stays on the host.
    must('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'cfntools-boot-run', '/run']);
  } catch (err) {
    rec.results.cannotBoot = (err as Error).message;
    rec.save();
    return;
  }
  let emu: Emulator | undefined;
  try {
    emu = await startEmulator({ stacks: [bootStack()] });
    rec.fact('emulator', emu.url);
    const d = new Driver(args, rec, emu);
    for (const [part, run] of [['cloud-init', () => d.cloudInit()], ['services', () => d.services()]] as const) {
      if (rec.results.cannotBoot) break;
      try {
        await run();
      } catch (err) {
        rec.stopped(part, (err as Error).message);
      }
    }
  } finally {
    await emu?.stop();
    rec.save();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`boot driver: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
