/**
 * Crash-safe, durable file writes, one batch at a time: after a SIGKILL or a
 * power cut at any moment every target holds its old content or its new
 * content, never a torn mix, and what a killed run left behind is removed
 * by the next writer that uses the same journal directory.
 *
 * A batch (all files of a `files` key, all entries of an archive, one
 * progress or cache file) is committed in five steps:
 *   1. missing parent directories are created;
 *   2. a journal naming every temp file the batch will create is made
 *      durable, so that a later run can find them whatever it writes;
 *   3. every temp file is written beside its target (same file system, so
 *      the rename is atomic), owner and mode set, and all of them are
 *      fsynced together: in parallel on the thread pool, so the file
 *      system's journal commits once for many files instead of once each;
 *   4. each temp file is renamed over its target, in batch order;
 *   5. each distinct directory that gained or changed an entry is fsynced
 *      once, then the journal is removed.
 *
 * Temp names are short and fixed-length (`.cfntools-<token>-<n>.tmp`), so
 * a target name of any valid length still has a valid temp name, and a
 * leftover is recognisable. The sweep removes only names that match the
 * dead writer's token, and only when the journal's process is gone (boot id,
 * pid and start time), so two writers at once never remove each other's.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnError, errorMessage } from './errors';
import type { Logger } from './log';

export class FileWriteError extends CfnError {
  constructor(
    readonly file: string,
    cause: unknown,
    what = 'cannot write',
  ) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    const msg = errorMessage(cause);
    super(`${what} ${file}: ${code && !msg.includes(code) ? `${code} ` : ''}${msg}`, { cause });
  }
}

export interface Ownership {
  uid?: number;
  gid?: number;
}

export interface FileOptions extends Ownership {
  /** Permission bits, setuid/setgid/sticky included. */
  mode: number;
  mtime?: Date;
}

type Item =
  | ({ kind: 'file'; path: string; data: Buffer } & FileOptions)
  | ({ kind: 'symlink'; path: string; target: string } & Ownership)
  | { kind: 'hardlink'; path: string; to: string };

/** Open temp files at once, at most: a batch of any size stays far below the descriptor limit. */
const CHUNK = 128;
const TEMP_PREFIX = '.cfntools-';
const JOURNAL_SUFFIX = '.json';

// ---------------------------------------------------------------- process identity

interface Identity {
  boot: string;
  pid: number;
  start: string;
}

