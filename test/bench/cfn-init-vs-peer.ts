/**
 * cfn-init beside heat-cfntools' cfn-init and, when a copy is at hand,
 * aws-cfn-bootstrap's, on the same metadata in one run: a generated config of
 * 1,000 files and 100 commands, and its parts (start-up alone, files alone,
 * commands alone) to show where the time goes.
 *
 * Ours and heat-cfntools' run as Heat starts them: no arguments, the metadata
 * in /var/lib/heat-cfntools/cfn-init-data. aws-cfn-bootstrap's runs its own
 * way on that same file (`cfn-init <file>`), which asks nothing of the
 * network: the instance metadata service is read only for credentials or a
 * stack, and neither is given. Its cfn-wire.log, where it logs every
 * response, must stay empty, and the network namespace has only loopback.
 *
 * Each run gets a fresh sandbox (private mount and network namespaces, a
 * directory bound over /var and another over /srv, where the files go),
 * prepared and synced to disk before the clock starts. The sandboxes live on
 * an ext4 file system of their own (a loop-mounted image, made by the bench):
 * on a shared disk mounted with `discard`, the removal of the previous run's
 * files made the next run's writes up to three times slower, whichever tool
 * it was. Runs rotate between the tools. Per run, measured by a subreaper
 * (Node cannot read a child's rusage): wall time to the tool's exit, CPU time
 * (user + system of every process of the tree, what the tool left to be
 * reaped included, so the commands and our program launcher count for every
 * tool alike) and peak RSS (of the largest process). Medians are compared as ratios with the
 * issue's targets beside them: numbers for this machine, not pass/fail.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXE, TARBALL } from './executable';
import { median, sandboxUnavailable } from './sandbox-measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const HEAT = '/usr/bin/cfn-init';
/** heat-cfntools' interpreter (its shebang): aws-cfn-bootstrap runs on it too. */
const PYTHON = '/usr/bin/python3';
const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const AWS_DEFAULT = '/work/peers/aws-cfn-bootstrap';
const DATA = '/var/lib/heat-cfntools/cfn-init-data';
const INIT = 'AWS::CloudFormation::Init';

/**
 * Wall time to the tool's exit; CPU of the whole tree it started, orphans
 * included (a subreaper: what a tool leaves to init, such as our program
 * launcher at our exit, is reaped here and counted); peak RSS of its largest
 * process.
 */
const MEASURE = `
import ctypes, os, resource, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
t = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, _ = os.wait4(pid, 0)
wall = (time.monotonic() - t) * 1000
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.3f} {(ru.ru_utime + ru.ru_stime) * 1000:.3f} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
`;

const SANDBOX = 'mount --bind "$1/var" /var && mount --bind "$1/srv" /srv && ip link set lo up && shift && exec "$@"';

