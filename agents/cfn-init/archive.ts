/**
 * Safe extraction of `sources` archives: tar (plain, gzip, bzip2, xz) and zip,
 * recognised by their content like aws-cfn-bootstrap (an archive served as
 * `application/octet-stream` from a URL without an extension is common).
 *
 * The whole archive is read and checked before anything is written, so a
 * hostile entry fails the source without a single file landing anywhere:
 * absolute names, `..`, symlinks whose target resolves outside the target
 * directory, hard links to anything but an earlier file of the archive,
 * entries written through a symlink (the archive's own, or an existing one
 * that leads outside), device nodes and FIFOs. Extraction overwrites, never
 * deletes: an entry that would replace a directory (or turn a file into a
 * directory) is an error rather than an `rm -rf`.
 *
 * The entries are written as one durable batch (shared/durable-write.ts):
 * each file is replaced by rename (a reader sees the old or the new file,
 * a crash leaves one or the other), and an identical file is left alone, so
 * re-running an unchanged source changes nothing and reports no change.
 */
import { Blob } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReadEntry } from 'tar';
import type * as Yauzl from 'yauzl';
import { FileWriteError, type DurableWriter } from '../../shared/durable-write';
import { CfnError, errorMessage } from '../../shared/errors';

// The decoders load with the first archive of the run: a run without sources never pays for them.
const tar = () => require('tar') as typeof import('tar');
const yauzl = () => require('yauzl') as typeof Yauzl;
const xz = () => require('xz-decompress') as typeof import('xz-decompress');
const zlib = () => require('node:zlib') as typeof import('node:zlib');
// No type declarations ship with it; the factory returns a through-stream.
const unbzip2 = () => (require('unbzip2-stream') as () => NodeJS.ReadWriteStream)();

export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'zip';
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface ArchiveEntry {
  /** The name as stored. */
  name: string;
  type: EntryType | 'unsupported';
  /** The archive's own type name, for messages (`CharacterDevice`, `FIFO`...). */
  typeName: string;
  /** Permission bits, setuid/setgid/sticky included. */
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: Date;
  /** Symlink target, or the archive name a hard link refers to. */
  linkpath?: string;
  data: Buffer;
}

/** Not an archive we can read, or a file system conflict while extracting. */
export class ArchiveError extends CfnError {}

/** An entry that would write outside the target directory: nothing was extracted. */
export class UnsafeArchiveError extends ArchiveError {
  constructor(
    message: string,
    /** The offending entry's name as stored. */
    readonly entry: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- reading

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** Read every entry of a tar/tar.gz/tar.bz2/tar.xz/zip held in `data`. */
export async function readArchive(data: Buffer): Promise<{ format: ArchiveFormat; entries: ArchiveEntry[] }> {
  if (data[0] === 0x1f && data[1] === 0x8b) return { format: 'tar.gz', entries: await parseTar(gunzip(data), 'gzip') };
  if (data.subarray(0, 3).toString('latin1') === 'BZh') return { format: 'tar.bz2', entries: await parseTar(await bunzip2(data), 'bzip2') };
  if (data.subarray(0, 6).equals(XZ_MAGIC)) return { format: 'tar.xz', entries: await parseTar(await unxz(data), 'xz') };
  if (looksLikeTar(data)) return { format: 'tar', entries: await parseTar(data) };
  if (looksLikeZip(data)) return { format: 'zip', entries: await readZip(data) };
  throw new ArchiveError(`not a tar or zip archive (${data.length} bytes starting ${JSON.stringify(data.subarray(0, 8).toString('latin1'))})`);
}

function gunzip(data: Buffer): Buffer {
  try {
    return zlib().gunzipSync(data);
  } catch (err) {
    throw new ArchiveError(`corrupt gzip data: ${errorMessage(err)}`, { cause: err });
  }
}

function bunzip2(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = unbzip2();
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err: unknown) => reject(bzip2Error(err)));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    try {
      stream.end(data);
    } catch (err) {
      // The decoder throws synchronously on some corrupt input instead of emitting 'error'.
      reject(bzip2Error(err));
    }
  });
}

