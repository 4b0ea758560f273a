/**
 * The `files` key: write files (inline content, JSON content or a download)
 * and symlinks, with mode and owner.
 *
 * Choices where the peers differ (docs/COMPATIBILITY.md):
 * - All files of the key are one durable batch (shared/durable-write.ts):
 *   every download, owner and parent directory is settled first, then the
 *   files are written, synced together and renamed into place; no `.bak`
 *   copies. An identical file is neither rewritten nor reported as changed;
 *   one whose mode or owner differ is replaced like a changed one (a new
 *   inode: a hard link to it elsewhere keeps its own mode and owner).
 * - JSON content (object, list, number, boolean) is written as Python's
 *   `json.dump` writes it, like aws-cfn-bootstrap (heat-cfntools crashes).
 * - `content: ""` writes an empty file.
 * - `mode` is a string of octal digits; a JSON number is refused as ambiguous.
 *   `120xxx` makes a symlink whose target is `content`; the link is never
 *   chmodded, so the target keeps its mode (aws-cfn-bootstrap chmods the target).
 * - Without `owner`/`group`, a replaced file keeps its owner and mode.
 * - Unknown keys, `authentication` without a source and `context` on JSON
 *   content are ignored with a warning, as aws-cfn-bootstrap ignores them
 *   (errors under --strict).
 * - Inline content is rendered with its `context` during validation, so a bad
 *   template is reported before anything runs.
 * - An owner or group that a package or an earlier command creates is looked
 *   up just before the files are written (principals.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileWriteError, sameContent, type FileOptions, type WriteBatch } from '../../durable-write';
import { limitName } from '../limits';
import { CfnError, errorMessage } from '../../errors';
import { pythonJsonDumps } from '../../pyjson';
import { redactUrl } from '../../redact';
import { renderTemplate, TemplateError, TemplateTooLargeError } from '../mustache';
import { checkPrincipal, lookupNote, UnknownPrincipalError, type PrincipalKind, type PrincipalRef } from '../principals';
import type { System } from '../../system';
import {
  checkKeys,
  child,
  describe,
  expectObject,
  expectString,
  IGNORED,
  isObject,
  type JsonObject,
  isWindowsPath,
  type Problems,
  tooLongForLinux,
  WINDOWS_UNSUPPORTED,
} from '../validation';
import type { Action, ActionResult, HandlerContext, InitHandler, ValidationContext } from './types';

export interface FileSpec {
  path: string;
  /** `config.files./etc/x`, for errors while applying. */
  keyPath: string;
  kind: 'file' | 'symlink';
  /** Bytes to write (inline content, already decoded/rendered/serialised); the link target for symlinks. */
  content?: Buffer;
  /** URL to download instead. */
  source?: string;
  /** Mustache context applied to the downloaded source. */
  context?: JsonObject;
  authentication?: string;
  /** Permission bits (setuid/setgid/sticky included); undefined keeps the old mode, 0644 for a new file. */
  mode?: number;
  owner?: PrincipalRef;
  group?: PrincipalRef;
}

export type FilesSpec = FileSpec[];

/** A file could not be written (download, owner, file system). */
export class FileError extends CfnError {}

const FILE_KEYS = ['content', 'source', 'encoding', 'mode', 'owner', 'group', 'authentication', 'context'] as const;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export const filesHandler: InitHandler<FilesSpec> = {
  key: 'files',

  validate(raw: unknown, keyPath: string, ctx: ValidationContext): FilesSpec | undefined {
    const p = ctx.problems;
    const obj = expectObject(raw, keyPath, p);
    if (!obj) return undefined;
    const before = p.list.length;
    const specs: FileSpec[] = [];
    // aws-cfn-bootstrap writes in sorted order; heat-cfntools in JSON order.
    for (const file of Object.keys(obj).sort()) {
      const spec = validateFile(file, obj[file], child(keyPath, file), ctx);
      if (spec) specs.push(spec);
    }
    return p.list.length > before ? undefined : specs;
  },

  /** One action for the whole key: its files are written as one batch. */
  async plan(spec: FilesSpec): Promise<Action[]> {
    if (spec.length === 0) return [];
    return [
      {
        summary: spec.length === 1 ? summary(spec[0]) : `write ${spec.length} files`,
        // A line per file, for the dry run's plan only: made when it is printed.
        get details() {
          return spec.length === 1 ? undefined : spec.map(summary);
        },
        changes: spec.map((f) => ({ key: 'files', name: f.path })),
        apply: (ctx: HandlerContext) => applyFiles(spec, ctx),
      },
    ];
  },
};

