/**
 * cfn-init beside heat-cfntools' cfn-init on the same metadata, in one run:
 * a generated config of 1,000 files and 100 commands, and its parts (start-up
 * alone, files alone, commands alone) to show where the time goes.
 *
 * Both tools run the same way, as Heat starts them: no arguments, the
 * metadata in /var/lib/heat-cfntools/cfn-init-data. Each run gets a fresh
 * sandbox (private mount and network namespaces, a directory bound over
 * /var and another over /srv, where the files go), prepared and synced to
 * disk before the clock starts. The sandboxes live on an ext4 file system
 * of their own (a loop-mounted image, made by the bench): on a shared disk
 * mounted with `discard`, the removal of the previous run's files made the
 * next run's writes up to three times slower, whichever tool it was. Runs
 * alternate between the tools, and the medians are compared as a ratio: a
 * number for this machine, not a pass/fail threshold.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxUnavailable } from './sandbox-measure';

const PEER = '/usr/bin/cfn-init';
const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const INIT = 'AWS::CloudFormation::Init';

/** Wall time and peak RSS of one child process, from wait4 (Node cannot read a child's rusage). */
const MEASURE = `
import os, sys, time
t = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
print(f"{(time.monotonic() - t) * 1000:.3f} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
`;

const SANDBOX = 'mount --bind "$1/var" /var && mount --bind "$1/srv" /srv && ip link set lo up && shift && exec "$@"';

interface Workload {
  name: string;
  files: number;
  commands: number;
}

const WORKLOADS: Workload[] = [
  { name: 'start-up (1 file)', files: 1, commands: 0 },
  { name: '1,000 files', files: 1000, commands: 0 },
  { name: '100 commands', files: 0, commands: 100 },
  { name: '1,000 files + 100 commands', files: 1000, commands: 100 },
];

function metadata(w: Workload): unknown {
  const files: Record<string, unknown> = {};
  const commands: Record<string, unknown> = {};
  for (let i = 0; i < w.files; i++) files[`/srv/bench/d${i % 10}/f${i}.conf`] = { content: `setting_${i} = ${'x'.repeat(40)}\n`.repeat(4), mode: '000644' };
  for (let i = 0; i < w.commands; i++) commands[`c${String(i).padStart(3, '0')}`] = { command: `echo ${i} >> /srv/bench/commands.log` };
  return { [INIT]: { config: { ...(w.files ? { files } : {}), ...(w.commands ? { commands } : {}) } } };
}

export function unavailable(): string | undefined {
  if (!fs.existsSync(PEER)) return `${PEER} (heat-cfntools) is not installed`;
  const why = sandboxUnavailable();
  if (why) return why;
  if (spawnSync('python3', ['-c', 'import os; os.wait4']).status !== 0) return 'python3 (for wait4) is missing';
  if (!fs.existsSync('/srv')) return '/srv is missing';
  return undefined;
}

interface Sample {
  ms: number;
  rssMiB: number;
}

function sandbox(base: string, meta: unknown): void {
  fs.rmSync(base, { recursive: true, force: true });
  for (const d of ['var/lib/heat-cfntools', 'var/cache', 'var/log', 'var/tmp', 'srv/bench']) fs.mkdirSync(path.join(base, d), { recursive: true });
  fs.chmodSync(path.join(base, 'var/tmp'), 0o1777);
  fs.symlinkSync('/run', path.join(base, 'var/run'));
  fs.writeFileSync(path.join(base, 'var/lib/heat-cfntools/cfn-init-data'), JSON.stringify(meta));
  // Nothing dirty left from the previous run (its files, the removal of its sandbox): its
  // write-back would otherwise land in the next run's time, whichever tool that is.
  spawnSync('sync');
}

