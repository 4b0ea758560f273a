/**
 * Measuring whole processes side by side: each command run `runs` times,
 * the commands interleaved in a fresh random order every round (so that
 * whatever else the machine does falls on all of them alike), after one
 * unmeasured round that reads every program back from disk; per run the CPU time (user + system) and peak RSS from
 * wait4, and the exit status. Everything runs in private mount and network
 * namespaces, with the endpoint emulator on 127.0.0.1 and the given
 * directories bound over the system's (heat-cfntools reads /var/lib and
 * /etc/cfn itself), so nothing leaves loopback and nothing real is touched.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const EMULATOR = path.resolve(__dirname, '..', 'emulator', 'main.js');
export const DEMO_STACK = path.resolve(__dirname, '..', '..', '..', 'test', 'emulator', 'stacks', 'demo.yaml');
/** The demo stack's key pair (test/emulator/stacks/demo.yaml). */
export const DEMO_KEY = { accessKey: 'AKIDEXAMPLE0000000000000000000001', secretKey: 'SeCrEt/Key+With=Chars!' };

/**
 * Python: every file of `programs` read back from disk from now on, as on a
 * booted guest: a file just written (a fresh build) sits in the page cache in
 * large folios, which makes it start faster and look bigger than the same
 * bytes read from disk.
 */
const READ_BACK = `
os.sync()
for exe in programs:
    fd = os.open(exe, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
`;

const INTERLEAVED = `
import json, os, random, shutil, sys
cmds = json.loads(sys.argv[1]); runs = int(sys.argv[2]); out = {k: [] for k in cmds}
programs = {os.path.realpath(c[0] if '/' in c[0] else shutil.which(c[0])) for c in cmds.values()}
${READ_BACK}
for round in range(runs + 1):
    order = list(cmds); random.shuffle(order)
    for k in order:
        pid = os.fork()
        if pid == 0:
            fd = os.open('/dev/null', os.O_WRONLY); os.dup2(fd, 1)
            os.execvp(cmds[k][0], cmds[k])
        _, status, ru = os.wait4(pid, 0)
        if round: out[k].append([(ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss, os.waitstatus_to_exitcode(status)])
print(json.dumps(out))
`;

/** `programs` (paths, links followed) read back from disk from now on (READ_BACK). */
export function readBackFromDisk(programs: string[]): void {
  const r = spawnSync('python3', ['-c', `import os, sys\nprograms = {os.path.realpath(p) for p in sys.argv[1:]}\n${READ_BACK}`, ...programs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dropping ${programs.join(', ')} from the page cache: ${r.stderr}`);
}

/** Why nothing can be measured in namespaces here, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (namespaces)';
  if (spawnSync('unshare', ['-m', '-n', 'true']).status !== 0) return 'unshare -m -n does not work here';
  return undefined;
}

export interface Sample {
  cpuMs: number;
  rssKiB: number;
}

export interface SandboxRun {
  /** Directory -> the system path it is bound over, inside the namespace. */
  binds: Array<[string, string]>;
  /** Port of the emulator serving the demo stack. */
  port: number;
  cmds: Record<string, string[]>;
  runs: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * `body` run by /bin/sh in the namespaces, with the binds in place and the
 * emulator listening; $1, $2... are `args`. Returns the shell's result.
 */
export function inSandbox(binds: Array<[string, string]>, port: number, body: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const script = [
    'set -e',
    'ip link set lo up',
    ...binds.map(([src, dst]) => `mount --bind '${src}' '${dst}'`),
    `"${process.execPath}" "${EMULATOR}" --port ${port} --stack "${DEMO_STACK}" --quiet > /tmp/cfntools-bench-emulator.$$ 2>&1 &`,
    'e=$!',
    'i=0; until grep -q listening /tmp/cfntools-bench-emulator.$$ 2>/dev/null || [ $i -gt 200 ]; do sleep 0.05; i=$((i+1)); done',
    'set +e',
    body,
    's=$?; kill $e; rm -f /tmp/cfntools-bench-emulator.$$; exit $s',
  ].join('\n');
  return spawnSync('unshare', ['-m', '-n', '--propagation', 'private', '/bin/sh', '-c', script, 'sandbox', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', ...env },
  });
}

/** Samples per command; a command that ever exits non-zero is an error naming it. */
export function measureInSandbox(r: SandboxRun): Record<string, Sample[]> {
  const p = inSandbox(r.binds, r.port, 'python3 -c "$MEASURE" "$1" "$2"', [JSON.stringify(r.cmds), String(r.runs)], { MEASURE: INTERLEAVED, ...r.env });
  if (p.status !== 0) throw new Error(`measuring ${Object.keys(r.cmds).join(', ')}: ${p.stdout}${p.stderr}`);
  const res = JSON.parse(p.stdout.trim().split('\n').pop()!) as Record<string, Array<[number, number, number]>>;
  const out: Record<string, Sample[]> = {};
  for (const [k, xs] of Object.entries(res)) {
    const bad = xs.find((x) => x[2] !== 0);
    if (bad) throw new Error(`${r.cmds[k].join(' ')} exited ${bad[2]}`);
    out[k] = xs.map(([cpuMs, rssKiB]) => ({ cpuMs, rssKiB }));
  }
  return out;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const cpuOf = (s: Sample[]): number => median(s.map((x) => x.cpuMs));
export const rssMiBOf = (s: Sample[]): number => median(s.map((x) => x.rssKiB)) / 1024;
