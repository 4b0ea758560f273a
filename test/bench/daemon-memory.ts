/**
 * Daemon memory as a user sees it: the daemons as their units start them
 * (cfn-hup --foreground and heat-agent from the single executable, with its
 * built-in daemon flags; Debian's os-collect-config 12, which heat-agent
 * replaces, with os-refresh-config as its command), each polling the same
 * server resource of the same emulator for 1,000 checks, as fast as each
 * allows (CFNTOOLS_HUP_INTERVAL_MS, CFNTOOLS_AGENT_INTERVAL_MS, and
 * os-collect-config's own --polling-interval, which takes fractions of a
 * second: 50 ms for all three). After 10, 100, 250, 500 and 1,000 checks,
 * counted from the emulator's requests (one DescribeStackResource a check),
 * each daemon's VmRSS (/proc/PID/status), private total (Private_Clean +
 * Private_Dirty) and anonymous memory (Anonymous) of /proc/PID/smaps_rollup.
 * The first check deploys (heat-agent runs the one deployment,
 * os-collect-config hands it to os-refresh-config); the rest find nothing
 * new. Anonymous memory counts as flat when it grows by less than FLAT_KIB
 * from check 100 to check 1,000.
 *
 * Everything runs in private mount, network and PID namespaces (this file
 * again, `--inside`): loopback only, and the daemons end with it whatever
 * happens to the bench.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import type { StackSpec } from '../emulator/stackfile';
import { OS_COLLECT_CONFIG, PeerBox, peerMissing, renderCollectConfig } from '../heat/os-collect-config';
import type { ServerMetadata } from '../heat/deployments';
import { readBackFromDisk, sandboxUnavailable } from './sandbox-measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEFAULT_EXECUTABLE = path.join(ROOT, 'packaging', 'out', 'cfntools');
const CHECKPOINTS = [10, 100, 250, 500, 1000];
const INTERVAL_MS = 50;
/** Anonymous memory growing less than this from check 100 to check 1,000 is flat. */
const FLAT_KIB = 1024;
/** A daemon whose checks stop coming for this long has failed. */
const STALL_MS = 60_000;
/** The whole part, three daemons of a minute or two each. */
const OVERALL_MS = 20 * 60_000;

const STACK = 'memstack';
const SERVER_KEY = { accessKey: 'AKIDMEMORY00000000000000000000001', secretKey: 'memory-bench/secret' };
const STACK_SPEC: StackSpec = {
  name: STACK,
  resources: {
    Server: { type: 'OS::Heat::DeployedServer', physicalId: 'srv-memory', ...SERVER_KEY },
    Script: { type: 'OS::Heat::SoftwareConfig', properties: { group: 'script', config: '#!/bin/sh\necho deployed\n' } },
    Deploy: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Script', server: 'Server', signal_transport: 'NO_SIGNAL', name: '10_deploy' } },
  },
};

interface Sample {
  checks: number;
  vmRssKiB: number;
  privateKiB: number;
  anonKiB: number;
}