async function unxz(data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    const reader = new (xz().XzReadableStream)(new Blob([data]).stream() as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
    }
  } catch (err) {
    const code = /error code (\d+)/.exec(errorMessage(err))?.[1];
    throw new ArchiveError(`corrupt xz data: ${(code && XZ_ERRORS[code]) ?? errorMessage(err)}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

/** xz-embedded's xz_ret codes, which xz-decompress reports as bare numbers. */
const XZ_ERRORS: Record<string, string> = {
  '2': 'unsupported integrity check',
  '3': 'out of memory',
  '4': 'memory limit reached',
  '5': 'not xz data',
  '6': 'unsupported xz options',
  '7': 'the data is damaged',
  '8': 'the data ends too early (truncated)',
};

/** unbzip2-stream's messages for damaged blocks are jokes; keep only the informative ones. */
function bzip2Error(err: unknown): ArchiveError {
  const msg = errorMessage(err);
  const detail = /crc|premature|magic|not a bzip|header/i.test(msg) ? msg : 'the data is damaged';
  return new ArchiveError(`corrupt bzip2 data: ${detail}`, { cause: err });
}

/** A first header block with a valid checksum (any tar dialect), or an empty archive. */
function looksLikeTar(data: Buffer): boolean {
  if (data.length < 512) return false;
  const header = data.subarray(0, 512);
  if (header.every((b) => b === 0)) return data.length % 512 === 0;
  const stored = parseInt(header.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return stored === sum;
}

/** Local file header at the start, or an end-of-central-directory record near the end (self-extracting zips). */
function looksLikeZip(data: Buffer): boolean {
  if (data.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) return true;
  return data.subarray(Math.max(0, data.length - 65_557)).includes(Buffer.from('PK\x05\x06', 'latin1'));
}

const TAR_TYPES: Record<string, EntryType> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  GNUDumpDir: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

function parseTar(data: Buffer, inside?: string): Promise<ArchiveEntry[]> {
  if (inside && !looksLikeTar(data)) return Promise.reject(new ArchiveError(`${inside} data that is not a tar archive`));
  return new Promise((resolve, reject) => {
    const entries: ArchiveEntry[] = [];
    let failed = false;
    const fail = (err: ArchiveError) => {
      if (!failed) reject(err);
      failed = true;
    };
    // strict: every warning (bad checksum, truncated archive...) is an error.
    const parser = new (tar().Parser)({
      strict: true,
      onReadEntry: (e: ReadEntry) => {
        const chunks: Buffer[] = [];
        const entry: ArchiveEntry = {
          name: e.path,
          type: TAR_TYPES[e.type] ?? 'unsupported',
          typeName: e.type,
          mode: e.mode ?? 0,
          uid: e.uid,
          gid: e.gid,
          uname: e.uname || undefined,
          gname: e.gname || undefined,
          mtime: e.mtime,
          linkpath: e.linkpath,
          data: Buffer.alloc(0),
        };
        entries.push(entry);
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => {
          entry.data = Buffer.concat(chunks);
        });
      },
    });
    // Entries node-tar skips (sparse files, oversized long names...) must not vanish silently.
    parser.on('ignoredEntry', (e: ReadEntry) => fail(new ArchiveError(`tar entry ${JSON.stringify(e.path)} of type ${e.type} cannot be extracted`)));
    parser.on('error', (err: unknown) => fail(new ArchiveError(`corrupt tar archive: ${errorMessage(err)}`, { cause: err })));
    parser.on('end', () => {
      if (!failed) resolve(entries);
    });
    parser.end(data);
  });
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
/** Zip "version made by" host systems whose external attributes carry a Unix mode. */
const UNIX_HOSTS = new Set([3 /* Unix */, 19 /* OS X */]);

async function readZip(data: Buffer): Promise<ArchiveEntry[]> {
  let zip: Yauzl.ZipFile;
  try {
    // decodeStrings off: names are checked by our own rules, not rejected by yauzl's with its wording.
    zip = await yauzl().fromBufferPromise(data, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, strictFileNames: false });
  } catch (err) {
    throw new ArchiveError(`corrupt zip archive: ${errorMessage(err)}`, { cause: err });
  }
  const entries: ArchiveEntry[] = [];
  try {
    for await (const e of zip.eachEntry()) {
      const name = yauzl().getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, false);
      if (e.isEncrypted()) throw new ArchiveError(`zip entry ${JSON.stringify(name)} is encrypted`);
      if (!e.canDecodeFileData()) throw new ArchiveError(`zip entry ${JSON.stringify(name)} uses unsupported compression method ${e.compressionMethod}`);
      const unix = UNIX_HOSTS.has(e.versionMadeBy >> 8) ? e.externalFileAttributes >>> 16 : 0;
      const fmt = unix & S_IFMT;
      const dosDir = (e.externalFileAttributes & 0x10) !== 0;
      const isDir = name.endsWith('/') || fmt === S_IFDIR || (fmt === 0 && dosDir);
      const type: ArchiveEntry['type'] = isDir ? 'directory' : fmt === S_IFLNK ? 'symlink' : fmt === 0 || fmt === S_IFREG ? 'file' : 'unsupported';
      const body = await readAll(await zip.openReadStreamPromise(e));
      // Archives from Windows carry no Unix mode; aws-cfn-bootstrap then chmods to 0000.
      const perms = unix & 0o7777;
      entries.push({
        name,
        type,
        typeName: type === 'unsupported' ? `mode ${fmt.toString(8)}` : type,
        mode: perms || (isDir ? 0o755 : 0o644),
        mtime: e.getLastModDate(),
        linkpath: type === 'symlink' ? body.toString('utf8') : undefined,
        data: type === 'file' ? body : Buffer.alloc(0),
      });
    }
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveError(`corrupt zip archive: ${errorMessage(err)}`, { cause: err });
  }
  return entries;
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

// ---------------------------------------------------------------- checking

export interface PlannedEntry {
  /** Path relative to the target, `/`-separated, normalised (no `.`, no `..`, never empty). */
  rel: string;
  entry: ArchiveEntry;
  /** Hard links: `rel` of the file linked to. */
  linkRel?: string;
}

/** `./a//b/` → `a/b`; absolute names and `..` are refused. */
export function normalizeName(name: string, what = 'entry'): string {
  const q = JSON.stringify(name);
  if (name.includes('\0')) throw new UnsafeArchiveError(`${what} ${q} has a NUL byte in its name`, name);
  if (name.startsWith('/')) throw new UnsafeArchiveError(`${what} ${q} has an absolute path`, name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`${what} ${q} has ".." in its path`, name);
  return parts.join('/');
}

/**
 * The single top-level directory every entry lives in (GitHub's
 * `<owner>-<repo>-<sha>/`), or undefined when there is none.
 */
export function singleTopDirectory(entries: readonly { rel: string; entry: ArchiveEntry }[]): string | undefined {
  const tops = new Set(entries.map((e) => e.rel.split('/')[0]));
  if (tops.size !== 1) return undefined;
  const [top] = tops;
  const self = entries.filter((e) => e.rel === top);
  const nested = entries.some((e) => e.rel !== top);
  if (self.some((e) => e.entry.type !== 'directory')) return undefined;
  return self.length || nested ? top : undefined;
}

/**
 * Where a symlink created at `rel` leads, following the archive's own
 * symlinks (`links`), as path parts under the target; undefined when it
 * leaves the target (absolute, too many `..`, or a loop).
 */
function resolveLink(rel: string, target: string, links: ReadonlyMap<string, string>, depth = 0): string[] | undefined {
  if (target.startsWith('/') || depth > 40) return undefined;
  let parts = rel.split('/').slice(0, -1);
  for (const comp of target.split('/')) {
    if (comp === '' || comp === '.') continue;
    if (comp === '..') {
      if (!parts.length) return undefined;
      parts.pop();
      continue;
    }
    parts.push(comp);
    const next = links.get(parts.join('/'));
    if (next !== undefined) {
      const resolved = resolveLink(parts.join('/'), next, links, depth + 1);
      if (!resolved) return undefined;
      parts = resolved;
    }
  }
  return parts;
}

/**
 * Normalise and check every entry against the archive itself; throws
 * UnsafeArchiveError / ArchiveError on the first bad one.
 */
export function planEntries(entries: readonly ArchiveEntry[], opts: { stripTopDirectory?: boolean } = {}): PlannedEntry[] {
  let planned = entries
    .map((entry) => ({ rel: normalizeName(entry.name), entry }))
    // `./` itself: the target directory, whose mode we do not take from an archive.
    .filter((p) => p.rel !== '');
  let strip: string | undefined;
  if (opts.stripTopDirectory) {
    strip = singleTopDirectory(planned);
    if (strip !== undefined) {
      const prefix = `${strip}/`;
      planned = planned.filter((p) => p.rel !== strip).map((p) => ({ ...p, rel: p.rel.slice(prefix.length) }));
    }
  }

  // Last word per path: a later entry replaces an earlier one, as tar does.
  const links = new Map<string, string>();
  for (const p of planned) {
    if (p.entry.type === 'symlink') links.set(p.rel, p.entry.linkpath ?? '');
    else links.delete(p.rel);
  }

  const kinds = new Map<string, EntryType>();
  const out: PlannedEntry[] = [];
  for (const p of planned) {
    const { entry, rel } = p;
    const q = JSON.stringify(entry.name);
    if (entry.type === 'unsupported') throw new UnsafeArchiveError(`entry ${q} is a ${entry.typeName}; only files, directories and links are extracted`, entry.name);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      const kind = kinds.get(ancestor);
      if (kind === 'symlink') throw new UnsafeArchiveError(`entry ${q} would be written through the symlink ${JSON.stringify(ancestor)} of the same archive`, entry.name);
      if (kind === 'file' || kind === 'hardlink') throw new ArchiveError(`entry ${q} is inside ${JSON.stringify(ancestor)}, which the archive makes a file`);
      if (kind === undefined) kinds.set(ancestor, 'directory');
    }
    const before = kinds.get(rel);
    if (before === 'directory' && entry.type !== 'directory') {
      throw new ArchiveError(`entry ${q} would replace a directory of the same archive with a ${entry.type}`);
    }
    if (entry.type === 'directory' && before !== undefined && before !== 'directory') {
      throw new UnsafeArchiveError(`entry ${q} would turn the ${before} ${JSON.stringify(rel)} of the same archive into a directory`, entry.name);
    }
    const plan: PlannedEntry = { rel, entry };
    if (entry.type === 'symlink') {
      const target = entry.linkpath ?? '';
      if (!target) throw new ArchiveError(`symlink ${q} has no target`);
      if (!resolveLink(rel, target, links)) {
        throw new UnsafeArchiveError(`symlink ${q} -> ${JSON.stringify(target)} points outside the target directory`, entry.name);
      }
    } else if (entry.type === 'hardlink') {
      let linkRel = normalizeName(entry.linkpath ?? '', `hard link ${q} to`);
      if (strip !== undefined) {
        if (!linkRel.startsWith(`${strip}/`)) throw new UnsafeArchiveError(`hard link ${q} -> ${JSON.stringify(entry.linkpath)} points outside the extracted tree`, entry.name);
        linkRel = linkRel.slice(strip.length + 1);
      }
      const kind = kinds.get(linkRel);
      if (kind !== 'file' && kind !== 'hardlink') {
        throw new UnsafeArchiveError(`hard link ${q} -> ${JSON.stringify(entry.linkpath)} does not refer to a file earlier in the archive`, entry.name);
      }
      plan.linkRel = linkRel;
    }
    kinds.set(rel, entry.type);
    out.push(plan);
  }
  return out;
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ArchiveError(`cannot inspect ${p}: ${errorMessage(err)}`, { cause: err });
  }
}