// ---------------------------------------------------------------- validation

function validateFile(file: string, raw: unknown, kp: string, ctx: ValidationContext): FileSpec | undefined {
  const p = ctx.problems;
  const before = p.list.length;
  if (isWindowsPath(file)) p.add(kp, `a Windows path: ${WINDOWS_UNSUPPORTED}`);
  else if (!file.startsWith('/')) p.add(kp, 'file names must be absolute paths');
  else if (file.endsWith('/') || file.includes('\0')) p.add(kp, 'not a file name');
  else if (tooLongForLinux(file)) p.add(kp, `cannot be created: ${tooLongForLinux(file)}`);
  const obj = expectObject(raw, kp, p);
  if (!obj) return undefined;
  checkKeys(obj, FILE_KEYS, kp, p, IGNORED);

  const spec: FileSpec = { path: file, keyPath: kp, kind: 'file' };
  if (obj.mode !== undefined) {
    const mode = parseMode(obj.mode, child(kp, 'mode'), p);
    if (mode) {
      spec.kind = mode.kind;
      if (mode.kind === 'file') spec.mode = mode.perms;
    }
  }
  let encoding = 'plain';
  if (obj.encoding !== undefined) {
    const e = expectString(obj.encoding, child(kp, 'encoding'), p);
    if (e !== undefined && !['plain', 'base64'].includes(e.toLowerCase())) p.add(child(kp, 'encoding'), `expected plain or base64, got ${JSON.stringify(e)}`);
    else if (e !== undefined) encoding = e.toLowerCase();
  }
  let context: JsonObject | undefined;
  if (obj.context !== undefined && obj.context !== null) {
    if (isObject(obj.context)) context = obj.context;
    else p.add(child(kp, 'context'), `expected an object (the Mustache context), got ${describe(obj.context)}`);
  }
  for (const k of ['owner', 'group'] as const) {
    if (obj[k] === undefined) continue;
    const name = expectString(obj[k], child(kp, k), p, { allowNumber: true });
    if (name === undefined) continue;
    if (name === '') {
      p.add(child(kp, k), 'must not be empty');
      continue;
    }
    const kind: PrincipalKind = k === 'owner' ? 'user' : 'group';
    const ref = checkPrincipal(kind, name, child(kp, k), ctx, `no such ${kind} ${JSON.stringify(name)} on this machine`);
    if (ref) spec[k] = ref;
  }

  const hasContent = obj.content !== undefined;
  const hasSource = obj.source !== undefined;
  if (hasContent && hasSource) p.add(kp, 'give either content or source, not both');
  else if (!hasContent && !hasSource) {
    p.add(kp, spec.kind === 'symlink' ? 'a symlink (mode 120xxx) needs content: the link target' : 'needs content or source');
  }

  if (obj.authentication !== undefined && !hasSource) {
    // aws-cfn-bootstrap writes the content and never looks at it.
    p.tolerate(child(kp, 'authentication'), 'only applies to source downloads', IGNORED);
  } else if (obj.authentication !== undefined) {
    const a = expectString(obj.authentication, child(kp, 'authentication'), p);
    if (a !== undefined && !ctx.authenticationNames.has(a)) {
      p.add(child(kp, 'authentication'), `no AWS::CloudFormation::Authentication block named ${JSON.stringify(a)}`);
    } else spec.authentication = a;
  }

  if (spec.kind === 'symlink') {
    if (hasSource) p.add(child(kp, 'source'), 'a symlink takes its target from content, not source');
    if (encoding !== 'plain') p.add(child(kp, 'encoding'), 'a symlink target cannot be base64');
    if (context) p.add(child(kp, 'context'), 'a symlink target is not a template');
    if (hasContent) {
      const target = expectString(obj.content, child(kp, 'content'), p);
      if (target === '') p.add(child(kp, 'content'), 'a symlink target must not be empty');
      else if (target !== undefined) spec.content = Buffer.from(target);
    }
  } else if (hasContent) {
    spec.content = contentBytes(obj.content, encoding, context, child(kp, 'content'), p, ctx.limits.templateSize);
  } else if (hasSource) {
    const src = expectString(obj.source, child(kp, 'source'), p);
    if (src !== undefined && !/^https?:\/\/[^/]/i.test(src)) p.add(child(kp, 'source'), `expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(src))}`);
    else if (src !== undefined) spec.source = src;
    if (encoding !== 'plain') p.add(child(kp, 'encoding'), 'base64 applies to inline content; a source is written as downloaded');
    if (context) spec.context = context;
  }
  return p.list.length > before ? undefined : spec;
}

