/**
 * The `files` key: write files (inline content, JSON content or a download)
 * and symlinks, with mode and owner.
 *
 * Choices where the peers differ (docs/COMPATIBILITY.md):
 * - Written atomically (temp file + rename); no `.bak` copies. An identical
 *   file is neither rewritten nor reported as changed; a file whose content
 *   matches but whose mode/owner differ is fixed in place (a change).
 * - JSON content (object, list, number, boolean) is written as Python's
 *   `json.dump` writes it, like aws-cfn-bootstrap (heat-cfntools crashes).
 * - `content: ""` writes an empty file.
 * - `mode` is a string of octal digits; a JSON number is refused as ambiguous.
 *   `120xxx` makes a symlink whose target is `content`; the link is never
 *   chmodded, so the target keeps its mode (aws-cfn-bootstrap chmods the target).
 * - Without `owner`/`group`, a replaced file keeps its owner and mode.
 * - Inline content is rendered with its `context` during validation, so a bad
 *   template is reported before anything runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../../../shared/atomic-file';
import { CfnError, errorMessage } from '../../../shared/errors';
import { pythonJsonDumps } from '../../../shared/pyjson';
import { redactUrl } from '../../../shared/redact';
import { renderTemplate, TemplateError } from '../mustache';
import type { System } from '../system';
import {
  checkKeys,
  child,
  describe,
  expectObject,
  expectString,
  isObject,
  type JsonObject,
  type Problems,
} from '../validation';
import type { Action, HandlerContext, InitHandler, ValidationContext } from './types';

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
  owner?: string;
  group?: string;
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
    const known = principalLookup(ctx);
    // aws-cfn-bootstrap writes in sorted order; heat-cfntools in JSON order.
    for (const file of Object.keys(obj).sort()) {
      const spec = validateFile(file, obj[file], child(keyPath, file), ctx, known);
      if (spec) specs.push(spec);
    }
    return p.list.length > before ? undefined : specs;
  },

  async plan(spec: FilesSpec): Promise<Action[]> {
    return spec.map((f) => ({
      summary: summary(f),
      changes: [{ key: 'files', name: f.path }],
      apply: (ctx: HandlerContext) => applyFile(f, ctx),
    }));
  },
};

// ---------------------------------------------------------------- validation

function validateFile(file: string, raw: unknown, kp: string, ctx: ValidationContext, known: PrincipalLookup): FileSpec | undefined {
  const p = ctx.problems;
  const before = p.list.length;
  if (!file.startsWith('/')) p.add(kp, 'file names must be absolute paths');
  else if (file.endsWith('/') || file.includes('\0')) p.add(kp, 'not a file name');
  const obj = expectObject(raw, kp, p);
  if (!obj) return undefined;
  checkKeys(obj, FILE_KEYS, kp, p);

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
    if (name === '') p.add(child(kp, k), 'must not be empty');
    else if (!known(k, name)) {
      p.add(child(kp, k), `no such ${k === 'owner' ? 'user' : 'group'} ${JSON.stringify(name)} on this machine, and no selected config creates it`);
    } else spec[k] = name;
  }

  const hasContent = obj.content !== undefined;
  const hasSource = obj.source !== undefined;
  if (hasContent && hasSource) p.add(kp, 'give either content or source, not both');
  else if (!hasContent && !hasSource) {
    p.add(kp, spec.kind === 'symlink' ? 'a symlink (mode 120xxx) needs content: the link target' : 'needs content or source');
  }

  if (obj.authentication !== undefined) {
    const a = expectString(obj.authentication, child(kp, 'authentication'), p);
    if (a !== undefined && !ctx.authenticationNames.has(a)) {
      p.add(child(kp, 'authentication'), `no AWS::CloudFormation::Authentication block named ${JSON.stringify(a)}`);
    } else if (a !== undefined && !hasSource) {
      p.add(child(kp, 'authentication'), 'only applies to source downloads');
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
    spec.content = contentBytes(obj.content, encoding, context, child(kp, 'content'), p);
  } else if (hasSource) {
    const src = expectString(obj.source, child(kp, 'source'), p);
    if (src !== undefined && !/^https?:\/\/[^/]/i.test(src)) p.add(child(kp, 'source'), `expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(src))}`);
    else if (src !== undefined) spec.source = src;
    if (encoding !== 'plain') p.add(child(kp, 'encoding'), 'base64 applies to inline content; a source is written as downloaded');
    if (context) spec.context = context;
  }
  return p.list.length > before ? undefined : spec;
}

type PrincipalLookup = (kind: 'owner' | 'group', name: string) => boolean;

/** Whether an owner/group exists or will be created; each name looked up once (a getent each). */
function principalLookup(ctx: ValidationContext): PrincipalLookup {
  const seen = new Map<string, boolean>();
  return (kind, name) => {
    if (/^\d+$/.test(name)) return true;
    const key = `${kind}:${name}`;
    let ok = seen.get(key);
    if (ok === undefined) {
      ok = kind === 'owner'
        ? ctx.declaredUsers.has(name) || ctx.system.user(name) !== undefined
        : ctx.declaredGroups.has(name) || ctx.system.group(name) !== undefined;
      seen.set(key, ok);
    }
    return ok;
  };
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

function contentBytes(raw: unknown, encoding: string, context: JsonObject | undefined, kp: string, p: Problems): Buffer | undefined {
  if (raw === null) {
    p.add(kp, 'expected a string or a JSON object/list, got null');
    return undefined;
  }
  if (typeof raw !== 'string') {
    if (encoding !== 'plain') p.add(kp, 'base64 applies to string content, not JSON');
    if (context) p.add(kp, 'context is not applied to JSON content (give the content as a string to use a template)');
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
    return Buffer.from(renderTemplate(raw, context, 'content'));
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
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
  const who = [f.owner !== undefined && `owner ${f.owner}`, f.group !== undefined && `group ${f.group}`].filter(Boolean) as string[];
  if (f.kind === 'symlink') return `symlink ${f.path} -> ${f.content!.toString()}${who.length ? ` (${who.join(', ')})` : ''}`;
  const what = f.source !== undefined ? `from ${redactUrl(f.source)}` : `${f.content!.length} bytes`;
  const details = [what, f.mode !== undefined && `mode ${octal(f.mode)}`, ...who].filter(Boolean);
  return `write ${f.path} (${details.join(', ')})`;
}

// ---------------------------------------------------------------- applying

async function applyFile(f: FileSpec, ctx: HandlerContext): Promise<{ changed: boolean }> {
  const where = `${ctx.keyPath ? `${ctx.keyPath}.` : ''}${f.path}`;
  try {
    let data = f.content;
    if (f.source !== undefined) {
      data = await ctx.downloader.fetch(f.source, f.authentication !== undefined ? { authentication: f.authentication } : {});
      if (f.context) data = Buffer.from(renderTemplate(utf8(data, f.source), f.context, redactUrl(f.source)));
    }
    const uid = f.owner !== undefined ? resolveId('owner', f.owner, ctx.system) : undefined;
    const gid = f.group !== undefined ? resolveId('group', f.group, ctx.system) : undefined;
    ensureParent(f.path);
    const result = f.kind === 'symlink' ? writeSymlink(f.path, data!.toString(), uid, gid) : writeRegular(f.path, data!, f.mode, uid, gid);
    // The engine logs the summary, and whether anything changed.
    return result;
  } catch (err) {
    throw new FileError(`${where}: ${errorMessage(err)}`, { cause: err });
  }
}

function utf8(data: Buffer, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new FileError(`${redactUrl(source)} is not UTF-8 text, so its context cannot be applied`);
  }
}

function resolveId(kind: 'owner' | 'group', name: string, system: System): number {
  if (/^\d+$/.test(name)) return Number(name);
  const id = kind === 'owner' ? system.user(name)?.uid : system.group(name)?.gid;
  if (id === undefined) throw new FileError(`no such ${kind === 'owner' ? 'user' : 'group'} ${JSON.stringify(name)}`);
  return id;
}

function ensureParent(file: string): void {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') throw new FileError(`cannot create the directory ${dir}: a part of it is not a directory`, { cause: err });
    throw new FileError(`cannot create the directory ${dir}: ${errorMessage(err)}`, { cause: err });
  }
}