const inside = (p: string, root: string) => p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);

/**
 * Check the planned entries against what already exists under `root` (the
 * real path of the target): an existing symlink may only be passed through
 * when it leads to a directory inside the target, and nothing may require
 * deleting a directory or a file in the way of a directory.
 */
function checkAgainstDisk(plan: readonly PlannedEntry[], root: string): void {
  for (const { rel, entry } of plan) {
    const q = JSON.stringify(entry.name);
    const parts = rel.split('/');
    let dir = root;
    for (let i = 0; i < parts.length; i++) {
      const p = path.join(dir, parts[i]);
      const st = lstat(p);
      if (!st) break;
      const last = i === parts.length - 1;
      if (last && entry.type !== 'directory') {
        if (st.isDirectory()) throw new ArchiveError(`entry ${q}: ${p} is a directory; it is not deleted to make room for a ${entry.type}`);
        break;
      }
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = fs.realpathSync(p);
        } catch (err) {
          throw new UnsafeArchiveError(`entry ${q} would be written through the dangling symlink ${p} (${errorMessage(err)})`, entry.name);
        }
        if (!inside(real, root)) throw new UnsafeArchiveError(`entry ${q} would be written through the existing symlink ${p}, which leads outside to ${real}`, entry.name);
        if (!fs.statSync(real).isDirectory()) throw new ArchiveError(`entry ${q}: ${p} leads to ${real}, which is not a directory`);
        dir = real;
        continue;
      }
      if (!st.isDirectory()) throw new ArchiveError(`entry ${q}: ${p} exists and is not a directory; it is not deleted`);
      dir = p;
    }
  }
}

