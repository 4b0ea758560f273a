/**
 * Which process wrote a file that outlives it (a lock, a write journal):
 * its pid, its start time and the boot it ran in. A pid alone is reused
 * by an unrelated process after the writer died; the start time (field 22
 * of /proc/<pid>/stat, clock ticks since boot) of whatever holds the pid
 * now tells the two apart, and the boot id tells a reboot.
 */
import * as fs from 'node:fs';

export interface ProcessIdentity {
  /** 12 hex digits of the kernel's boot id; 'noboot' without /proc. */
  boot: string;
  pid: number;
  /** Clock ticks since boot; '0' when unknown. */
  start: string;
}

function readTrimmed(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return ''; // no /proc, or no such process
  }
}

/** Field 22 of /proc/<pid>/stat; '' when there is no such process (or no /proc). */
export function startTime(pid: number): string {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  if (!stat) return '';
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

let self: ProcessIdentity | undefined;

/** This process's identity. */
export function ownIdentity(): ProcessIdentity {
  self ??= { boot: readTrimmed('/proc/sys/kernel/random/boot_id').replace(/-/g, '').slice(0, 12) || 'noboot', pid: process.pid, start: startTime(process.pid) || '0' };
  return self;
}

/**
 * Whether the process `id` names may still be running: the same boot, and
 * the pid held by a process started at the same tick. Without /proc (or
 * with an unknown start) only the pid can be asked.
 */
export function mayBeAlive(id: ProcessIdentity): boolean {
  const me = ownIdentity();
  if (id.boot !== me.boot && id.boot !== 'noboot' && me.boot !== 'noboot') return false;
  const start = startTime(id.pid);
  if (start) return start === id.start || id.start === '0';
  try {
    process.kill(id.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