/** Run `tool` once in a fresh sandbox; checks that it did the whole job. */
function once(base: string, w: Workload, argv: string[]): Sample {
  sandbox(base, metadata(w));
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true' };
  const r = spawnSync('python3', ['-c', MEASURE, 'unshare', '-m', '-n', '--propagation', 'private', '/bin/sh', '-c', SANDBOX, 'sandbox', base, ...argv], { encoding: 'utf8', env, cwd: '/' });
  const [ms, kib, status] = r.stdout.trim().split(' ').map(Number);
  const logFile = path.join(base, 'var/log/cfn-init.log');
  const why = () => `${argv.join(' ')} on ${w.name}: exit ${status}\n${r.stderr}\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : ''}`;
  if (status !== 0) throw new Error(why());
  const out = path.join(base, 'srv/bench');
  const written = fs.readdirSync(out, { recursive: true }).filter((n) => String(n).endsWith('.conf')).length;
  const ran = w.commands ? fs.readFileSync(path.join(out, 'commands.log'), 'utf8').trim().split('\n').length : 0;
  if (written !== w.files || ran !== w.commands) throw new Error(`${why()}\nwrote ${written} of ${w.files} files, ran ${ran} of ${w.commands} commands`);
  return { ms, rssMiB: kib / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Comparison {
  workload: Workload;
  peer: { ms: number; rssMiB: number };
  ours: { ms: number; rssMiB: number };
}

/** An ext4 file system of its own under `dir` (loop-mounted image); undefined where loop devices cannot be used. */
function ownFileSystem(dir: string): { mount: string; release: () => void } | undefined {
  const image = path.join(dir, 'fs.img');
  const mount = path.join(dir, 'fs');
  fs.mkdirSync(mount);
  const ok = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' }).status === 0;
  if (!ok(['truncate', '-s', '512M', image]) || !ok(['mkfs.ext4', '-q', '-F', image]) || !ok(['mount', '-o', 'loop', image, mount])) return undefined;
  return { mount, release: () => void spawnSync('umount', [mount]) };
}

/** `runs` interleaved runs of each tool per workload; the medians. */
export function compare(runs: number, ours = [process.execPath, BUNDLE, 'cfn-init']): { results: Comparison[]; where: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-init-'));
  const own = ownFileSystem(dir);
  const base = own?.mount ?? dir;
  const sides: Record<'peer' | 'ours', string[]> = { peer: [PEER], ours };
  try {
    const results = WORKLOADS.map((workload) => {
      const samples: Record<'peer' | 'ours', Sample[]> = { peer: [], ours: [] };
      // A first untimed run of each warms the page cache; then alternate which goes first.
      once(path.join(base, 'warm'), workload, sides.peer);
      once(path.join(base, 'warm'), workload, sides.ours);
      for (let i = 0; i < runs; i++) {
        const order: Array<'peer' | 'ours'> = i % 2 ? ['ours', 'peer'] : ['peer', 'ours'];
        for (const side of order) samples[side].push(once(path.join(base, side), workload, sides[side]));
      }
      const summary = (s: Sample[]) => ({ ms: median(s.map((x) => x.ms)), rssMiB: median(s.map((x) => x.rssMiB)) });
      return { workload, peer: summary(samples.peer), ours: summary(samples.ours) };
    });
    return { results, where: own ? 'a fresh loop-mounted ext4' : `${os.tmpdir()} (no loop device: shared-disk noise included)` };
  } finally {
    own?.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows for the bench table, and the split of our time. */
export function report({ results, where }: { results: Comparison[]; where: string }, runs: number): Array<[string, string]> {
  const rows: Array<[string, string]> = [['cfn-init beside heat-cfntools', `sandboxes on ${where}; ${runs} interleaved runs each`]];
  for (const { workload, peer, ours } of results) {
    rows.push([
      `cfn-init ${workload.name}`,
      `ours ${ours.ms.toFixed(0)} ms / heat-cfntools ${peer.ms.toFixed(0)} ms = ${(ours.ms / peer.ms).toFixed(2)}x; peak RSS ${ours.rssMiB.toFixed(1)} / ${peer.rssMiB.toFixed(1)} MiB (median of ${runs})`,
    ]);
  }
  const by = (files: number, commands: number) => results.find((r) => r.workload.files === files && r.workload.commands === commands);
  const start = by(1, 0);
  const files = by(1000, 0);
  const commands = by(0, 100);
  if (start && files && commands) {
    const per = (r: Comparison, n: number, side: 'ours' | 'peer') => ((r[side].ms - start[side].ms) / n).toFixed(3);
    rows.push(['cfn-init split (ours | heat-cfntools)', `start-up ${start.ours.ms.toFixed(0)} | ${start.peer.ms.toFixed(0)} ms; per file ${per(files, 1000, 'ours')} | ${per(files, 1000, 'peer')} ms; per command ${per(commands, 100, 'ours')} | ${per(commands, 100, 'peer')} ms`]);
  }
  return rows;
}
