/**
 * cfn-hup's memory: the private memory (Private_Clean + Private_Dirty of
 * /proc/PID/smaps_rollup) of an idle daemon over 1,000 checks of two
 * resources against the emulator, started as user data starts it (detached)
 * and as a unit without node options starts it (--foreground); and the peak
 * RSS of one --no-daemon check beside heat-cfntools' `cfn-hup -f` (it has
 * no daemon), both in the same private namespaces with the emulator there.
 * CFNTOOLS_HUP_INTERVAL_MS makes the checks come every 50 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxUnavailable } from './sandbox-measure';
import { startEmulator, type Emulator } from '../emulator/server';

const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const EMULATOR = path.resolve(__dirname, '..', 'emulator', 'main.js');
const DEMO_STACK = path.resolve(__dirname, '..', '..', '..', 'test', 'emulator', 'stacks', 'demo.yaml');
const PEER = '/usr/bin/cfn-hup';
/** Where heat-cfntools finds the endpoint's host (boto reads it), as Heat writes the file. */
const BOTO_CFG = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'heat-wire', 'setup', 'var-lib-heat-cfntools-cfn-boto-cfg.as-heat19-writes-it');
const CHECKPOINTS = [10, 100, 250, 500, 1000];
const KEY = { accessKey: 'AKIDEXAMPLE0000000000000000000001', secretKey: 'SeCrEt/Key+With=Chars!' };

