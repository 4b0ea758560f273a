/**
 * One run of a tool at a time: a cfn-hup daemon and a cron-run `--no-daemon`
 * must not run the same hook at once, and a cron-run cfn-push-stats must not
 * overlap the one before it. The lock is a file naming its owner, created
 * whole with link(2) so that no reader sees it empty; one whose owner is
 * gone (killed, rebooted) or whose pid now belongs to another process is
 * taken over, and the caller says so in its log.
 *
 * A lock names its owner by pid, start time and boot (process-identity.ts):
 * `<pid> <start> <boot>`. A daemon's pid file holds the pid alone, as other
 * programs read it (logrotate, `kill $(cat ...)`); so did locks of earlier
 * releases. For those the holder counts as the owner only while it runs the
 * same executable and names the tool on its command line.
 */
import * as fs from 'node:fs';
import { ConfigError } from './errors';
import { mayBeAlive, ownIdentity, type ProcessIdentity } from './process-identity';
import { readTextBounded } from './safe-open';

/** The most a lock or pid file holds: a pid, a start time, a boot id and a newline. */
const MAX_LOCK_BYTES = 64;

/**
 * What a lock or pid file holds; undefined when there is no file. Whatever
 * else is at the path (a FIFO, a link to /dev/zero) is refused with an
 * UnsafeFileError naming it, never waited on.
 */
function readLock(file: string): string | undefined {
  return readTextBounded(file, { what: 'the lock file', noFollow: true, maxBytes: MAX_LOCK_BYTES });
}

/** What a lock or pid file says of its owner. */
interface OwnerRecord {
  pid: number;
  /** Absent in a pid file or an earlier release's lock. */
  identity?: ProcessIdentity;
}

function parseRecord(text: string): OwnerRecord | undefined {
  const m = /^(\d{1,10})(?: (\d{1,20}) ([0-9a-z]{1,12}))?\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  return { pid, identity: m[2] === undefined ? undefined : { pid, start: m[2], boot: m[3] } };
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file).replace(/ \(deleted\)$/, ''); // an executable replaced by an upgrade while it runs
  } catch {
    return undefined; // no such process, or not ours to look at
  }
}

/** A pid-only record's holder: is it still a `tool` run from our executable? */
function pidOnlyHolderIsTool(pid: number, tool: string): boolean {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false; // no such process
  }
  if (!cmdline.includes(tool)) return false;
  const exe = readLink(`/proc/${pid}/exe`);
  return exe === undefined || exe === readLink('/proc/self/exe');
}

/**
 * Whether the owner `file` names is running; the pid and why not when it is
 * not (for the log), undefined when there is no file.
 */
function lockOwner(file: string, tool: string): { pid: number; live: true } | { pid?: number; live: false; why: string } | undefined {
  const text = readLock(file);
  if (text === undefined) return undefined;
  const record = parseRecord(text);
  if (!record || record.pid === 0) return { live: false, why: 'it names no process' };
  const { pid, identity } = record;
  if (pid === process.pid) return { pid, live: false, why: 'it names this process' };
  if (identity) {
    return mayBeAlive(identity) ? { pid, live: true } : { pid, live: false, why: `process ${pid} has ended${fs.existsSync(`/proc/${pid}`) ? ' (its pid belongs to another process now)' : ''}` };
  }
  return pidOnlyHolderIsTool(pid, tool) ? { pid, live: true } : { pid, live: false, why: `process ${pid} is no ${tool} now` };
}

/** Create `file` holding `content`, atomically; false when it exists. */
function createWhole(file: string, content: string): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  // Created afresh (O_EXCL), never written through a link left at the name.
  fs.rmSync(temp, { force: true });
  fs.writeFileSync(temp, content, { mode: 0o644, flag: 'wx' });
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

/** A file naming us while we run: a lock, or (`pidOnly`) a pid file. */
export class PidFile {
  private constructor(
    readonly file: string,
    /** Said when a file left by a process that is gone was replaced, for the caller's log. */
    readonly tookOver?: string,
  ) {}

  /** Take `file` for `tool`; a HeldLockError when a live `tool` holds it. */
  static acquire(file: string, tool: string, opts: { pidOnly?: boolean } = {}): PidFile {
    const me = ownIdentity();
    const content = opts.pidOnly ? `${me.pid}\n` : `${me.pid} ${me.start} ${me.boot}\n`;
    let tookOver: string | undefined;
    for (let i = 0; i < 2; i++) {
      if (createWhole(file, content)) return new PidFile(file, tookOver);
      const owner = lockOwner(file, tool);
      if (owner?.live) throw new HeldLockError(file, tool, owner.pid);
      if (owner) tookOver = `${file}: taken over: ${owner.why}`;
      fs.rmSync(file, { force: true });
    }
    throw new ConfigError('cannot take this lock: another process keeps recreating it', file);
  }

  /** Remove the file if it is still ours. */
  release(): void {
    try {
      if (parseRecord(readLock(this.file) ?? '')?.pid === process.pid) fs.rmSync(this.file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
