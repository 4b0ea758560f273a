/**
 * Crash-safe, durable file writes, one batch at a time: after a SIGKILL or a
 * power cut at any moment every target holds its old content or its new
 * content, never a torn mix, and what a killed run left behind is removed
 * by the next writer that uses the same journal directory.
 *
 * A batch (all files of a `files` key, all entries of an archive, one
 * progress or cache file) is committed in five steps:
 *   1. missing parent directories are created;
 *   2. a journal naming the batch's token and the directories its temp files
 *      go to is made durable, so that a later run can find them whatever it
 *      writes;
 *   3. every temp file is written beside its target (same file system, so
 *      the rename is atomic), owner and mode set, and all of them are made
 *      durable before any is renamed: per file system, with one syncfs
 *      when the batch has many files there, else with an fsync each, issued
 *      together on the thread pool so that the file system's journal commits
 *      once for many files (shared/file-system-sync.ts says which, and why);
 *   4. each temp file is renamed over its target, in batch order;
 *   5. each distinct directory that gained or changed an entry is fsynced
 *      once, then the journal is removed.
 * A content too large for memory (a download, an archive member) goes into
 * a temp reserved before commit and filled by the caller (`reserve`). A
 * batch that fails or is abandoned removes its temps and the directories it
 * created, so nothing of it is left.
 *
 * Temp names are short and fixed-length (`.cfntools-<token>-<n>.tmp`), so
 * a target name of any valid length still has a valid temp name, and a
 * leftover is recognisable. The sweep removes only names that match the
 * dead writer's token, and only when the journal's process is gone (boot id,
 * pid and start time), so two writers at once never remove each other's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnError, errorMessage } from './errors';
import { fileSystemSync, type FileSystemSync, type SyncMethod } from './file-system-sync';
import { readJsonFile } from './json-file';
import type { Logger } from './log';
import { mayBeAlive, ownIdentity, type ProcessIdentity } from './process-identity';

/** node:crypto is loaded at the first write, not by every tool that loads the CLI layer (which imports abandonAll). */
const randomHex = (): string => (require('node:crypto') as typeof import('node:crypto')).randomBytes(4).toString('hex');

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
  | ({ kind: 'reserved'; path: string } & FileOptions)
  | ({ kind: 'symlink'; path: string; target: string } & Ownership)
  | { kind: 'hardlink'; path: string; to: string };

/** Where a batch's temp files may be: these directories, or everything below them. */
export interface Scope {
  dirs: string[];
  recursive: boolean;
}

/** Open temp files at once, at most: a batch of any size stays far below the descriptor limit. */
const CHUNK = 128;
const TEMP_PREFIX = '.cfntools-';
const JOURNAL_SUFFIX = '.json';
/** A journal names a few directories. */
const MAX_JOURNAL_BYTES = 1024 * 1024;

// ---------------------------------------------------------------- fsync helpers