/** `"000644"` → file 0644; `"120000"` → symlink; numbers are refused (`644` or `420`?). */
export function parseMode(raw: unknown, kp: string, p: Problems): { kind: 'file' | 'symlink'; perms: number } | undefined {
  if (typeof raw === 'number') {
    p.add(kp, `expected a string of octal digits like "000644", got the number ${raw}; quote it (a number is ambiguous: octal or decimal?)`);
    return undefined;
  }
  const s = expectString(raw, kp, p);
  if (s === undefined) return undefined;
  if (!/^[0-7]{1,6}$/.test(s)) {
    p.add(kp, `expected up to 6 octal digits like "000644", got ${JSON.stringify(s)}`);
    return undefined;
  }
  const n = parseInt(s, 8);
  const type = n & S_IFMT;
  if (type === S_IFLNK) return { kind: 'symlink', perms: n & 0o7777 };
  if (type === 0 || type === S_IFREG) return { kind: 'file', perms: n & 0o7777 };
  p.add(kp, `${JSON.stringify(s)} has file type bits ${type.toString(8)}: only regular files (000xxx or 100xxx) and symlinks (120xxx) can be written`);
  return undefined;
}

function contentBytes(raw: unknown, encoding: string, context: JsonObject | undefined, kp: string, p: Problems, maxOutput: number): Buffer | undefined {
  if (raw === null) {
    p.add(kp, 'expected a string or a JSON object/list, got null');
    return undefined;
  }
  if (typeof raw !== 'string') {
    if (encoding !== 'plain') p.add(kp, 'base64 applies to string content, not JSON');
    if (context) p.tolerate(kp, 'context is not applied to JSON content (give the content as a string to use a template)', 'context ignored');
    return Buffer.from(pythonJsonDumps(raw));
  }
  if (encoding === 'base64') {
    if (context) p.add(kp, 'context cannot be applied to base64 content');
    const bytes = decodeBase64(raw);
    if (typeof bytes === 'string') p.add(kp, bytes);
    return typeof bytes === 'string' ? undefined : bytes;
  }
  if (!context) return Buffer.from(raw);
  try {
    return Buffer.from(renderTemplate(raw, context, 'content', maxOutput));
  } catch (err) {
    if (!(err instanceof TemplateError) && !(err instanceof TemplateTooLargeError)) throw err;
    p.add(kp, err.message);
    return undefined;
  }
}

/** Strict base64 (whitespace allowed, as in wrapped lines); a message when malformed. */
export function decodeBase64(text: string): Buffer | string {
  const t = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return 'malformed base64: characters outside A-Z a-z 0-9 + / =';
  if (t.length % 4 !== 0) return 'malformed base64: length is not a multiple of 4 (missing padding?)';
  return Buffer.from(t, 'base64');
}

// ---------------------------------------------------------------- planning

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

function summary(f: FileSpec): string {
  const who = [f.owner && `owner ${f.owner.name}`, f.group && `group ${f.group.name}`].filter(Boolean) as string[];
  const later = [f.owner && lookupNote('owner', f.owner, WHEN_WRITTEN), f.group && lookupNote('group', f.group, WHEN_WRITTEN)].filter(Boolean);
  const note = later.length ? `; ${later.join('; ')}` : '';
  if (f.kind === 'symlink') return `symlink ${f.path} -> ${f.content!.toString()}${who.length ? ` (${who.join(', ')})` : ''}${note}`;
  const what = f.source !== undefined ? `from ${redactUrl(f.source)}` : `${f.content!.length} bytes`;
  const details = [what, f.mode !== undefined && `mode ${octal(f.mode)}`, ...who].filter(Boolean);
  return `write ${f.path} (${details.join(', ')})${note}`;
}

