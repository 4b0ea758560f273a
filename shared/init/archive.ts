/**
 * Safe extraction of `sources` archives: tar (plain, gzip, bzip2, xz) and zip,
 * recognised by their content like aws-cfn-bootstrap (an archive served as
 * `application/octet-stream` from a URL without an extension is common).
 *
 * The archive is read from a file, twice, and never held in memory. The
 * first pass reads every entry's header (and, for tar, inflates the whole
 * stream to reach them) under limits on total size, entry count, path depth
 * and compression ratio; then the whole archive is checked before anything
 * is written, so a hostile entry fails the source without a single file
 * landing anywhere: absolute names, `..`, names the kernel would refuse,
 * symlinks that resolve outside the target directory (resolved as the
 * kernel does, through the archive's own links and those already on disk),
 * hard links to anything but an earlier file of the archive, entries
 * written through a symlink, device nodes and FIFOs. Extraction overwrites,
 * never deletes: an entry that would replace a directory (or turn a file
 * into a directory) is an error rather than an `rm -rf`.
 *
 * The second pass streams each file's content into its temp file of one
 * durable batch (shared/durable-write.ts), checking zip CRC-32s as it goes;
 * any failure abandons the batch, which removes its temps and the
 * directories it made. Each file is replaced by rename (a reader sees the
 * old or the new file, a crash leaves one or the other), and an identical
 * file is left alone, so re-running an unchanged source changes nothing and
 * reports no change. setuid and setgid bits of entries are dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import type * as Yauzl from 'yauzl';
import { FileWriteError, sameContent, type DurableWriter, type WriteBatch } from '../durable-write';
import { CfnError, errorMessage, LimitError } from '../errors';
import { diskView, resolveBeneath, type Node, type View } from './beneath';
import { DEFAULT_LIMITS, limitName, type Limits } from './limits';

// The decoders load with the first archive of the run: a run without sources never pays for them.
const tar = () => require('tar') as typeof import('tar');
const yauzl = () => require('yauzl') as typeof Yauzl;
const xz = () => require('xz-decompress') as typeof import('xz-decompress');
const zlib = () => require('node:zlib') as typeof import('node:zlib');
// No type declarations ship with it; the factory returns a through-stream.
const unbzip2 = () => (require('unbzip2-stream') as () => NodeJS.ReadWriteStream)();

export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'zip';
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

/** An entry's header: everything but its content. */
export interface ArchiveEntry {
  /** The name as stored. */
  name: string;
  type: EntryType | 'unsupported';
  /** The archive's own type name, for messages (`CharacterDevice`, `FIFO`...). */
  typeName: string;
  /** Permission bits as stored, setuid/setgid/sticky included. */
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: Date;
  /** Symlink target, or the archive name a hard link refers to. */
  linkpath?: string;
  /** Bytes of content (files). */
  size: number;
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

/** The kernel's NAME_MAX and PATH_MAX (less its NUL): longer names cannot be created at all. */
const NAME_MAX = 255;
const PATH_MAX = 4095;
/** The ratio limit applies once an archive has inflated past this: small archives of text inflate a lot, harmlessly. */
const RATIO_FLOOR = 64 * 1024 * 1024;

function limitError(key: keyof Limits, what: string): LimitError {
  const name = limitName(key);
  return new LimitError(name, `${what} (--limit ${name}=... raises it)`);
}

// ---------------------------------------------------------------- reading

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The format, from the first block (and the end, for self-extracting zips). */
export function detectFormat(file: string): ArchiveFormat {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(512, size));
    fs.readSync(fd, head, 0, head.length, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'tar.bz2';
    if (head.subarray(0, 6).equals(XZ_MAGIC)) return 'tar.xz';
    if (looksLikeTar(head, size)) return 'tar';
    if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) return 'zip';
    const tailLength = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLength);
    fs.readSync(fd, tail, 0, tailLength, size - tailLength);
    if (tail.includes(Buffer.from('PK\x05\x06', 'latin1'))) return 'zip';
    throw new ArchiveError(`not a tar or zip archive (${size} bytes starting ${JSON.stringify(head.subarray(0, 8).toString('latin1'))})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** A first header block with a valid checksum (any tar dialect), or an empty archive. */
function looksLikeTar(header: Buffer, size: number): boolean {
  if (header.length < 512) return false;
  if (header.every((b) => b === 0)) return size % 512 === 0;
  const stored = parseInt(header.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return stored === sum;
}

/** Receives an entry's content, synchronously, chunk by chunk (the parser waits while it runs). */
export interface DataSink {
  write(chunk: Buffer): void;
  end(): void;
}

/** Called for each entry in order; returns where its content goes, or undefined to skip it. */
export type EntryVisitor = (entry: ArchiveEntry, index: number) => DataSink | undefined;

/** Read every entry of the archive in `file`, under `limits`; the first error of the visitor or its sinks stops the read. */
export async function walkArchive(file: string, format: ArchiveFormat, limits: Limits, visit: EntryVisitor): Promise<void> {
  if (format === 'zip') return walkZip(file, limits, visit);
  const compressed = fs.statSync(file).size;
  const input = fs.createReadStream(file);
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> =
    format === 'tar.gz'
      ? [input, zlib().createGunzip()]
      : format === 'tar.bz2'
        ? [input, unbzip2()]
        : format === 'tar.xz'
          ? [Readable.fromWeb(new (xz().XzReadableStream)(Readable.toWeb(input) as ReadableStream<Uint8Array>)) as unknown as NodeJS.ReadableStream]
          : [input];
  let index = 0;
  let failure: unknown;
  const stop = (err: unknown) => {
    failure ??= err;
    input.destroy();
  };
  const parser = new (tar().Parser)({
    // strict: every warning (bad checksum, truncated archive...) is an error.
    strict: true,
    onReadEntry: (e: ReadEntry) => {
      if (failure !== undefined) return e.resume();
      let sink: DataSink | undefined;
      try {
        sink = visit(tarEntry(e), index++);
      } catch (err) {
        stop(err);
      }
      if (!sink) return e.resume();
      e.on('data', (c: Buffer) => {
        try {
          if (failure === undefined) sink.write(c);
        } catch (err) {
          stop(err);
        }
      });
      e.on('end', () => {
        try {
          if (failure === undefined) sink.end();
        } catch (err) {
          stop(err);
        }
      });
    },
  });
  // Entries node-tar skips (sparse files, oversized long names...) must not vanish silently.
  parser.on('ignoredEntry', (e: ReadEntry) => stop(new ArchiveError(`tar entry ${JSON.stringify(e.path)} of type ${e.type} cannot be extracted`)));
  const kind = format === 'tar' ? 'tar archive' : format === 'tar.gz' ? 'gzip data' : format === 'tar.bz2' ? 'bzip2 data' : 'xz data';
  try {
    await pipeline([...stages, inflationLimit(compressed, limits, format !== 'tar', kind), parser as unknown as NodeJS.WritableStream]);
  } catch (err) {
    if (failure !== undefined) throw failure;
    if (err instanceof CfnError) throw err;
    throw corrupt(kind, err);
  }
  if (failure !== undefined) throw failure;
}

function corrupt(kind: string, err: unknown): ArchiveError {
  const msg = errorMessage(err);
  if (kind === 'xz data') {
    const code = /error code (\d+)/.exec(msg)?.[1];
    return new ArchiveError(`corrupt xz data: ${(code && XZ_ERRORS[code]) ?? msg}`, { cause: err });
  }
  if (kind === 'bzip2 data') {
    // unbzip2-stream's messages for damaged blocks are jokes; keep only the informative ones.
    return new ArchiveError(`corrupt bzip2 data: ${/crc|premature|magic|not a bzip|header/i.test(msg) ? msg : 'the data is damaged'}`, { cause: err });
  }
  if (kind === 'gzip data') return new ArchiveError(`corrupt gzip data: ${msg}`, { cause: err });
  return new ArchiveError(`corrupt tar archive: ${msg}`, { cause: err });
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

/**
 * Counts the inflated tar stream: its total size, and its ratio to the
 * compressed size; and a compressed stream must hold a tar archive.
 */
function inflationLimit(compressed: number, limits: Limits, isCompressed: boolean, kind: string): Transform {
  let total = 0;
  let head: Buffer | undefined = isCompressed ? Buffer.alloc(0) : undefined;
  let notTar = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      total += chunk.length;
      if (total > limits.archiveSize) return done(limitError('archiveSize', `the archive inflates to more than ${limits.archiveSize} bytes`));
      if (isCompressed && total > RATIO_FLOOR && total > compressed * limits.archiveRatio) {
        return done(limitError('archiveRatio', `the archive inflates more than ${limits.archiveRatio} times its ${compressed} bytes`));
      }
      if (notTar) return done();
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 512) return done();
        // Not a verdict yet: damaged data inflates to garbage before the decoder notices. Only
        // a stream that decodes to its end without error is "not a tar archive"; the rest is drained.
        if (!looksLikeTar(head.subarray(0, 512), head.length % 512 === 0 ? head.length : 512)) {
          notTar = true;
          return done();
        }
        chunk = head;
        head = undefined;
      }
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (notTar || (head !== undefined && head.length > 0)) return done(new ArchiveError(`${kind} that is not a tar archive`));
      done();
    },
  });
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

function tarEntry(e: ReadEntry): ArchiveEntry {
  return {
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
    size: TAR_TYPES[e.type] === 'file' ? (e.size ?? 0) : 0,
  };
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
/** Zip "version made by" host systems whose external attributes carry a Unix mode. */
const UNIX_HOSTS = new Set([3 /* Unix */, 19 /* OS X */]);
/** A symlink's target is its content: never more than a path. */
const MAX_LINK_TARGET = PATH_MAX;

async function walkZip(file: string, limits: Limits, visit: EntryVisitor): Promise<void> {
  let zip: Yauzl.ZipFile;
  try {
    // decodeStrings off: names are checked by our own rules, not rejected by yauzl's with its wording.
    zip = await yauzl().openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, strictFileNames: false, autoClose: true });
  } catch (err) {
    throw new ArchiveError(`corrupt zip archive: ${errorMessage(err)}`, { cause: err });
  }
  try {
    if (zip.entryCount > limits.archiveEntries) throw limitError('archiveEntries', `the archive has ${zip.entryCount} entries, more than ${limits.archiveEntries}`);
    const compressed = fs.statSync(file).size;
    let index = 0;
    let declared = 0;
    for await (const e of zip.eachEntry()) {
      // The central directory's sizes are checked against the data as it inflates (validateEntrySizes).
      declared += e.uncompressedSize;
      if (declared > limits.archiveSize) throw limitError('archiveSize', `the archive inflates to more than ${limits.archiveSize} bytes`);
      if (declared > RATIO_FLOOR && declared > compressed * limits.archiveRatio) throw limitError('archiveRatio', `the archive inflates more than ${limits.archiveRatio} times its ${compressed} bytes`);
      const name = yauzl().getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, false);
      if (e.isEncrypted()) throw new ArchiveError(`zip entry ${JSON.stringify(name)} is encrypted`);
      if (!e.canDecodeFileData()) throw new ArchiveError(`zip entry ${JSON.stringify(name)} uses unsupported compression method ${e.compressionMethod}`);
      const unix = UNIX_HOSTS.has(e.versionMadeBy >> 8) ? e.externalFileAttributes >>> 16 : 0;
      const fmt = unix & S_IFMT;
      const dosDir = (e.externalFileAttributes & 0x10) !== 0;
      const isDir = name.endsWith('/') || fmt === S_IFDIR || (fmt === 0 && dosDir);
      const type: ArchiveEntry['type'] = isDir ? 'directory' : fmt === S_IFLNK ? 'symlink' : fmt === 0 || fmt === S_IFREG ? 'file' : 'unsupported';
      if (type === 'symlink' && e.uncompressedSize > MAX_LINK_TARGET) throw new ArchiveError(`zip symlink ${JSON.stringify(name)} has a target of ${e.uncompressedSize} bytes`);
      const linkpath = type === 'symlink' ? (await readEntry(zip, e, name)).toString('utf8') : undefined;
      // Archives from Windows carry no Unix mode; aws-cfn-bootstrap then chmods to 0000.
      const perms = unix & 0o7777;
      const entry: ArchiveEntry = {
        name,
        type,
        typeName: type === 'unsupported' ? `mode ${fmt.toString(8)}` : type,
        mode: perms || (isDir ? 0o755 : 0o644),
        mtime: e.getLastModDate(),
        linkpath,
        size: type === 'file' ? e.uncompressedSize : 0,
      };
      const sink = visit(entry, index++);
      if (sink && type === 'file') await streamEntry(zip, e, name, sink);
    }
  } catch (err) {
    zip.close();
    // Ours (limits, refusals, writes) as they are; anything else is yauzl or zlib reading a damaged archive.
    if (err instanceof CfnError) throw err;
    throw new ArchiveError(`corrupt zip archive: ${errorMessage(err)}`, { cause: err });
  }
}

/** An entry's content through `sink`, its CRC-32 checked (yauzl does not check it). */
async function streamEntry(zip: Yauzl.ZipFile, e: Yauzl.Entry, name: string, sink: DataSink): Promise<void> {
  const stream = await zip.openReadStreamPromise(e);
  let crc = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      crc = zlib().crc32(c, crc);
      try {
        sink.write(c);
      } catch (err) {
        stream.destroy();
        reject(err);
      }
    });
    stream.on('error', reject);
    stream.on('end', () => {
      if (crc >>> 0 !== e.crc32 >>> 0) return reject(new ArchiveError(`zip entry ${JSON.stringify(name)} is corrupt: its CRC-32 is ${(crc >>> 0).toString(16)}, the archive says ${(e.crc32 >>> 0).toString(16)}`));
      try {
        sink.end();
        resolve();
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** A small entry (a symlink's target) whole, CRC checked. */
async function readEntry(zip: Yauzl.ZipFile, e: Yauzl.Entry, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await streamEntry(zip, e, name, { write: (c) => void chunks.push(c), end: () => undefined });
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------- checking

export interface PlannedEntry {
  /** Path relative to the target, `/`-separated, normalised (no `.`, no `..`, never empty). */
  rel: string;
  entry: ArchiveEntry;
  /** Index of the entry in the archive. */
  index: number;
  /** Hard links: `rel` of the file linked to. */
  linkRel?: string;
}

/** `./a//b/` → `a/b`; absolute names, `..`, NUL bytes and names the kernel would refuse are refused. */
export function normalizeName(name: string, what = 'entry'): string {
  const q = JSON.stringify(name);
  if (name.includes('\0')) throw new UnsafeArchiveError(`${what} ${q} has a NUL byte in its name`, name);
  if (name.startsWith('/')) throw new UnsafeArchiveError(`${what} ${q} has an absolute path`, name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`${what} ${q} has ".." in its path`, name);
  const long = parts.find((p) => Buffer.byteLength(p) > NAME_MAX);
  if (long !== undefined) throw new ArchiveError(`${what} ${q} has a name of ${Buffer.byteLength(long)} bytes; Linux allows ${NAME_MAX}`);
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
 * Normalise and check every entry against the archive itself and, through
 * `disk` (the target as it is now), against what it will land on; throws
 * UnsafeArchiveError / ArchiveError on the first bad one. Symlinks are
 * resolved with the archive's last word for each path laid over the disk.
 */
export function planEntries(entries: readonly ArchiveEntry[], opts: { stripTopDirectory?: boolean; maxDepth?: number; disk?: View } = {}): PlannedEntry[] {
  let planned = entries
    .map((entry, index) => ({ rel: normalizeName(entry.name), entry, index }))
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
  const maxDepth = opts.maxDepth ?? DEFAULT_LIMITS.archiveDepth;

  // Last word per path: a later entry replaces an earlier one, as tar does.
  const final = new Map<string, Node>();
  for (const p of planned) {
    const t = p.entry.type;
    final.set(p.rel, t === 'symlink' ? { kind: 'symlink', target: p.entry.linkpath ?? '' } : t === 'directory' ? { kind: 'dir' } : { kind: 'file' });
    for (let i = p.rel.indexOf('/'); i > 0; i = p.rel.indexOf('/', i + 1)) if (!final.has(p.rel.slice(0, i))) final.set(p.rel.slice(0, i), { kind: 'dir' });
  }
  const disk = opts.disk ?? (() => ({ kind: 'missing' }) as Node);
  const view: View = (parts) => final.get(parts.join('/')) ?? disk(parts);

  const kinds = new Map<string, EntryType>();
  const out: PlannedEntry[] = [];
  for (const p of planned) {
    const { entry, rel } = p;
    const q = JSON.stringify(entry.name);
    if (entry.type === 'unsupported') throw new UnsafeArchiveError(`entry ${q} is a ${entry.typeName}; only files, directories and links are extracted`, entry.name);
    const parts = rel.split('/');
    if (parts.length > maxDepth) throw limitError('archiveDepth', `entry ${q} is ${parts.length} directories deep, more than ${maxDepth}`);
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
    const plan: PlannedEntry = { rel, entry, index: p.index };
    if (entry.type === 'symlink') {
      const target = entry.linkpath ?? '';
      if (!target) throw new ArchiveError(`symlink ${q} has no target`);
      if (target.includes('\0')) throw new UnsafeArchiveError(`symlink ${q} has a NUL byte in its target`, entry.name);
      const r = resolveBeneath(parts.slice(0, -1), target, view);
      if (!r.inside) throw new UnsafeArchiveError(`symlink ${q} -> ${JSON.stringify(target)} points outside the target directory: ${r.why}`, entry.name);
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

/**
 * Check the planned entries against what already exists under `root`: the
 * path to each entry is resolved as the kernel will resolve it when it is
 * written (an existing symlink on the way is followed, and must lead to a
 * directory inside the target), and nothing may require deleting a
 * directory or a file in the way of a directory. Returns each entry's real
 * path components.
 */
function checkAgainstDisk(plan: readonly PlannedEntry[], root: string): Map<PlannedEntry, string[]> {
  const disk = diskView(root);
  const where = new Map<PlannedEntry, string[]>();
  for (const p of plan) {
    const { rel, entry } = p;
    const q = JSON.stringify(entry.name);
    const parts = rel.split('/');
    const parent = resolveBeneath([], parts.slice(0, -1).join('/'), disk);
    // rel has no `..`: only a symlink already on disk can take the path out.
    if (!parent.inside) throw new UnsafeArchiveError(`entry ${q} would be written through an existing symlink that leads outside the target directory (${parent.why})`, entry.name);
    if (parent.node.kind !== 'dir' && parent.node.kind !== 'missing') throw new ArchiveError(`entry ${q}: ${path.join(root, ...parent.parts)} exists and is not a directory; it is not deleted`);
    const real = [...parent.parts, parts[parts.length - 1]];
    const st = lstat(path.join(root, ...real));
    if (st && entry.type !== 'directory' && st.isDirectory()) throw new ArchiveError(`entry ${q}: ${path.join(root, ...real)} is a directory; it is not deleted to make room for a ${entry.type}`);
    if (st && entry.type === 'directory' && !st.isDirectory()) {
      const r = st.isSymbolicLink() ? resolveBeneath(parent.parts, parts[parts.length - 1], disk) : undefined;
      if (!r) throw new ArchiveError(`entry ${q}: ${path.join(root, ...real)} exists and is not a directory; it is not deleted`);
      if (!r.inside) throw new UnsafeArchiveError(`entry ${q} would be written through the existing symlink ${path.join(root, ...real)}, which leads outside: ${r.why}`, entry.name);
      if (r.node.kind !== 'dir') throw new ArchiveError(`entry ${q}: ${path.join(root, ...real)} leads to ${path.join(root, ...r.parts)}, which is not a directory`);
      where.set(p, r.parts);
      continue;
    }
    where.set(p, real);
  }
  return where;
}

// ---------------------------------------------------------------- writing

export interface ExtractOptions {
  writer: DurableWriter;
  limits?: Limits;
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

/** setuid and setgid come off: a downloaded archive must not plant a root-owned setuid program. */
const entryMode = (e: ArchiveEntry) => e.mode & 0o1777;

/** Check everything, then extract the archive in `file` into `target` (created when missing). */
export async function extractArchive(file: string, target: string, opts: ExtractOptions): Promise<ExtractResult> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const format = detectFormat(file);
  const headers: ArchiveEntry[] = [];
  await walkArchive(file, format, limits, (entry) => {
    if (headers.length >= limits.archiveEntries) throw limitError('archiveEntries', `the archive has more than ${limits.archiveEntries} entries`);
    if (Buffer.byteLength(path.join(target, entry.name)) > PATH_MAX) throw new ArchiveError(`entry ${JSON.stringify(entry.name.slice(0, 80))}...: its path in ${target} is longer than Linux allows (${PATH_MAX} bytes)`);
    headers.push(entry);
    return undefined;
  });

  const st = fs.existsSync(target) ? fs.statSync(target) : undefined;
  if (st && !st.isDirectory()) throw new ArchiveError(`${target} exists and is not a directory`);
  const realTarget = st ? fs.realpathSync.native(target) : undefined;
  const plan = planEntries(headers, { stripTopDirectory: opts.stripTopDirectory, maxDepth: limits.archiveDepth, disk: realTarget ? diskView(realTarget) : undefined });
  const where = realTarget ? checkAgainstDisk(plan, realTarget) : new Map(plan.map((p) => [p, p.rel.split('/')]));
  if (realTarget) checkSpace(realTarget, plan);

  const batch = opts.writer.batch({ dirs: [target], recursive: true });
  try {
    return await write(file, format, target, { plan, where, count: headers.length }, batch, opts, limits);
  } catch (err) {
    batch.abandon();
    throw err;
  }
}

/** Refuse early what cannot fit: the files' bytes against the space free for root. */
function checkSpace(root: string, plan: readonly PlannedEntry[]): void {
  const need = plan.reduce((n, p) => n + p.entry.size, 0);
  const fsStat = fs.statfsSync(root);
  const free = fsStat.bavail * fsStat.bsize;
  if (need > free) throw new ArchiveError(`the archive's files need ${need} bytes and ${root} has ${free} free`);
}

/** The second pass: each planned entry into the batch, its header checked against the first pass's. */
async function write(
  file: string,
  format: ArchiveFormat,
  target: string,
  checked: { plan: readonly PlannedEntry[]; where: ReadonlyMap<PlannedEntry, string[]>; count: number },
  batch: WriteBatch,
  opts: ExtractOptions,
  limits: Limits,
): Promise<ExtractResult> {
  const { plan, where } = checked;
  batch.makeDirs(target);
  const root = fs.realpathSync.native(target);
  const owners = ownerResolver(opts);
  const byIndex = new Map(plan.map((p) => [p.index, p]));
  let written = 0;
  const dirs: { abs: string; entry: ArchiveEntry; created: boolean }[] = [];
  /** Files of this archive that are replaced: a hard link to one must follow it to the new inode. */
  const staged = new Set<string>();
  /** Where each file (or hard link) of the archive lands, by its name in the archive: what a later hard link refers to. */
  const fileAt = new Map<string, string>();
  let seen = 0;
  await walkArchive(file, format, limits, (entry, index) => {
    seen++;
    const p = byIndex.get(index);
    if (!p) return undefined;
    if (!sameHeader(p.entry, entry)) throw new ArchiveError(`the archive changed while it was being extracted (entry ${index + 1}, ${JSON.stringify(entry.name)})`);
    const abs = path.join(root, ...where.get(p)!);
    const { uid, gid } = owners(entry);
    const mode = entryMode(entry);
    try {
      batch.makeDirs(path.dirname(abs));
      if (entry.type === 'directory') {
        // Owner-only until the end: the archive's mode may forbid writing into it.
        dirs.push({ abs, entry, created: batch.makeDirs(abs, 0o700).length > 0 });
      } else if (entry.type === 'file') {
        fileAt.set(p.rel, abs);
        return fileSink(batch, abs, { mode, uid, gid, mtime: entry.mtime }, entry.size, (changed) => {
          if (changed) {
            staged.add(abs);
            written++;
          }
        });
      } else if (entry.type === 'symlink') {
        if (!sameLink(abs, entry.linkpath!, uid, gid)) {
          batch.addSymlink(abs, entry.linkpath!, { uid, gid });
          written++;
        }
      } else if (entry.type === 'hardlink') {
        const to = fileAt.get(p.linkRel!)!;
        fileAt.set(p.rel, abs);
        const here = lstat(abs);
        const there = staged.has(to) ? undefined : lstat(to);
        if (!here || !there || here.ino !== there.ino || here.dev !== there.dev) {
          batch.addHardLink(abs, to);
          staged.add(abs);
          written++;
        }
      }
    } catch (err) {
      if (err instanceof CfnError) throw err;
      throw new ArchiveError(`cannot extract ${JSON.stringify(entry.name)} to ${abs}: ${errorMessage(err)}`, { cause: err });
    }
    return undefined;
  });
  if (seen !== checked.count) throw new ArchiveError(`the archive changed while it was being extracted (${seen} entries, ${checked.count} before)`);
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
    if ((fs.statSync(abs).mode & 0o7777) !== entryMode(entry)) {
      fs.chmodSync(abs, entryMode(entry));
      touched = true;
    }
    if (touched) written++;
  }
  return { format, entries: plan.length, written, changed: written > 0 };
}

function sameHeader(a: ArchiveEntry, b: ArchiveEntry): boolean {
  return a.name === b.name && a.type === b.type && a.size === b.size && a.linkpath === b.linkpath && a.mode === b.mode;
}

/**
 * Streams a file entry into a reserved temp; at its end, a temp identical to
 * the file already there (content, mode, owner) is dropped. `done` says
 * whether the file changes.
 */
function fileSink(batch: WriteBatch, abs: string, opts: { mode: number; uid?: number; gid?: number; mtime?: Date }, size: number, done: (changed: boolean) => void): DataSink {
  const tmp = batch.reserve(abs, opts);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
  let received = 0;
  return {
    write(chunk) {
      received += chunk.length;
      if (received > size) throw new ArchiveError(`entry for ${abs} holds more than the ${size} bytes its header says`);
      try {
        fs.writeSync(fd, chunk);
      } catch (err) {
        fs.closeSync(fd);
        throw new FileWriteError(abs, err);
      }
    },
    end() {
      fs.closeSync(fd);
      if (received !== size) throw new ArchiveError(`entry for ${abs} holds ${received} bytes, its header says ${size}`);
      const old = lstat(abs);
      const unchanged = old?.isFile() && old.size === size && (old.mode & 0o7777) === opts.mode && (opts.uid === undefined || old.uid === opts.uid) && (opts.gid === undefined || old.gid === opts.gid) && sameContent(abs, tmp);
      if (unchanged) batch.drop(abs);
      done(!unchanged);
    },
  };
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

function sameLink(abs: string, target: string, uid?: number, gid?: number): boolean {
  const st = lstat(abs);
  if (!st?.isSymbolicLink() || fs.readlinkSync(abs) !== target) return false;
  return (uid === undefined || st.uid === uid) && (gid === undefined || st.gid === gid);
}