// ---------------------------------------------------------------- writing

export interface ExtractOptions {
  writer: DurableWriter;
  /** Drop a single top-level directory (GitHub archives). */
  stripTopDirectory?: boolean;
  /**
   * Give entries the archive's owners, by name when the name exists here,
   * else by number (what tar and Python's tarfile do as root). Tar only.
   */
  preserveOwners?: boolean;
  lookupUid?: (name: string) => number | undefined;
  lookupGid?: (name: string) => number | undefined;
}

export interface ExtractResult {
  format: ArchiveFormat;
  /** Entries extracted (after stripping). */
  entries: number;
  /** Entries created or replaced, plus directories whose mode or owner changed. */
  written: number;
  changed: boolean;
}

/** Check everything, then extract `data` into `target` (created when missing). */
export async function extractArchive(data: Buffer, target: string, opts: ExtractOptions): Promise<ExtractResult> {
  const { format, entries } = await readArchive(data);
  const plan = planEntries(entries, opts);
  const st = fs.existsSync(target) ? fs.statSync(target) : undefined;
  if (st && !st.isDirectory()) throw new ArchiveError(`${target} exists and is not a directory`);
  if (st) checkAgainstDisk(plan, fs.realpathSync(target));

  const batch = opts.writer.batch();
  try {
    batch.makeDirs(target);
  } catch (err) {
    throw new ArchiveError(`cannot create ${target}: ${errorMessage(err)}`, { cause: err });
  }
  const root = fs.realpathSync(target);
  const owners = ownerResolver(opts);
  let written = 0;
  const dirs: { abs: string; entry: ArchiveEntry; created: boolean }[] = [];
  /** Files of this archive that are replaced: a hard link to one must follow it to the new inode. */
  const staged = new Set<string>();
  for (const { rel, entry, linkRel } of plan) {
    const abs = path.join(root, rel);
    const { uid, gid } = owners(entry);
    try {
      if (entry.type === 'directory') {
        batch.makeDirs(path.dirname(abs));
        // Owner-only until the end: the archive's mode may forbid writing into it.
        dirs.push({ abs, entry, created: batch.makeDirs(abs, 0o700).length > 0 });
      } else if (entry.type === 'file') {
        if (!sameFile(abs, entry.data, entry.mode, uid, gid)) {
          batch.addFile(abs, entry.data, { mode: entry.mode, uid, gid, mtime: entry.mtime });
          staged.add(abs);
          written++;
        }
      } else if (entry.type === 'symlink') {
        if (!sameLink(abs, entry.linkpath!, uid, gid)) {
          batch.addSymlink(abs, entry.linkpath!, { uid, gid });
          written++;
        }
      } else if (entry.type === 'hardlink') {
        const to = path.join(root, linkRel!);
        const here = lstat(abs);
        const there = staged.has(to) ? undefined : lstat(to);
        if (!here || !there || here.ino !== there.ino || here.dev !== there.dev) {
          batch.addHardLink(abs, to);
          staged.add(abs);
          written++;
        }
      }
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw new ArchiveError(`cannot extract ${JSON.stringify(entry.name)} to ${abs}: ${errorMessage(err)}`, { cause: err });
    }
  }
  try {
    await batch.commit();
  } catch (err) {
    const at = err instanceof FileWriteError ? err.file : root;
    throw new ArchiveError(`cannot extract into ${at}: ${errorMessage(err)}`, { cause: err });
  }
  // Deepest first, so a read-only parent does not stop a child's chmod (only matters without root).
  for (const { abs, entry, created } of dirs.reverse()) {
    const { uid, gid } = owners(entry);
    const now = fs.statSync(abs);
    let touched = created;
    if ((uid !== undefined && now.uid !== uid) || (gid !== undefined && now.gid !== gid)) {
      fs.chownSync(abs, uid ?? -1, gid ?? -1);
      touched = true;
    }
    // After chown, which clears setgid.
    if ((fs.statSync(abs).mode & 0o7777) !== entry.mode) {
      fs.chmodSync(abs, entry.mode);
      touched = true;
    }
    if (touched) written++;
  }
  return { format, entries: plan.length, written, changed: written > 0 };
}