const WHEN_WRITTEN = 'when the file is written';

// ---------------------------------------------------------------- applying

interface Prepared {
  f: FileSpec;
  where: string;
  /** path.dirname of the file. */
  dir: string;
  uid?: number;
  gid?: number;
  /** What is at the path now (lstat), looked at once, before anything is written. */
  st?: fs.Stats;
}

/**
 * Settle everything that can fail before anything is written (owners,
 * parent directories, targets that are directories, downloads, templates),
 * then write what differs from the machine as one batch. Downloads stream
 * into their temp files; a failure abandons the batch, which takes its
 * temps and the directories it made with it.
 */
async function applyFiles(spec: FilesSpec, ctx: HandlerContext): Promise<ActionResult> {
  // Owners first (no download is wasted on a file that cannot be written), each name looked up once.
  const ids = idResolver(ctx.system);
  const prepared: Prepared[] = spec.map((f) => {
    const where = child(ctx.keyPath, f.path);
    return { f, where, dir: path.dirname(f.path), uid: ids('user', f.owner, where, 'owner'), gid: ids('group', f.group, where, 'group') };
  });
  const parents = [...new Set(prepared.map((p) => p.dir))];
  /** Whether each parent exists (else it is made at commit). */
  const existing = new Map<string, boolean>();
  for (const dir of parents) {
    try {
      existing.set(dir, checkParent(dir));
    } catch (err) {
      const first = prepared.find((p) => p.dir === dir)!;
      throw new FileError(`${first.where}: ${errorMessage(err)}`, { cause: err });
    }
  }
  for (const p of prepared) {
    // Nothing can be there yet below a directory still to be made.
    if (!existing.get(p.dir)) continue;
    try {
      p.st = lstat(p.f.path);
      if (p.st?.isDirectory()) throw new FileError(`${p.f.path} is a directory${p.f.kind === 'symlink' ? '; it is not replaced with a symlink' : ''}`);
    } catch (err) {
      throw new FileError(`${p.where}: ${errorMessage(err)}`, { cause: err });
    }
  }

  const batch = ctx.writer.batch({ dirs: parents, recursive: false });
  const changed: Prepared[] = [];
  try {
    for (const p of prepared) {
      try {
        if (p.f.kind === 'symlink') {
          if (stageSymlink(batch, p)) changed.push(p);
          continue;
        }
        batch.makeDirs(p.dir);
        // Inline content without an await: a thousand files are not a thousand trips through the event loop.
        if (p.f.source === undefined ? stageContent(batch, p, p.f.content!) : await stageDownload(batch, p, ctx)) changed.push(p);
        else ctx.logger.debug(`${p.where}: up to date`);
      } catch (err) {
        if (err instanceof UnknownPrincipalError) throw err;
        throw new FileError(`${p.where}: ${errorMessage(err)}`, { cause: err });
      }
    }
  } catch (err) {
    batch.abandon();
    throw err;
  }
  try {
    await batch.commit();
  } catch (err) {
    const at = err instanceof FileWriteError ? prepared.find((p) => p.f.path === err.file)?.where : undefined;
    throw new FileError(at ? `${at}: ${errorMessage(err)}` : `${ctx.keyPath}: ${errorMessage(err)}`, { cause: err });
  }
  ctx.logger.infoLines(changed.map((p) => `${p.where}: written`));
  return { changed: changed.length > 0, changes: changed.map((p) => ({ key: 'files', name: p.f.path })) };
}

function utf8(data: Buffer, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new FileError(`${redactUrl(source)} is not UTF-8 text, so its context cannot be applied`);
  }
}

/**
 * Ids of validated names, looked up now (a name an earlier step was to
 * create exists by this time, or it is an error), each name once: a key may
 * give a hundred files to root, and every lookup runs getent.
 */
