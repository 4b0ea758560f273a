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

/** The pid a lock or pid file names, if that process is still a `tool`. */
function liveHolder(file: string, tool: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
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
  fs.writeFileSync(temp, `${process.pid}\n`, { mode: 0o644 });
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
      if (Number.parseInt(fs.readFileSync(this.file, 'utf8'), 10) === process.pid) fs.rmSync(this.file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
