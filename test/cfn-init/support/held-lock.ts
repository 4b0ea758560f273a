/**
 * A real process holding package-manager locks the way dpkg, apt and rpm
 * take them: an fcntl write lock (F_SETLK, which Python's lockf is) on each
 * file, created if missing. The files belong to the test's private
 * database, never the machine's; the holder lets go when released or killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const HOLD = `
import fcntl, os, sys
fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o640) for p in sys.argv[1:]]
for fd in fds:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print('locked', os.getpid(), flush=True)
sys.stdin.read()
`;

/** How long the holder may take to start and lock. */
const START_MS = 15_000;

export class LockHolderProcess {
  private constructor(
    private readonly child: ChildProcess,
    /** The holder's pid as it reported it (python3 may start through a wrapper). */
    readonly pid: number,
  ) {}

  static hold(files: readonly string[]): Promise<LockHolderProcess> {
    const child = spawn('python3', ['-c', HOLD, ...files], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`lock holder did not lock ${files.join(', ')} within ${START_MS} ms`));
      }, START_MS);
      child.stderr!.on('data', (d) => (err += d));
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^locked (\d+)$/m.exec(out);
        if (!m) return;
        clearTimeout(timer);
        resolve(new LockHolderProcess(child, Number(m[1])));
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`lock holder exited ${code} before locking ${files.join(', ')}: ${err.trim()}`));
      });
    });
  }

  /** Let go: the holder exits, and the kernel drops its locks with it. Idempotent. */
  async release(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}

/** Resolves once `lines` holds a line matching `re`; rejects if `pending` settles first (its failure, not a hang). */
export async function untilLogged(lines: readonly string[], re: RegExp, pending: Promise<unknown>): Promise<string> {
  let settled: { error?: unknown } | undefined;
  pending.then(
    () => (settled = {}),
    (error: unknown) => (settled = { error }),
  );
  for (;;) {
    const line = lines.find((l) => re.test(l));
    if (line) return line;
    if (settled) throw new Error(`finished before logging ${re}: ${settled.error ?? 'no error'}\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
