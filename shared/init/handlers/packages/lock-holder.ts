/**
 * Who holds a lock file, for managers that say their lock is taken without
 * saying by whom (rpm, apt before 1.9): the kernel's table of file locks
 * (/proc/locks) names the process of every fcntl and flock lock by device
 * and inode, and /proc/<pid>/comm names its program.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LockHolder {
  pid: number;
  /** The program's name as the kernel keeps it (15 characters at most). */
  program?: string;
}

export interface LockEntry {
  pid: number;
  major: number;
  minor: number;
  inode: bigint;
}

/**
 * The granted locks of /proc/locks: `1: POSIX  ADVISORY  WRITE 5197 fe:00:2147045 0 EOF`.
 * Waiters (`1: -> POSIX ...`) hold nothing; open file description locks
 * (pid -1) and locks of processes outside our pid namespace (0) name no one.
 */
export function parseProcLocks(text: string): LockEntry[] {
  const entries: LockEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(?!->)\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m || Number(m[1]) <= 0) continue;
    entries.push({ pid: Number(m[1]), major: parseInt(m[2], 16), minor: parseInt(m[3], 16), inode: BigInt(m[4]) });
  }
  return entries;
}

/** glibc's major()/minor() of a stat st_dev. */
function splitDev(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** The program name of `pid`, or undefined once it has exited. */
export function programOf(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return fs.readFileSync(path.join(procRoot, String(pid), 'comm'), 'utf8').trim() || undefined;
  } catch {
    return undefined; // the process is gone: the lock has been released meanwhile
  }
}

/** The process holding a lock on `file`, or undefined when none does (or the table cannot be read). */
export function lockHolder(file: string, procRoot = '/proc'): LockHolder | undefined {
  let st: fs.BigIntStats;
  let table: string;
  try {
    st = fs.statSync(file, { bigint: true });
    table = fs.readFileSync(path.join(procRoot, 'locks'), 'utf8');
  } catch {
    return undefined; // no such lock file, or no /proc: nothing to name
  }
  const { major, minor } = splitDev(st.dev);
  const entry = parseProcLocks(table).find((e) => e.inode === st.ino && e.major === major && e.minor === minor);
  return entry && { pid: entry.pid, program: programOf(entry.pid, procRoot) };
}