function readTrimmed(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return ''; // no /proc: identity by pid alone
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); '' when unknown. */
function startTime(pid: number): string {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

let self: Identity | undefined;
function identity(): Identity {
  self ??= { boot: readTrimmed('/proc/sys/kernel/random/boot_id').replace(/-/g, '').slice(0, 12) || 'noboot', pid: process.pid, start: startTime(process.pid) || '0' };
  return self;
}

/** Whether the process that wrote a journal may still be running. */
function mayBeAlive(id: Identity): boolean {
  const me = identity();
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

// ---------------------------------------------------------------- fsync helpers

const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

function openDir(dir: string): number {
  return fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
}

function fsyncDirSync(dir: string): void {
  const fd = openDir(dir);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function fsyncDirs(dirs: Iterable<string>): Promise<void> {
  await Promise.all(
    [...dirs].map(async (dir) => {
      const fd = openDir(dir);
      try {
        await fsyncAsync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }),
  );
}

// ---------------------------------------------------------------- the writer

/**
 * Writes batches with one journal directory (root-owned, 0700). The first
 * batch of each writer first removes what killed runs left.
 */
export class DurableWriter {
  private swept = false;

  constructor(
    readonly journalDir: string,
    private readonly logger?: Logger,
  ) {}

  batch(): WriteBatch {
    return new WriteBatch(this);
  }

  /** One file (progress files, caches); without a mode, a replaced file keeps its own, a new one gets 0644. */
  async writeFile(file: string, data: string | Buffer, opts: Partial<FileOptions> = {}): Promise<void> {
    const b = this.batch();
    b.addFile(file, typeof data === 'string' ? Buffer.from(data) : data, { ...opts, mode: opts.mode ?? existingMode(file) ?? 0o644 });
    await b.commit();
  }

  /** Remove the temp files of journals whose writer is gone, and those journals. */
  sweep(): void {
    this.swept = true;
    let names: string[];
    try {
      names = fs.readdirSync(this.journalDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new FileWriteError(this.journalDir, err, 'cannot read the write journal');
    }
    for (const name of names) {
      const id = parseJournalName(name);
      if (!id || mayBeAlive(id)) continue;
      const file = path.join(this.journalDir, name);
      if (name.endsWith(JOURNAL_SUFFIX)) {
        const removed = removeTemps(file);
        if (removed.length) this.logger?.info(`Removed ${removed.length} temp file(s) left by an interrupted write (pid ${id.pid}): ${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''}`);
      }
      fs.rmSync(file, { force: true });
    }
  }

  sweepOnce(): void {
    if (!this.swept) this.sweep();
  }

  /** Record the temp paths durably before any of them exists; returns the journal's path. */
  openJournal(token: string, temps: readonly string[]): string {
    fs.mkdirSync(this.journalDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.journalDir, `${token}${JOURNAL_SUFFIX}`);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.writeFileSync(fd, JSON.stringify({ temps }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDirSync(this.journalDir);
    return file;
  }
}

function parseJournalName(name: string): Identity | undefined {
  const m = /^([0-9a-z]+)-(\d+)-(\d+)-[0-9a-f]+\.json(\.tmp)?$/.exec(name);
  return m ? { boot: m[1], pid: Number(m[2]), start: m[3] } : undefined;
}

/** Remove the temps a dead writer listed; only names of its own token are touched. */
function removeTemps(journal: string): string[] {
  let temps: unknown;
  try {
    temps = (JSON.parse(fs.readFileSync(journal, 'utf8')) as { temps?: unknown }).temps;
  } catch {
    return []; // unreadable journal: its temps were never created (it is written first)
  }
  if (!Array.isArray(temps)) return [];
  const token = path.basename(journal, JOURNAL_SUFFIX);
  const own = new RegExp(`^\\${TEMP_PREFIX}${token}-\\d+\\.tmp$`);
  const removed: string[] = [];
  for (const t of temps) {
    if (typeof t !== 'string' || !path.isAbsolute(t) || !own.test(path.basename(t))) continue;
    try {
      if (fs.lstatSync(t).isDirectory()) continue;
      fs.unlinkSync(t);
      removed.push(t);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw new FileWriteError(t, err, 'cannot remove the leftover temp file');
    }
  }
  return removed;
}

function existingMode(file: string): number | undefined {
  try {
    return fs.statSync(file).mode & 0o7777;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- a batch

export class WriteBatch {
  private readonly items: Item[] = [];
  /** Directories whose entries changed: fsynced at the end. */
  private readonly dirty = new Set<string>();

  constructor(private readonly writer: DurableWriter) {}

  get size(): number {
    return this.items.length;
  }

  addFile(file: string, data: Buffer, opts: FileOptions): void {
    this.items.push({ kind: 'file', path: file, data, ...opts });
  }

  addSymlink(file: string, target: string, owner: Ownership = {}): void {
    this.items.push({ kind: 'symlink', path: file, target, ...owner });
  }

  /** A hard link at `file` to `to`: a file of this batch (linked to its new content) or one on disk. */
  addHardLink(file: string, to: string): void {
    this.items.push({ kind: 'hardlink', path: file, to });
  }

  /**
   * `mkdir -p dir` now, every created directory with `mode`; their parents
   * are fsynced with the batch. Returns the directories created, outermost first.
   */
  makeDirs(dir: string, mode = 0o755): string[] {
    const missing: string[] = [];
    let d = path.resolve(dir);
    for (;;) {
      let st: fs.Stats;
      try {
        st = fs.statSync(d);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw new FileWriteError(d, err, 'cannot create the directory');
        missing.unshift(d);
        const up = path.dirname(d);
        if (up === d) break;
        d = up;
        continue;
      }
      if (!st.isDirectory()) throw new FileWriteError(dir, Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' }), 'cannot create the directory');
      break;
    }
    for (const m of missing) {
      try {
        fs.mkdirSync(m, { mode });
        // mkdir's mode passes through the umask; the requested mode is what the caller asked for.
        fs.chmodSync(m, mode);
      } catch (err) {
        throw new FileWriteError(m, err, 'cannot create the directory');
      }
      this.dirty.add(path.dirname(m));
    }
    return missing;
  }

  /** Write the whole batch durably. Throws FileWriteError naming the target that failed. */
  async commit(): Promise<void> {
    if (this.items.length === 0) {
      await fsyncDirs(this.dirty);
      return;
    }
    this.writer.sweepOnce();
    for (const dir of new Set(this.items.map((i) => path.dirname(i.path)))) this.makeDirs(dir);
    const id = identity();
    const token = `${id.boot}-${id.pid}-${id.start}-${randomBytes(4).toString('hex')}`;
    const temps = this.items.map((item, n) => path.join(path.dirname(item.path), `${TEMP_PREFIX}${token}-${n}.tmp`));
    const journal = this.writer.openJournal(token, temps);
    let renamed = 0;
    try {
      const tempOf = new Map<string, string>();
      for (let i = 0; i < this.items.length; i += CHUNK) {
        const open = this.createTemps(temps, i, Math.min(i + CHUNK, this.items.length), tempOf);
        try {
          // Together: the file system commits its journal once for many files.
          await Promise.all(open.map(({ fd, file }) => fsyncAsync(fd).catch((err) => Promise.reject(new FileWriteError(file, err, 'cannot make durable')))));
        } finally {
          for (const { fd } of open) fs.closeSync(fd);
        }
      }
      for (; renamed < this.items.length; renamed++) {
        try {
          fs.renameSync(temps[renamed], this.items[renamed].path);
        } catch (err) {
          throw new FileWriteError(this.items[renamed].path, err);
        }
      }
      await fsyncDirs(this.dirty);
    } catch (err) {
      removeQuietly(temps.slice(renamed));
      throw err;
    } finally {
      fs.rmSync(journal, { force: true });
    }
  }

  /** Create temps [from, to); returns the regular files still open, for fsync. */
  private createTemps(temps: readonly string[], from: number, to: number, tempOf: Map<string, string>): Array<{ fd: number; file: string }> {
    const open: Array<{ fd: number; file: string }> = [];
    try {
      for (let n = from; n < to; n++) {
        const item = this.items[n];
        const tmp = temps[n];
        try {
          if (item.kind === 'file') {
            const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
            open.push({ fd, file: item.path });
            fs.writeFileSync(fd, item.data);
            if (item.uid !== undefined || item.gid !== undefined) fs.fchownSync(fd, item.uid ?? -1, item.gid ?? -1);
            // After the chown, which clears setuid/setgid; the content was never readable by others before this.
            fs.fchmodSync(fd, item.mode);
            if (item.mtime) fs.futimesSync(fd, item.mtime, item.mtime);
          } else if (item.kind === 'symlink') {
            fs.symlinkSync(item.target, tmp);
            if (item.uid !== undefined || item.gid !== undefined) fs.lchownSync(tmp, item.uid ?? -1, item.gid ?? -1);
          } else {
            // A file of this batch is still at its temp name: link to that inode.
            fs.linkSync(tempOf.get(item.to) ?? item.to, tmp);
          }
        } catch (err) {
          throw new FileWriteError(item.path, err);
        }
        tempOf.set(item.path, tmp);
        this.dirty.add(path.dirname(item.path));
      }
    } catch (err) {
      for (const { fd } of open) fs.closeSync(fd);
      throw err;
    }
    return open;
  }
}

/** Cleanup on the failure path: the original error is what the caller reports. */
function removeQuietly(files: readonly string[]): void {
  for (const f of files) {
    try {
      fs.rmSync(f, { force: true });
    } catch {
      // the journal still lists it: the next writer's sweep removes it
    }
  }
}