export interface Workload {
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

/** The issue's targets for our cfn-init. */
const TARGETS = { vsHeat: 'target <= 1.0x, stretch 0.6x', perFileMs: 'target <= 0.06', perCommandMs: 'target <= 1.0' };

export type SideKey = 'ours' | 'heat' | 'aws' | 'floor';
const LABEL: Record<SideKey, string> = { ours: 'ours', heat: 'heat-cfntools', aws: 'aws-cfn-bootstrap', floor: 'C floor' };
/** The same work done by a small C program (floor-init.c): this machine's floor, against which the absolute targets read. */
const FLOOR_SOURCE = path.join(ROOT, 'test', 'bench', 'floor-init.c');

interface Side {
  key: SideKey;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** A log of every network response (in the sandbox's /var), which must stay empty. */
  silentLog?: string;
}

function metadata(w: Workload): unknown {
  const files: Record<string, unknown> = {};
  const commands: Record<string, unknown> = {};
  for (let i = 0; i < w.files; i++) files[`/srv/bench/d${i % 10}/f${i}.conf`] = { content: `setting_${i} = ${'x'.repeat(40)}\n`.repeat(4), mode: '000644' };
  for (let i = 0; i < w.commands; i++) commands[`c${String(i).padStart(3, '0')}`] = { command: `echo ${i} >> /srv/bench/commands.log` };
  return { [INIT]: { config: { ...(w.files ? { files } : {}), ...(w.commands ? { commands } : {}) } } };
}

/** Why cfn-init cannot be compared here at all (heat-cfntools is the baseline), or undefined. */
export function unavailable(): string | undefined {
  if (!fs.existsSync(HEAT)) return `${HEAT} (heat-cfntools) is not installed`;
  const why = sandboxUnavailable();
  if (why) return why;
  if (spawnSync('python3', ['-c', 'import os; os.wait4']).status !== 0) return 'python3 (for wait4) is missing';
  if (!fs.existsSync('/srv')) return '/srv is missing';
  return undefined;
}

/** Our cfn-init: CFNTOOLS_BENCH_EXECUTABLE, else the single executable when built, else the bundle; and what it is, in words. */
export function ourCfnInit(env: NodeJS.ProcessEnv = process.env): { argv: string[]; what: string; installFrom?: string } {
  const exe = env.CFNTOOLS_BENCH_EXECUTABLE;
  if (exe) return { argv: [exe, 'cfn-init'], what: `${exe} cfn-init (CFNTOOLS_BENCH_EXECUTABLE; installed with its lib/cfntools, or the tools start programs without their launcher)` };
  // As installed: beside the executable its lib/cfntools, where it finds the program launcher.
  if (fs.existsSync(EXE) && fs.existsSync(TARBALL)) return { argv: ['bin/cfntools', 'cfn-init'], what: `the single executable as ${path.relative(ROOT, TARBALL)} installs it, cfn-init`, installFrom: TARBALL };
  return { argv: [process.execPath, BUNDLE, 'cfn-init'], what: `the bundle on node ${process.version} (${path.relative(ROOT, EXE)} not built: npm run package)` };
}

/** aws-cfn-bootstrap's cfn-init from a local copy, or why there is none to run. */
export function awsCfnInit(env: NodeJS.ProcessEnv = process.env): { side: Side; what: string } | { why: string } {
  const dir = env.CFNTOOLS_BENCH_AWS_CFN_BOOTSTRAP ?? AWS_DEFAULT;
  const script = path.join(dir, 'bin', 'cfn-init');
  if (!fs.existsSync(script) || !fs.existsSync(path.join(dir, 'cfnbootstrap'))) {
    return { why: `no copy at ${dir} (a directory holding bin/cfn-init and cfnbootstrap/; CFNTOOLS_BENCH_AWS_CFN_BOOTSTRAP names another)` };
  }
  if (!fs.existsSync(PYTHON)) return { why: `${PYTHON} is missing` };
  // Its dependencies beside it (deps/), or the system's.
  const sideEnv = { PYTHONPATH: `${dir}:${path.join(dir, 'deps')}` };
  const probe = spawnSync(PYTHON, ['-c', 'import cfnbootstrap.construction, cfnbootstrap.file_tool'], { encoding: 'utf8', env: sideEnv });
  if (probe.status !== 0) return { why: `${dir}: cfnbootstrap does not import on ${PYTHON} (${probe.stderr.trim().split('\n').pop()})` };
  const pkgInfo = path.join(dir, 'PKG-INFO');
  const version = fs.existsSync(pkgInfo) ? /^Version: *(.+)$/m.exec(fs.readFileSync(pkgInfo, 'utf8'))?.[1] : undefined;
  return {
    side: { key: 'aws', argv: [PYTHON, script, DATA], env: sideEnv, silentLog: 'log/cfn-wire.log' },
    what: `${version ? `version ${version} ` : ''}from ${dir}, on ${PYTHON} (heat-cfntools' interpreter), as \`cfn-init ${DATA}\``,
  };
}

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
}

function sandbox(base: string, meta: unknown): void {
  fs.rmSync(base, { recursive: true, force: true });
  for (const d of ['var/lib/heat-cfntools', 'var/cache', 'var/log', 'var/tmp', 'srv/bench']) fs.mkdirSync(path.join(base, d), { recursive: true });
  fs.chmodSync(path.join(base, 'var/tmp'), 0o1777);
  fs.symlinkSync('/run', path.join(base, 'var/run'));
  fs.writeFileSync(path.join(base, DATA.slice(1)), JSON.stringify(meta));
  // Nothing dirty left from the previous run (its files, the removal of its sandbox): its
  // write-back would otherwise land in the next run's time, whichever tool that is.
  spawnSync('sync');
}

/** Run `side` once in a fresh sandbox; checks that it did the whole job. */
function once(base: string, w: Workload, side: Side): Sample {
  sandbox(base, metadata(w));
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true', ...side.env };
  const r = spawnSync('python3', ['-c', MEASURE, 'unshare', '-m', '-n', '--propagation', 'private', '/bin/sh', '-c', SANDBOX, 'sandbox', base, ...side.argv], { encoding: 'utf8', env, cwd: '/' });
  const [wallMs, cpuMs, kib, status] = r.stdout.trim().split(' ').map(Number);
  const logFile = path.join(base, 'var/log/cfn-init.log');
  const why = () => `${side.argv.join(' ')} on ${w.name}: exit ${status}\n${r.stderr}\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : ''}`;
  if (status !== 0) throw new Error(why());
  const out = path.join(base, 'srv/bench');
  const written = fs.readdirSync(out, { recursive: true }).filter((n) => String(n).endsWith('.conf')).length;
  const ran = w.commands ? fs.readFileSync(path.join(out, 'commands.log'), 'utf8').trim().split('\n').length : 0;
  if (written !== w.files || ran !== w.commands) throw new Error(`${why()}\nwrote ${written} of ${w.files} files, ran ${ran} of ${w.commands} commands`);
  const silent = side.silentLog && path.join(base, 'var', side.silentLog);
  if (silent && fs.existsSync(silent) && fs.statSync(silent).size > 0) throw new Error(`${why()}\nit made network requests: ${fs.readFileSync(silent, 'utf8').slice(0, 2000)}`);
  return { wallMs, cpuMs, rssMiB: kib / 1024 };
}

export type Metric = keyof Sample;
export type Medians = Record<Metric, number>;

export interface Comparison {
  workload: Workload;
  by: Partial<Record<SideKey, Medians>>;
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

const medians = (s: Sample[]): Medians => ({ wallMs: median(s.map((x) => x.wallMs)), cpuMs: median(s.map((x) => x.cpuMs)), rssMiB: median(s.map((x) => x.rssMiB)) });

/** `runs` rotated runs of each side per workload; the medians. */
function compare(runs: number, sides: Side[]): { results: Comparison[]; where: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-init-'));
  const own = ownFileSystem(dir);
  const base = own?.mount ?? dir;
  try {
    const results = WORKLOADS.map((workload) => {
      const samples = new Map<SideKey, Sample[]>(sides.map((s) => [s.key, []]));
      // A first untimed run of each warms the page cache (and aws-cfn-bootstrap's __pycache__).
      for (const side of sides) once(path.join(base, 'warm'), workload, side);
      for (let i = 0; i < runs; i++) {
        for (let j = 0; j < sides.length; j++) {
          const side = sides[(i + j) % sides.length];
          samples.get(side.key)!.push(once(path.join(base, side.key), workload, side));
        }
      }
      return { workload, by: Object.fromEntries([...samples].map(([k, s]) => [k, medians(s)])) };
    });
    return { results, where: own ? 'a fresh loop-mounted ext4' : `${os.tmpdir()} (no loop device: shared-disk noise included)` };
  } finally {
    own?.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type PerSide = Partial<Record<SideKey, number>>;

/**
 * One figure per side, each peer's with ours divided by it:
 * `ours 650 ms | heat-cfntools 900 ms = 0.72x | aws-cfn-bootstrap 1200 ms = 0.54x`.
 * `notes` go after a side's figure (the targets).
 */
export function cells(values: PerSide, digits: number, unit: string, notes: Partial<Record<SideKey, string>> = {}): string {
  const ours = values.ours!;
  return (Object.keys(LABEL) as SideKey[])
    .filter((k) => values[k] !== undefined)
    .map((k) => {
      const v = values[k]!;
      // A per-item cost below the noise comes out negative: no ratio of that.
      const ratio = k === 'ours' ? '' : ours > 0 && v > 0 ? ` = ${(ours / v).toFixed(2)}x` : ' = n/a';
      return `${LABEL[k]} ${v.toFixed(digits)} ${unit}${ratio}${notes[k] ? ` (${notes[k]})` : ''}`;
    })
    .join(' | ');
}

const perSide = (keys: string[], f: (k: SideKey) => number): PerSide => Object.fromEntries(keys.map((k) => [k, f(k as SideKey)]));

/** Start-up, per file and per command of `metric` for each side, from the parts; undefined without them. */
export function splitOf(results: Comparison[], metric: 'wallMs' | 'cpuMs'): { startUp: PerSide; perFile: PerSide; perCommand: PerSide } | undefined {
  const find = (files: number, commands: number) => results.find((r) => r.workload.files === files && r.workload.commands === commands);
  const [start, files, commands] = [find(1, 0), find(1000, 0), find(0, 100)];
  if (!start || !files || !commands) return undefined;
  const keys = Object.keys(start.by);
  const at = (r: Comparison, k: SideKey) => r.by[k]![metric];
  const perFile = (k: SideKey) => (at(files, k) - at(start, k)) / (files.workload.files - start.workload.files);
  // The start-up run writes a file that the commands run does not: add its cost back.
  const perCommand = (k: SideKey) => (at(commands, k) - at(start, k) + perFile(k) * (start.workload.files - commands.workload.files)) / commands.workload.commands;
  return { startUp: perSide(keys, (k) => at(start, k)), perFile: perSide(keys, perFile), perCommand: perSide(keys, perCommand) };
}

function splitRow(results: Comparison[], metric: 'wallMs' | 'cpuMs'): string | undefined {
  const split = splitOf(results, metric);
  if (!split) return undefined;
  return [
    `start-up ${cells(split.startUp, 0, 'ms')}`,
    `per file ${cells(split.perFile, 3, 'ms', { ours: TARGETS.perFileMs })}`,
    `per command ${cells(split.perCommand, 3, 'ms', { ours: TARGETS.perCommandMs })}`,
  ].join('; ');
}

/** Rows for the bench table: each workload's wall, CPU and peak RSS, then the split. */
function report({ results, where }: { results: Comparison[]; where: string }, runs: number, ours: string, aws: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['cfn-init beside heat-cfntools (and aws-cfn-bootstrap)', `ours: ${ours}; sandboxes on ${where}; ${runs} rotated runs each, medians; CPU = user + system of the whole process tree (commands, the program launcher), reaped by a subreaper`],
    ['cfn-init aws-cfn-bootstrap', aws],
  ];
  for (const { workload, by } of results) {
    const of = (metric: Metric) => perSide(Object.keys(by), (k) => by[k]![metric]);
    const vsHeat = workload.files === 1000 && workload.commands === 100 ? { heat: TARGETS.vsHeat } : {};
    rows.push([`cfn-init ${workload.name}, wall`, cells(of('wallMs'), 0, 'ms', vsHeat)]);
    rows.push([`cfn-init ${workload.name}, CPU`, cells(of('cpuMs'), 0, 'ms', vsHeat)]);
    rows.push([`cfn-init ${workload.name}, peak RSS`, cells(of('rssMiB'), 1, 'MiB')]);
  }
  for (const [metric, name] of [['wallMs', 'wall'], ['cpuMs', 'CPU']] as const) {
    const split = splitRow(results, metric);
    if (split) rows.push([`cfn-init split, ${name}`, split]);
  }
  return rows;
}

/** The whole comparison as bench rows; a row saying why when it cannot run. */
export function cfnInitRows(runs: number, env: NodeJS.ProcessEnv = process.env): Array<[string, string]> {
  const why = unavailable();
  if (why) return [['cfn-init beside heat-cfntools', `skipped: ${why}`]];
  const ours = ourCfnInit(env);
  const aws = awsCfnInit(env);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-exe-'));
  try {
    let argv = ours.argv;
    if (ours.installFrom) {
      const x = spawnSync('tar', ['-xzf', ours.installFrom, '-C', scratch, '--strip-components=1'], { encoding: 'utf8' });
      if (x.status !== 0) return [['cfn-init beside heat-cfntools', `skipped: cannot unpack ${ours.installFrom}: ${x.stderr.trim()}`]];
      argv = [path.join(scratch, argv[0]!), ...argv.slice(1)];
    }
    const floor = path.join(scratch, 'floor-init');
    const built = spawnSync('cc', ['-O2', '-o', floor, FLOOR_SOURCE], { encoding: 'utf8' });
    const sides: Side[] = [
      { key: 'ours', argv, env: {} },
      { key: 'heat', argv: [HEAT], env: {} },
      ...('side' in aws ? [aws.side] : []),
      ...(built.status === 0 ? [{ key: 'floor' as const, argv: [floor], env: {} }] : []),
    ];
    const rows = report(compare(runs, sides), runs, ours.what, 'side' in aws ? aws.what : `column skipped: ${aws.why}`);
    if (built.status !== 0) rows.splice(2, 0, ['cfn-init C floor', `column skipped: cc ${FLOOR_SOURCE} failed: ${built.error?.message ?? built.stderr.trim()}`]);
    return rows;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) for (const [k, v] of cfnInitRows(Number(process.env.CFNTOOLS_BENCH_RUNS ?? 7))) console.log(`${k}  ${v}`);