const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function fsyncDirs(dirs: Iterable<string>): Promise<void> {
  await Promise.all(
    [...dirs].map(async (dir) => {
      const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      try {
        await fsyncAsync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }),
  );
}

/** One for the process: once `sync -f` has failed, no writer tries it again. */
let machine: FileSystemSync | undefined;
const machineSync = () => (machine ??= fileSystemSync());

// ---------------------------------------------------------------- what a signal must clean up

/** Batches not yet committed or abandoned, and scratch files made: what a stopped process must not leave. */
const liveBatches = new Set<WriteBatch>();
const scratchFiles = new Set<string>();

/** Abandon every batch in progress and remove every scratch file: for SIGTERM/SIGINT (shared/cli.ts). */
export function abandonAll(): void {
  for (const b of [...liveBatches]) b.abandon();
  for (const f of scratchFiles) fs.rmSync(f, { force: true });
  scratchFiles.clear();
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
    readonly logger?: Logger,
    /** How temps reach the disk; tests force one way. */
    readonly sync: FileSystemSync = machineSync(),
  ) {}

  /**
   * A private file in the journal directory (a download before it is
   * unpacked), named so that the sweep removes it if this process dies.
   * The caller removes it when done.
   */
  scratchFile(what: string): string {
    this.sweepOnce();
    fs.mkdirSync(this.journalDir, { recursive: true, mode: 0o700 });
    const id = ownIdentity();
    const file = path.join(this.journalDir, `${id.boot}-${id.pid}-${id.start}-${randomHex()}.${what.replace(/[^a-z0-9]/gi, '')}`);
    scratchFiles.add(file);
    return file;
  }

  /** A batch; with `scope`, temps may be reserved before commit anywhere in it. */
  batch(scope?: Scope): WriteBatch {
    return new WriteBatch(this, scope);
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

  /** Record, durably, where the temps of `token` will be, before any of them exists; returns the journal's path. */
  openJournal(token: string, scope: Scope): string {
    this.sweepOnce();
    fs.mkdirSync(this.journalDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.journalDir, `${token}${JOURNAL_SUFFIX}`);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.writeFileSync(fd, JSON.stringify(scope));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDirSync(this.journalDir);
    return file;
  }
}

/** Journals (`.json`, `.json.tmp` while written) and scratch files (`.<what>`) carry their writer's identity. */
function parseJournalName(name: string): ProcessIdentity | undefined {
  const m = /^([0-9a-z]+)-(\d+)-(\d+)-[0-9a-f]+\.[0-9a-z.]+$/i.exec(name);
  return m ? { boot: m[1], pid: Number(m[2]), start: m[3] } : undefined;
}

/** Remove a dead writer's temps from the directories its journal names; only names of its own token are touched. */
function removeTemps(journal: string): string[] {
  let scope: Partial<Scope>;
  try {
    scope = (readJsonFile(journal, { what: 'the journal', noFollow: true, maxBytes: MAX_JOURNAL_BYTES })?.value ?? {}) as Partial<Scope>;
  } catch {
    return []; // unreadable journal: its temps were never created (it is written first)
  }
  if (!scope || !Array.isArray(scope.dirs)) return [];
  const token = path.basename(journal, JOURNAL_SUFFIX);
  const own = new RegExp(`^\\${TEMP_PREFIX}${token}-\\d+\\.tmp$`);
  const removed: string[] = [];
  const visit = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw new FileWriteError(dir, err, 'cannot look for leftover temp files in');
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (scope.recursive && depth < 4096) visit(p, depth + 1);
      } else if (own.test(e.name)) {
        fs.rmSync(p, { force: true });
        removed.push(p);
      }
    }
  };
  for (const dir of scope.dirs) if (typeof dir === 'string' && path.isAbsolute(dir)) visit(dir, 0);
  return removed;
}

