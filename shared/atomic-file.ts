/**
 * Crash-safe file writes: a reader sees the old file or the new one, never a
 * torn one. Write to a temp file in the same directory (same filesystem, so
 * rename is atomic), fsync, apply mode and owner, rename, fsync the directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CfnError } from './errors';

export interface AtomicWriteOptions {
  /** Permission bits; default 0644 for a new file, the old file's mode when replacing. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export class FileWriteError extends CfnError {
  constructor(readonly file: string, cause: unknown) {
    super(`cannot write ${file}: ${(cause as NodeJS.ErrnoException).code ?? ''} ${(cause as Error).message ?? cause}`.replace(/\s+/g, ' '), { cause });
  }
}

export function writeFileAtomic(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      mode = fs.statSync(file).mode & 0o7777;
    } catch {
      mode = 0o644;
    }
  }
  let fd: number | undefined;
  try {
    // Created 0600 so the content is never readable by others before the final mode is set.
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    fs.writeFileSync(fd, data);
    if (opts.uid !== undefined || opts.gid !== undefined) fs.fchownSync(fd, opts.uid ?? -1, opts.gid ?? -1);
    // After chown: chown clears setuid/setgid bits.
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new FileWriteError(file, err);
  }
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