function privateKiB(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return [...text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** A configuration directory watching WebServer and WaitHandle of the demo stack; the hooks never fire. */
function configure(dir: string, url: string): void {
  fs.mkdirSync(path.join(dir, 'etc', 'hooks.d'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'creds'), `AWSAccessKeyId=${KEY.accessKey}\nAWSSecretKey=${KEY.secretKey}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'etc', 'cfn-hup.conf'), `[main]\nstack=teststack\ncredential-file=${path.join(dir, 'creds')}\nurl=${url}\nsplay=0\n`, { mode: 0o644 });
  const hook = (name: string, p: string) => `[${name}]\ntriggers=post.update\npath=${p}\naction=echo ${name} >> ${path.join(dir, 'fired')}\nrunas=root\n`;
  fs.writeFileSync(path.join(dir, 'etc', 'hooks.d', 'hooks.conf'), hook('web', 'Resources.WebServer.Metadata.AWS::CloudFormation::Init') + hook('handle', 'Resources.WaitHandle.Metadata'), { mode: 0o644 });
}

async function track(emulator: Emulator, counted: () => number, mode: 'detached' | 'foreground'): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-hup-'));
  configure(dir, emulator.apiUrl);
  const env = { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', CFNTOOLS_CFN_DIR: path.join(dir, 'etc'), CFNTOOLS_HUP_STATE_DIR: path.join(dir, 'state'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), CFNTOOLS_HUP_INTERVAL_MS: '50' };
  const pidFile = path.join(dir, 'cfn-hup.pid');
  const args = [BUNDLE, 'cfn-hup', '--log-file', path.join(dir, 'cfn-hup.log'), '--pid-file', pidFile];
  let pid: number;
  const start = counted();
  if (mode === 'detached') {
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cfn-hup did not start: ${r.stderr}`);
    pid = Number(fs.readFileSync(pidFile, 'utf8'));
  } else {
    const child = spawn(process.execPath, [...args, '--foreground'], { env, stdio: 'ignore' });
    pid = child.pid as number;
  }
  // A bench stopped by a signal must not leave the detached daemon polling for ever.
  const stopDaemon = () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: gone already
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    stopDaemon();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal).once('exit', stopDaemon);
  const samples: string[] = [];
  try {
    for (const at of CHECKPOINTS) {
      // Two resources a check.
      while ((counted() - start) / 2 < at) await new Promise((r) => setTimeout(r, 20));
      samples.push(`${at}: ${(privateKiB(pid) / 1024).toFixed(1)}`);
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', stopDaemon);
    stopDaemon();
    while (fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')) await new Promise((r) => setTimeout(r, 20));
  }
  if (fs.existsSync(path.join(dir, 'fired'))) throw new Error('a hook fired: the daemon was not idle');
  fs.rmSync(dir, { recursive: true, force: true });
  return `private MiB after N checks: ${samples.join(', ')}`;
}

const MEASURE = `
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
print(ru.ru_maxrss, os.waitstatus_to_exitcode(status))
`;

/**
 * One check by each tool, in namespaces of their own: heat-cfntools reads
 * /etc/cfn and /var/lib/heat-cfntools itself, and nothing may leave loopback.
 */
function oneCheck(argv: string[], base: string): { rssMiB: number; status: number } {
  const script = [
    'mount --bind "$1/etc-cfn" /etc/cfn',
    'mount --bind "$1/var" /var',
    'ip link set lo up',
    `"${process.execPath}" "${EMULATOR}" --port 8000 --stack "${DEMO_STACK}" --quiet > "$1/emulator.out" 2>&1 &`,
    'e=$!',
    'i=0; until grep -q listening "$1/emulator.out" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.05; i=$((i+1)); done',
    'shift',
    'python3 -c "$MEASURE" "$@"',
    'kill $e',
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', '/bin/sh', '-c', script, 'sandbox', base, ...argv], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, MEASURE, AWS_EC2_METADATA_DISABLED: 'true', CFNTOOLS_HUP_STATE_DIR: '/var/lib/cfn-hup/data', CFNTOOLS_CACHE_DIR: '/var/cache/cfntools' },
  });
  const [kib, status] = r.stdout.trim().split(/\s+/).map(Number);
  if (!kib) throw new Error(`${argv.join(' ')}: ${r.stdout}${r.stderr}`);
  return { rssMiB: kib / 1024, status };
}

function peerBase(): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-hup-peer-'));
  for (const d of ['etc-cfn/hooks.d', 'var/lib/heat-cfntools', 'var/cache', 'var/log', 'var/tmp', 'var/lib/cfn-hup/data']) fs.mkdirSync(path.join(base, d), { recursive: true });
  fs.chmodSync(path.join(base, 'var/tmp'), 0o1777);
  fs.symlinkSync('/run', path.join(base, 'var/run'));
  fs.writeFileSync(path.join(base, 'var/lib/heat-cfntools/cfn-metadata-server'), 'http://127.0.0.1:8000/v1/\n');
  fs.copyFileSync(BOTO_CFG, path.join(base, 'var/lib/heat-cfntools/cfn-boto-cfg'));
  fs.writeFileSync(path.join(base, 'etc-cfn/cfn-credentials'), `AWSAccessKeyId=${KEY.accessKey}\nAWSSecretKey=${KEY.secretKey}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(base, 'etc-cfn/cfn-hup.conf'), '[main]\nstack=teststack\ncredential-file=/etc/cfn/cfn-credentials\nurl=http://127.0.0.1:8000/v1/\nsplay=0\n', { mode: 0o644 });
  fs.writeFileSync(path.join(base, 'etc-cfn/hooks.d/web.conf'), '[web]\ntriggers=post.update\npath=Resources.WebServer.Metadata\naction=true\nrunas=root\n', { mode: 0o644 });
  return base;
}

export function peerUnavailable(): string | undefined {
  if (!fs.existsSync(PEER)) return `${PEER} (heat-cfntools) is not installed`;
  const why = sandboxUnavailable();
  if (why) return why;
  if (!fs.existsSync('/etc/cfn')) fs.mkdirSync('/etc/cfn', { recursive: true });
  return undefined;
}

export async function hupRows(): Promise<Array<[string, string]>> {
  let requests = 0;
  const emulator = await startEmulator({ stacks: [DEMO_STACK], onRequest: () => requests++ });
  const rows: Array<[string, string]> = [];
  try {
    rows.push(['cfn-hup daemon, detached (as user data starts it)', await track(emulator, () => requests, 'detached')]);
    rows.push(['cfn-hup daemon, --foreground without node options', await track(emulator, () => requests, 'foreground')]);
  } finally {
    await emulator.stop();
  }
  const why = peerUnavailable();
  if (why) rows.push(['one check beside heat-cfntools', `skipped: ${why}`]);
  else {
    const runs = 5;
    const sample = (argv: string[]) => {
      const xs = Array.from({ length: runs }, () => {
        const base = peerBase();
        try {
          return oneCheck(argv, base);
        } finally {
          fs.rmSync(base, { recursive: true, force: true });
        }
      });
      const bad = xs.find((x) => x.status !== 0);
      if (bad) throw new Error(`${argv.join(' ')} exited ${bad.status}`);
      return xs.map((x) => x.rssMiB).sort((a, b) => a - b)[Math.floor(runs / 2)];
    };
    const ours = sample([process.execPath, BUNDLE, 'cfn-hup', '--no-daemon', '--log-file', '/var/log/cfn-hup.log']);
    const peer = sample([PEER, '-f']);
    rows.push(['one check (--no-daemon / -f), peak RSS', `${ours.toFixed(1)} MiB vs heat-cfntools ${peer.toFixed(1)} MiB (${(ours / peer).toFixed(2)}x), median of ${runs}`]);
  }
  return rows;
}
