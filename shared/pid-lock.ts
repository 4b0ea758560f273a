/**
 * One run of a tool at a time: a cfn-hup daemon and a cron-run `--no-daemon`
 * must not run the same hook at once, and a cron-run cfn-push-stats must not
 * overlap the one before it. The lock is a file holding the owner's pid,
 * created whole with link(2) so that no reader sees it empty; one whose owner
 * is gone (killed, rebooted) is taken over. A daemon's pid file is written
 * the same way.
 */
import * as fs from 'node:fs';
import { ConfigError } from './errors';
import { readTextBounded } from './safe-open';

/** The most a lock or pid file holds: a pid and a newline. */
const MAX_LOCK_BYTES = 64;

/**
 * The number in a lock or pid file (NaN when it holds none); undefined when
 * there is no file. Whatever else is at the path (a FIFO, a link to
 * /dev/zero) is refused with an UnsafeFileError naming it, never waited on.
 */
function readPid(file: string): number | undefined {
  const text = readTextBounded(file, { what: 'the lock file', noFollow: true, maxBytes: MAX_LOCK_BYTES });
  return text === undefined ? undefined : Number.parseInt(text.trim(), 10);
}

/** The pid a lock or pid file names, if that process is still a `tool`. */
function liveHolder(file: string, tool: string): number | undefined {
  const pid = readPid(file);
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    // A recycled pid belongs to some other program: only the same tool counts.
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tool) ? pid : undefined;
  } catch {
    return undefined; // no such process
  }
}

/** Create `file` holding our pid, atomically; false when it exists. */
function createWhole(file: string): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  // Created afresh (O_EXCL), never written through a link left at the name.
  fs.rmSync(temp, { force: true });
  fs.writeFileSync(temp, `${process.pid}\n`, { mode: 0o644, flag: 'wx' });
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

export class HeldLockError extends ConfigError {
  constructor(
    file: string,
    readonly tool: string,
    readonly holder: number,
  ) {
    super(`another ${tool} (pid ${holder}) is running`, file);
  }
}

/** A file holding our pid while we run. */
export class PidFile {
  private constructor(readonly file: string) {}

  /** Take `file` for `tool`; a HeldLockError when a live `tool` holds it. */
  static acquire(file: string, tool: string): PidFile {
    for (let i = 0; i < 2; i++) {
      if (createWhole(file)) return new PidFile(file);
      const holder = liveHolder(file, tool);
      if (holder !== undefined) throw new HeldLockError(file, tool, holder);
      fs.rmSync(file, { force: true }); // left by a run that is gone
    }
    throw new ConfigError('cannot take this lock: another process keeps recreating it', file);
  }

  /** Remove the file if it is still ours. */
  release(): void {
    try {
      if (readPid(this.file) === process.pid) fs.rmSync(this.file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