function lstat(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Write unless identical; without owner/mode the old file's are kept. */
function writeRegular(file: string, data: Buffer, mode: number | undefined, uid: number | undefined, gid: number | undefined): { changed: boolean } {
  const st = lstat(file);
  if (st?.isDirectory()) throw new FileError(`${file} is a directory`);
  const old = st?.isFile() ? st : undefined;
  const wantMode = mode ?? (old ? old.mode & 0o7777 : 0o644);
  const wantUid = uid ?? old?.uid;
  const wantGid = gid ?? old?.gid;
  if (old && old.size === data.length && fs.readFileSync(file).equals(data)) {
    let changed = false;
    if ((wantUid !== undefined && old.uid !== wantUid) || (wantGid !== undefined && old.gid !== wantGid)) {
      fs.chownSync(file, wantUid ?? -1, wantGid ?? -1);
      changed = true;
    }
    // Again after a chown, which clears setuid/setgid.
    if (changed || (old.mode & 0o7777) !== wantMode) {
      fs.chmodSync(file, wantMode);
      changed = true;
    }
    return { changed };
  }
  writeFileAtomic(file, data, { mode: wantMode, uid: wantUid, gid: wantGid });
  return { changed: true };
}

/** Create or retarget a symlink atomically; its owner is set with lchown, its mode never (Linux ignores it). */
function writeSymlink(file: string, target: string, uid: number | undefined, gid: number | undefined): { changed: boolean } {
  const st = lstat(file);
  if (st?.isDirectory()) throw new FileError(`${file} is a directory; it is not replaced with a symlink`);
  if (st?.isSymbolicLink() && fs.readlinkSync(file) === target) {
    if ((uid === undefined || st.uid === uid) && (gid === undefined || st.gid === gid)) return { changed: false };
    fs.lchownSync(file, uid ?? -1, gid ?? -1);
    return { changed: true };
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.symlinkSync(target, tmp);
    if (uid !== undefined || gid !== undefined) fs.lchownSync(tmp, uid ?? -1, gid ?? -1);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { changed: true };
}