/** Byte for byte, without holding either file. */
export function sameContent(a: string, b: string): boolean {
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.alloc(64 * 1024);
    const bb = Buffer.alloc(64 * 1024);
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      const nb = fs.readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

function existingMode(file: string): number | undefined {
  try {
    return fs.statSync(file).mode & 0o7777;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- a batch

const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
const REOPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

/**
 * `name` in `dir`, not normalised: the kernel resolves the temp's directory
 * as it resolves the target's (`link/..` included), so the rename stays
 * within one directory and the sweep finds the temp where the journal says.
 */
const inDir = (dir: string, name: string) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

interface OpenFile {
  fd: number;
  /** The target, for errors. */
  file: string;
}

/** fsync them together on the thread pool (the file system commits its journal once for many), then close them. */
async function fsyncAll(open: OpenFile[]): Promise<void> {
  const results = await Promise.allSettled(open.map(({ fd }) => fsyncAsync(fd)));
  for (const { fd } of open) fs.closeSync(fd);
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) throw new FileWriteError(open[failed].file, (results[failed] as PromiseRejectedResult).reason, 'cannot make durable');
}

/** The files of a batch on one file system, and how they reach the disk. */
interface SyncGroup {
  /** A directory of theirs, to name the file system. */
  dir: string;
  method: SyncMethod;
  /** Indexes of the items. */
  items: number[];
}

export class WriteBatch {
  private readonly items: Item[] = [];
  /** Per item: its temp path, and its directory. */
  private readonly temps: string[] = [];
  private readonly dirs: string[] = [];
  /** Directories whose entries changed: fsynced at the end. */
  private readonly dirty = new Set<string>();
  /** Directories this batch made, outermost first: removed again if it fails. */
  private readonly made: string[] = [];
  /** Directories known to exist (found or made), by the name asked and the name resolved: their file system's st_dev. */
  private readonly devOf = new Map<string, number>();
  private readonly token: string;
  /** Numbers temp names; never reused, even after a drop(). */
  private serial = 0;
  private journal: string | undefined;
  /** commit() was called; no more items. */
  private done = false;
  /** Committed or abandoned. */
  private finished = false;
  /** Temps renamed into place so far: an abandon keeps those. */
  private renamed = 0;

  constructor(
    private readonly writer: DurableWriter,
    private readonly scope?: Scope,
  ) {
    const id = ownIdentity();
    this.token = `${id.boot}-${id.pid}-${id.start}-${randomHex()}`;
    liveBatches.add(this);
  }

  get size(): number {
    return this.items.length;
  }

  addFile(file: string, data: Buffer, opts: FileOptions): void {
    this.push({ kind: 'file', path: file, data, ...opts });
  }

  addSymlink(file: string, target: string, owner: Ownership = {}): void {
    this.push({ kind: 'symlink', path: file, target, ...owner });
  }

  /** A hard link at `file` to `to`: a file of this batch (linked to its new content) or one on disk. */
  addHardLink(file: string, to: string): void {
    this.push({ kind: 'hardlink', path: file, to });
  }

  /**
   * The temp path for `file`'s new content, for the caller to fill now (it
   * exists, empty, 0600); mode and owner are set at commit. Needs a scope
   * that covers `file`'s directory, which must exist.
   */
  reserve(file: string, opts: FileOptions): string {
    if (!this.scope) throw new CfnError('internal: reserve() needs a batch with a scope');
    this.journal ??= this.writer.openJournal(this.token, this.scope);
    const tmp = this.push({ kind: 'reserved', path: file, ...opts });
    try {
      fs.closeSync(fs.openSync(tmp, CREATE_FLAGS, 0o600));
    } catch (err) {
      throw new FileWriteError(file, err);
    }
    return tmp;
  }

  /** Forget the last reserved temp of `file` (its content turned out to be what is there already). */
  drop(file: string): void {
    let i = this.items.length - 1;
    while (i >= 0 && this.items[i].path !== file) i--;
    if (i < 0 || this.items[i].kind !== 'reserved') throw new CfnError(`internal: nothing reserved for ${file}`);
    fs.rmSync(this.temps[i], { force: true });
    this.items.splice(i, 1);
    this.temps.splice(i, 1);
    this.dirs.splice(i, 1);
  }

  /**
   * `mkdir -p dir` now, every created directory with `mode`; their parents
   * are fsynced with the batch. Returns the directories created, outermost
   * first. A directory this batch already found or made is not looked at again.
   */
  makeDirs(dir: string, mode = 0o755): string[] {
    if (this.devOf.has(dir)) return [];
    const missing: string[] = [];
    let d = path.resolve(dir);
    let dev = this.devOf.get(d);
    while (dev === undefined) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(d, { throwIfNoEntry: false });
      } catch (err) {
        throw new FileWriteError(d, err, 'cannot create the directory');
      }
      if (st?.isDirectory()) {
        dev = st.dev;
        this.devOf.set(d, dev);
        break;
      }
      if (st) throw new FileWriteError(dir, Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' }), 'cannot create the directory');
      missing.unshift(d);
      const up = path.dirname(d);
      if (up === d) throw new FileWriteError(d, Object.assign(new Error('the root directory is missing'), { code: 'ENOENT' }), 'cannot create the directory');
      d = up;
      dev = this.devOf.get(d);
    }
    for (const m of missing) {
      try {
        fs.mkdirSync(m, { mode });
        // mkdir's mode passes through the umask; the requested mode is what the caller asked for.
        fs.chmodSync(m, mode);
      } catch (err) {
        throw new FileWriteError(m, err, 'cannot create the directory');
      }
      this.made.push(m);
      this.dirty.add(path.dirname(m));
      // A directory just made is no mount point: it is on its parent's file system.
      this.devOf.set(m, dev);
    }
    this.devOf.set(dir, dev);
    return missing;
  }

  /** Write the whole batch durably. Throws FileWriteError naming the target that failed; then nothing of the batch is left. */
  async commit(): Promise<void> {
    if (this.done) throw new CfnError('internal: a batch is committed once');
    this.done = true;
    try {
      if (this.items.length) {
        const dirs = [...new Set(this.dirs)];
        for (const dir of dirs) this.makeDirs(dir);
        this.journal ??= this.writer.openJournal(this.token, this.scope ?? { dirs, recursive: false });
        const groups = this.syncGroups();
        await this.writeTemps(new Set(groups.filter((g) => g.method === 'each').flatMap((g) => g.items)));
        await this.syncFileSystems(groups);
        for (; this.renamed < this.items.length; this.renamed++) {
          try {
            fs.renameSync(this.temps[this.renamed], this.items[this.renamed].path);
          } catch (err) {
            throw new FileWriteError(this.items[this.renamed].path, err);
          }
        }
      }
      await fsyncDirs(this.dirty);
    } catch (err) {
      if (!this.finished) this.cleanUp(this.renamed);
      throw err;
    } finally {
      this.finished = true;
      if (this.journal) fs.rmSync(this.journal, { force: true });
      liveBatches.delete(this);
    }
  }

  /** Give up: the temps not yet renamed and the directories made (when empty) go. */
  abandon(): void {
    liveBatches.delete(this);
    if (this.finished) return;
    this.finished = true;
    this.cleanUp(this.renamed);
    if (this.journal) fs.rmSync(this.journal, { force: true });
  }

  /** After each wait: a signal may have abandoned the batch meanwhile, and its temps are gone. */
  private stillOn(): void {
    if (this.finished) throw new CfnError('the write was abandoned (the process is stopping)');
  }

  private push(item: Item): string {
    if (this.done) throw new CfnError('internal: the batch is already committed');
    const dir = path.dirname(item.path);
    const tmp = inDir(dir, `${TEMP_PREFIX}${this.token}-${this.serial++}.tmp`);
    this.items.push(item);
    this.temps.push(tmp);
    this.dirs.push(dir);
    return tmp;
  }

  /** Temps from `renamed` on go; directories made go when nothing was renamed into them (only empty ones can). */
  private cleanUp(renamed: number): void {
    for (const t of this.temps.slice(renamed)) {
      try {
        fs.rmSync(t, { force: true });
      } catch {
        // the journal still names its directory: the next writer's sweep removes it
      }
    }
    for (const d of [...this.made].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty: something of the batch (or someone else) is in it
      }
    }
  }

  /** The files (not links, which have no data of their own) by file system, each group with its way to the disk. */
  private syncGroups(): SyncGroup[] {
    const byDev = new Map<number, SyncGroup>();
    for (let n = 0; n < this.items.length; n++) {
      const kind = this.items[n].kind;
      if (kind !== 'file' && kind !== 'reserved') continue;
      const dir = this.dirs[n];
      const dev = this.devOf.get(dir)!;
      let group = byDev.get(dev);
      if (!group) byDev.set(dev, (group = { dir, method: 'each', items: [] }));
      group.items.push(n);
    }
    for (const group of byDev.values()) {
      try {
        group.method = this.writer.sync.method(group.dir, group.items.length);
      } catch (err) {
        throw new FileWriteError(group.dir, err, 'cannot make durable the files in');
      }
    }
    return [...byDev.values()];
  }

  /** Create (or, for reserved ones, finish) every temp; those in `each` are fsynced CHUNK at a time. */
  private async writeTemps(each: ReadonlySet<number>): Promise<void> {
    const tempOf = new Map<string, string>();
    const open: OpenFile[] = [];
    try {
      for (let n = 0; n < this.items.length; n++) {
        const fd = this.createTemp(n, tempOf);
        if (fd === undefined) continue;
        if (!each.has(n)) {
          fs.closeSync(fd);
          continue;
        }
        open.push({ fd, file: this.items[n].path });
        if (open.length === CHUNK) {
          await fsyncAll(open.splice(0));
          this.stillOn();
        }
      }
      await fsyncAll(open.splice(0));
      this.stillOn();
    } finally {
      for (const { fd } of open) fs.closeSync(fd);
    }
  }

  /** Create temp `n`; returns it open when it is a file. */
  private createTemp(n: number, tempOf: Map<string, string>): number | undefined {
    const item = this.items[n];
    const tmp = this.temps[n];
    let fd: number | undefined;
    try {
      if (item.kind === 'file' || item.kind === 'reserved') {
        fd = item.kind === 'file' ? fs.openSync(tmp, CREATE_FLAGS, 0o600) : fs.openSync(tmp, REOPEN_FLAGS);
        if (item.kind === 'file') fs.writeFileSync(fd, item.data);
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
      if (fd !== undefined) fs.closeSync(fd);
      throw new FileWriteError(item.path, err);
    }
    tempOf.set(item.path, tmp);
    this.dirty.add(this.dirs[n]);
    return fd;
  }

  /**
   * One syncfs per file system whose files are synced whole; where that
   * fails, each of its files is fsynced instead (which names the one that
   * failed, if one did).
   */
  private async syncFileSystems(groups: SyncGroup[]): Promise<void> {
    const whole = groups.filter((g) => g.method === 'file-system');
    await Promise.all(
      whole.map(async (group) => {
        const why = await this.writer.sync.syncFileSystem(group.dir);
        this.stillOn();
        if (why === undefined) return;
        this.writer.logger?.info(`Could not sync the file system of ${group.dir} (${why}); syncing each of its ${group.items.length} new files instead`);
        for (let i = 0; i < group.items.length; i += CHUNK) {
          const open: OpenFile[] = [];
          try {
            for (const n of group.items.slice(i, i + CHUNK)) {
              try {
                open.push({ fd: fs.openSync(this.temps[n], REOPEN_FLAGS), file: this.items[n].path });
              } catch (err) {
                throw new FileWriteError(this.items[n].path, err, 'cannot make durable');
              }
            }
            await fsyncAll(open.splice(0));
            this.stillOn();
          } finally {
            for (const { fd } of open) fs.closeSync(fd);
          }
        }
      }),
    );
  }
}
