/**
 * How the new files of a durable batch (shared/durable-write.ts) reach the
 * disk before they are renamed into place: an fsync(2) each, or one
 * syncfs(2) of the file system that holds them, or nothing on a file system
 * in memory.
 *
 * A thousand fsyncs cost a thousand system calls, each handed to the thread
 * pool and back; one syncfs writes the same files and commits the same
 * journal for the price of one. Node has no syncfs binding: coreutils'
 * `sync -f DIR` (8.24 and later) is one, for a spawn of a millisecond or
 * more, so a batch of a few files keeps fsync.
 *
 * syncfs is used only where it reports every failure that fsync would:
 * - Linux 5.17 and later: writeback errors reach syncfs since 5.8, and what
 *   the file system's own sync returns (its journal commit, the cache
 *   flush) since 5.17;
 * - ext2/3/4, XFS and btrfs, whose sync writes their metadata (commits the
 *   journal) and flushes the device. Not overlayfs (its syncfs does not report the upper file
 *   system's writeback errors), nor network or FUSE file systems (where it
 *   may not reach the server): those fsync each file.
 * tmpfs and ramfs need neither: their fsync does nothing, and nothing there
 * survives a power cut anyway.
 *
 * When `sync -f` cannot be run or fails (missing, too old for -f, an I/O
 * error, no answer within SYNC_TIMEOUT_MS), the caller fsyncs each file
 * instead, which names the file that failed; syncfs is not tried again by
 * this process.
 */
import * as fs from 'node:fs';

/** `each`: fsync every file; `file-system`: one syncfs; `none`: the file system is in memory. */
export type SyncMethod = 'each' | 'file-system' | 'none';

export interface FileSystemSync {
  /** How `files` new files in `dir` (all on the file system of `dir`) are made durable. */
  method(dir: string, files: number): SyncMethod;
  /** syncfs(2) of the file system holding `dir`; why it could not be done, or undefined when it was. */
  syncFileSystem(dir: string): Promise<string | undefined>;
}

/**
 * Below this many files an fsync each is cheaper than spawning `sync -f`
 * (measured on 1 to 1,000 files: docs/PERFORMANCE.md, "Durable batches").
 */
export const SYNCFS_MIN_FILES = 64;
/** How long `sync -f` may take before each file is fsynced instead. */
export const SYNC_TIMEOUT_MS = 60_000;
/** What is kept of its stderr, for the log. */
const MAX_STDERR_BYTES = 1024;

/** statfs(2) f_type values. */
const SYNCFS_TYPES = new Set([0xef53 /* ext2/3/4 */, 0x58465342 /* XFS */, 0x9123683e /* btrfs */]);
const MEMORY_TYPES = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);
const MIN_KERNEL: readonly [number, number] = [5, 17];

/** Whether this kernel's syncfs reports what fsync would (see the header); the release string as os.release() gives it. */
export function kernelReportsSyncfsErrors(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor >= MIN_KERNEL[1]);
}

/** The first of `candidates` that is an executable file. */
function findProgram(candidates: readonly string[]): string | undefined {
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here: the next candidate
    }
  }
  return undefined;
}

export interface SyncSettings {
  /** Where `sync` may be, in order. */
  programs: readonly string[];
  minFiles: number;
  timeoutMs: number;
  /** os.release(). */
  kernel: string;
}

export const DEFAULT_SYNC_SETTINGS: Omit<SyncSettings, 'kernel'> = { programs: ['/usr/bin/sync', '/bin/sync'], minFiles: SYNCFS_MIN_FILES, timeoutMs: SYNC_TIMEOUT_MS };

/**
 * The machine's: syncfs through `sync -f` where it is as safe as fsync and
 * cheaper. node:os and node:child_process load here, not with the module,
 * which every tool loads through the CLI layer.
 */
export function fileSystemSync(given: Partial<SyncSettings> = {}): FileSystemSync {
  const settings: SyncSettings = { ...DEFAULT_SYNC_SETTINGS, kernel: given.kernel ?? (require('node:os') as typeof import('node:os')).release(), ...given };
  const kernelOk = kernelReportsSyncfsErrors(settings.kernel);
  let program: string | undefined;
  /** Why syncfs is not used any more by this process. */
  let unusable: string | undefined = kernelOk ? undefined : `Linux ${settings.kernel} is older than ${MIN_KERNEL.join('.')}`;
  return {
    method(dir, files) {
      const type = fs.statfsSync(dir).type >>> 0;
      if (MEMORY_TYPES.has(type)) return 'none';
      return unusable === undefined && files >= settings.minFiles && SYNCFS_TYPES.has(type) ? 'file-system' : 'each';
    },
    async syncFileSystem(dir) {
      program ??= findProgram(settings.programs);
      const why = program === undefined ? `no sync program (${settings.programs.join(', ')})` : await runSync(program, dir, settings.timeoutMs);
      unusable ??= why;
      return why;
    },
  };
}

/** `sync -f -- dir`; why it failed, or undefined. */
function runSync(program: string, dir: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    // No environment of ours (credentials among it); the C locale for a message the log can quote.
    const child = spawn(program, ['-f', '--', dir], { stdio: ['ignore', 'ignore', 'pipe'], env: { LC_ALL: 'C' } });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr = (stderr + chunk).slice(0, MAX_STDERR_BYTES);
    });
    // Answered at the deadline, not when the child is gone: one stuck in the kernel outlives
    // SIGKILL, and must hold neither this answer nor the process's exit.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.unref();
      child.stderr.destroy();
      resolve(`${program} -f ${dir} did not finish within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(`${program} -f: ${err.message}`);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(undefined);
      else resolve(`${program} -f ${dir} failed (${signal ?? `exit ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    });
  });
}