/** The memory of process `pid` now. */
function sample(pid: number, checks: number): Sample {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
  const s = { checks, vmRssKiB: kib(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS'), privateKiB: kib(rollup, 'Private_Clean') + kib(rollup, 'Private_Dirty'), anonKiB: kib(rollup, 'Anonymous') };
  if (Object.values(s).some(Number.isNaN)) throw new Error(`/proc/${pid}: VmRSS, Private_Clean, Private_Dirty or Anonymous missing`);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exited = (pid: number) => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
const tail = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(-2000) : '(no log)');

/** A daemon started: its process, its log, and what to remove once it has stopped. */
interface Started {
  pid: number;
  log: string;
  dir: string;
}

/** One daemon: started in a directory of its own against the emulator. */
interface Daemon {
  label: string;
  /** Its program files, read back from disk before it starts (sandbox-measure.ts says why). */
  programs: string[];
  start(emulator: Emulator): Started;
}

/** The emulator's checks of the server: DescribeStackResource answered; any other request is the daemon failing. */
class CheckCounter {
  count = 0;
  refused: string[] = [];
  see(entry: { action?: string; status: number | 'reset'; verified?: string; path: string }): void {
    if (entry.action === 'DescribeStackResource' && entry.status === 200 && entry.verified === 'ok') this.count++;
    else if (this.refused.length < 5) this.refused.push(`${entry.path} -> ${entry.status} ${entry.verified ?? ''}`);
  }
}

async function follow(daemon: Daemon, emulator: Emulator, counter: CheckCounter): Promise<Sample[]> {
  readBackFromDisk(daemon.programs);
  const start = counter.count;
  const d = daemon.start(emulator);
  const samples: Sample[] = [];
  const why = (what: string) => new Error(`${daemon.label}: ${what} after ${counter.count - start} checks; its log ends:\n${tail(d.log)}`);
  try {
    for (const at of CHECKPOINTS) {
      let seen = counter.count;
      let movedAt = Date.now();
      while (counter.count - start < at) {
        if (exited(d.pid)) throw why('exited');
        if (counter.refused.length) throw why(`requests refused (${counter.refused.join('; ')})`);
        if (counter.count !== seen) [seen, movedAt] = [counter.count, Date.now()];
        else if (Date.now() - movedAt > STALL_MS) throw why(`no check for ${STALL_MS / 1000} s`);
        await sleep(5);
      }
      samples.push(sample(d.pid, at));
    }
  } finally {
    process.kill(d.pid, 'SIGTERM');
    while (!exited(d.pid)) await sleep(20);
  }
  if (fs.existsSync(path.join(d.dir, 'fired'))) throw why('a hook fired: the daemon was not idle');
  fs.rmSync(d.dir, { recursive: true, force: true });
  return samples;
}

const DAEMONS = ['cfn-hup', 'heat-agent', 'os-collect-config'] as const;
type DaemonName = (typeof DAEMONS)[number];
const LABELS: Record<DaemonName, string> = {
  'cfn-hup': 'cfn-hup (executable, --foreground)',
  'heat-agent': 'heat-agent (executable, cfn collector)',
  'os-collect-config': 'os-collect-config 12 (Debian, cfn collector, os-refresh-config)',
};

const serverBlock = (emulator: Emulator) => (emulator.resource(STACK, 'Server').metadata as ServerMetadata)['os-collect-config'];

const cfnHup = (exe: string): Daemon => ({
  label: LABELS['cfn-hup'],
  programs: [exe],
  start(emulator) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-hup-'));
    const etc = path.join(dir, 'etc');
    fs.mkdirSync(path.join(etc, 'hooks.d'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'creds'), `AWSAccessKeyId=${SERVER_KEY.accessKey}\nAWSSecretKey=${SERVER_KEY.secretKey}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(etc, 'cfn-hup.conf'), `[main]\nstack=${STACK}\ncredential-file=${path.join(dir, 'creds')}\nurl=${emulator.apiUrl}\nsplay=0\n`, { mode: 0o644 });
    // The metadata never changes: the hook never fires.
    fs.writeFileSync(path.join(etc, 'hooks.d', 'server.conf'), `[server]\ntriggers=post.update\npath=Resources.Server.Metadata\naction=touch ${path.join(dir, 'fired')}\nrunas=root\n`, { mode: 0o644 });
    const env = { PATH: process.env.PATH, LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true', CFNTOOLS_CFN_DIR: etc, CFNTOOLS_HUP_STATE_DIR: path.join(dir, 'state'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), CFNTOOLS_HUP_INTERVAL_MS: String(INTERVAL_MS) };
    const log = path.join(dir, 'cfn-hup.log');
    const child = spawn(exe, ['cfn-hup', '--foreground', '--log-file', log, '--pid-file', path.join(dir, 'cfn-hup.pid')], { env, stdio: 'ignore' });
    return { pid: child.pid!, log, dir };
  },
});

const heatAgent = (exe: string): Daemon => ({
  label: LABELS['heat-agent'],
  programs: [exe],
  start(emulator) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-agent-'));
    // The file heat-agents' os-apply-config template renders from the server's block, as os-collect-config gets it.
    const conf = path.join(dir, 'os-collect-config.conf');
    fs.writeFileSync(conf, `${renderCollectConfig(serverBlock(emulator), 'os-refresh-config')}\n[local]\npath = ${path.join(dir, 'local-data')}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(dir, 'hooks'));
    const at = (name: string) => path.join(dir, name);
    const env = {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      AWS_EC2_METADATA_DISABLED: 'true',
      CFNTOOLS_HEAT_AGENT_DIR: at('state'),
      CFNTOOLS_HEAT_CONFIG_DIR: at('heat-config'),
      CFNTOOLS_HEAT_DIR: at('heat-cfntools'),
      CFNTOOLS_STATE_DIR: at('cfn-init-state'),
      CFNTOOLS_CACHE_DIR: at('cache'),
      OS_REFRESH_CONFIG_BASE_DIR: at('orc'),
      HEAT_SHELL_CONFIG: at('heat-shell-config'),
      CFNTOOLS_AGENT_INTERVAL_MS: String(INTERVAL_MS),
    };
    const log = at('heat-agent.log');
    const child = spawn(exe, ['heat-agent', '--config', conf, '--hooks-dir', at('hooks'), '--log-file', log], { env, stdio: 'ignore' });
    return { pid: child.pid!, log, dir };
  },
});

const osCollectConfig: Daemon = {
  label: LABELS['os-collect-config'],
  programs: ['/usr/bin/python3', OS_COLLECT_CONFIG],
  start(emulator) {
    const box = new PeerBox('memory');
    box.configure(serverBlock(emulator));
    const argv = box.argv({ pollingS: INTERVAL_MS / 1000 });
    const child = spawn(argv[0], argv.slice(1), { env: box.env, cwd: box.dir, stdio: 'ignore' });
    return { pid: child.pid!, log: box.logFile, dir: box.dir };
  },
};

/** Inside the namespaces: the daemons named, in turn, against one emulator. */
async function inside(exe: string, names: DaemonName[]): Promise<Record<string, Sample[]>> {
  const counter = new CheckCounter();
  const emulator = await startEmulator({ stacks: [STACK_SPEC], onRequest: (e) => counter.see(e) });
  const daemons: Record<DaemonName, Daemon> = { 'cfn-hup': cfnHup(exe), 'heat-agent': heatAgent(exe), 'os-collect-config': osCollectConfig };
  const out: Record<string, Sample[]> = {};
  try {
    for (const name of names) out[name] = await follow(daemons[name], emulator, counter);
  } finally {
    await emulator.stop();
  }
  return out;
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

/** Anonymous memory's growth from check 100 to check 1,000, in KiB. */
function anonGrowthKiB(samples: Sample[]): number {
  const at = (n: number) => samples.find((s) => s.checks === n)!.anonKiB;
  return at(1000) - at(100);
}

function row(label: string, samples: Sample[]): [string, string] {
  const figures = samples.map((s) => `${s.checks}: ${mib(s.vmRssKiB)}/${mib(s.privateKiB)}/${mib(s.anonKiB)}`).join(', ');
  const growth = anonGrowthKiB(samples);
  const verdict = growth < FLAT_KIB ? `flat (under ${FLAT_KIB / 1024} MiB)` : `NOT flat (${FLAT_KIB / 1024} MiB or more)`;
  return [`daemon memory: ${label}`, `MiB VmRSS/private/anonymous after N checks: ${figures}; anonymous ${growth >= 0 ? '+' : ''}${mib(growth)} MiB from 100 to 1,000 checks: ${verdict}`];
}

export function daemonMemoryRows(): Array<[string, string]> {
  // The executable measured: CFNTOOLS_BENCH_EXECUTABLE, else the one `npm run package` builds.
  const exe = process.env.CFNTOOLS_BENCH_EXECUTABLE || DEFAULT_EXECUTABLE;
  const sandbox = sandboxUnavailable();
  const exeMissing = fs.existsSync(exe) ? undefined : `${path.relative(ROOT, exe)} is missing: run npm run package, or set CFNTOOLS_BENCH_EXECUTABLE`;
  const skip: Record<DaemonName, string | undefined> = {
    'cfn-hup': sandbox ?? exeMissing,
    'heat-agent': sandbox ?? exeMissing,
    'os-collect-config': sandbox ?? peerMissing(),
  };
  const names = DAEMONS.filter((n) => !skip[n]);
  let measured: Record<string, Sample[]> = {};
  if (names.length) {
    const r = spawnSync(
      'unshare',
      ['-m', '-n', '-p', '--fork', '--mount-proc', '--propagation', 'private', '/bin/sh', '-c', 'ip link set lo up && exec "$@"', 'sandbox', process.execPath, __filename, '--inside', exe, ...names],
      { encoding: 'utf8', timeout: OVERALL_MS, killSignal: 'SIGKILL', env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true' } },
    );
    if (r.status !== 0) throw new Error(`daemon memory (${names.join(', ')}): ${r.error?.message ?? `exit ${r.status}`}\n${r.stdout}${r.stderr}`);
    measured = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, Sample[]>;
  }
  return DAEMONS.map((n) => (skip[n] ? [`daemon memory: ${LABELS[n]}`, `skipped: ${skip[n]}`] : row(LABELS[n], measured[n])));
}

if (require.main === module) {
  if (process.argv[2] === '--inside') {
    inside(process.argv[3], process.argv.slice(4) as DaemonName[]).then(
      (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
      (err: Error) => {
        process.stderr.write(`${err.stack ?? err.message}\n`);
        process.exitCode = 1;
      },
    );
  } else for (const [k, v] of daemonMemoryRows()) console.log(`${k}  ${v}`);
}