function idResolver(system: System): (kind: PrincipalKind, ref: PrincipalRef | undefined, where: string, field: 'owner' | 'group') => number | undefined {
  const seen = new Map<string, number | undefined>();
  return (kind, ref, where, field) => {
    if (ref === undefined) return undefined;
    if (/^\d+$/.test(ref.name)) return Number(ref.name);
    const key = `${kind}:${ref.name}`;
    if (!seen.has(key)) seen.set(key, kind === 'user' ? system.user(ref.name)?.uid : system.group(ref.name)?.gid);
    const id = seen.get(key);
    if (id === undefined) throw new UnknownPrincipalError(child(where, field), kind, ref);
    return id;
  };
}

/** The nearest existing ancestor must be a directory (it is created otherwise, at commit); whether `dir` itself exists. */
function checkParent(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d, { throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    }
    if (st === undefined) {
      if (d === path.dirname(d)) return false;
      continue;
    }
    if (!st.isDirectory()) throw new FileError(`cannot create the directory ${dir}: ${d} is not a directory`);
    return d === dir;
  }
}

/** undefined when nothing is there; without an exception, which costs more than the lstat itself. */
const lstat = (file: string): fs.Stats | undefined => fs.lstatSync(file, { throwIfNoEntry: false });

/** Mode and owner of the new file (without owner/mode, the old file's are kept), and whether the old file has them already. */
function metadataOf(p: Prepared): { opts: FileOptions; old?: fs.Stats; sameMeta: boolean } {
  const old = p.st?.isFile() ? p.st : undefined;
  const opts = { mode: p.f.mode ?? (old ? old.mode & 0o7777 : 0o644), uid: p.uid ?? old?.uid, gid: p.gid ?? old?.gid };
  const sameMeta = old !== undefined && (old.mode & 0o7777) === opts.mode && old.uid === (opts.uid ?? old.uid) && old.gid === (opts.gid ?? old.gid);
  return { opts, old, sameMeta };
}

/** Stage `data` unless the file already holds it with that mode and owner. */
function stageContent(batch: WriteBatch, p: Prepared, data: Buffer): boolean {
  const { opts, old, sameMeta } = metadataOf(p);
  if (sameMeta && old!.size === data.length && fs.readFileSync(p.f.path).equals(data)) return false;
  batch.addFile(p.f.path, data, opts);
  return true;
}

/**
 * Stage a download unless the file already holds it with that mode and
 * owner. It goes straight into its temp (never into memory), and is dropped
 * when identical; a template is downloaded and rendered in memory, bounded.
 */
async function stageDownload(batch: WriteBatch, p: Prepared, ctx: HandlerContext): Promise<boolean> {
  const { f } = p;
  if (f.context) return stageContent(batch, p, await rendered(f, ctx));
  const { opts, old, sameMeta } = metadataOf(p);
  const tmp = batch.reserve(f.path, opts);
  await ctx.downloader.fetchToFile(f.source!, tmp, { authentication: f.authentication, maxBytes: ctx.limits.fileSize, limitName: limitName('fileSize') });
  if (sameMeta && fs.statSync(tmp).size === old!.size && sameContent(f.path, tmp)) {
    batch.drop(f.path);
    return false;
  }
  return true;
}

/** A downloaded template with its context applied, both bounded. */
async function rendered(f: FileSpec, ctx: HandlerContext): Promise<Buffer> {
  const data = await ctx.downloader.fetch(f.source!, { authentication: f.authentication, maxBytes: ctx.limits.templateSize, limitName: limitName('templateSize') });
  return Buffer.from(renderTemplate(utf8(data, f.source!), f.context!, redactUrl(f.source!), ctx.limits.templateSize));
}

/** Stage a symlink unless it already points there with that owner; its mode is never set (Linux ignores it). */
function stageSymlink(batch: WriteBatch, p: Prepared): boolean {
  const { f, st } = p;
  const target = f.content!.toString();
  if (st?.isSymbolicLink() && fs.readlinkSync(f.path) === target && (p.uid === undefined || st.uid === p.uid) && (p.gid === undefined || st.gid === p.gid)) return false;
  batch.addSymlink(f.path, target, { uid: p.uid, gid: p.gid });
  return true;
}