function ownerResolver(opts: ExtractOptions): (e: ArchiveEntry) => { uid?: number; gid?: number } {
  if (!opts.preserveOwners) return () => ({});
  const uids = new Map<string, number | undefined>();
  const gids = new Map<string, number | undefined>();
  const cached = (cache: Map<string, number | undefined>, name: string, lookup?: (n: string) => number | undefined) => {
    if (!cache.has(name)) cache.set(name, lookup?.(name));
    return cache.get(name);
  };
  return (e) => ({
    uid: (e.uname !== undefined ? cached(uids, e.uname, opts.lookupUid) : undefined) ?? e.uid,
    gid: (e.gname !== undefined ? cached(gids, e.gname, opts.lookupGid) : undefined) ?? e.gid,
  });
}

function sameFile(abs: string, data: Buffer, mode: number, uid?: number, gid?: number): boolean {
  const st = lstat(abs);
  if (!st?.isFile() || st.size !== data.length || (st.mode & 0o7777) !== mode) return false;
  if ((uid !== undefined && st.uid !== uid) || (gid !== undefined && st.gid !== gid)) return false;
  return fs.readFileSync(abs).equals(data);
}

function sameLink(abs: string, target: string, uid?: number, gid?: number): boolean {
  const st = lstat(abs);
  if (!st?.isSymbolicLink() || fs.readlinkSync(abs) !== target) return false;
  return (uid === undefined || st.uid === uid) && (gid === undefined || st.gid === gid);
}
