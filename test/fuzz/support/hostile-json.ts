/**
 * Hostile JSON for the fuzz: values a server, a metadata author or a hook
 * could put anywhere (names that are object keys or path parts in the
 * tools, numbers past every range, control characters, bytes that are not
 * UTF-8, nesting deeper than any parser's stack, very long and very wide
 * values), and seeded mutations of a valid document that put them in.
 * Some can only exist as text (JSON.stringify would overflow, or cannot
 * write invalid UTF-8): they travel as stand-in strings and are put in when
 * the document is serialised (`serialise`).
 */
import type { Rng } from '../../support/sigv-random';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Container = Json[] | { [k: string]: Json };

/** Stands for two bytes that are not UTF-8. */
const BAD_UTF8 = '\uE000';
/** Stands for a value nested this deep. */
const DEEP = (levels: number) => `\uE001${levels}\uE001`;
/** Stands for a number JSON.stringify cannot write (1e999 parses to Infinity, -0, 400 digits). */
const RAW_NUMBER = (text: string) => `\uE002${text}\uE002`;
/** Stands for a list of this many small numbers: wide, cheap to send, expensive to hold as objects. */
const WIDE = (items: number) => `\uE003${items}\uE003`;

/** Where a tool that wrote with a hostile name as a path would have written. */
export const CANARIES: readonly string[] = ['/tmp/cfntools-fuzz-escape', '/tmp/cfntools-fuzz-outside'];

/**
 * Names the tools could use as object keys, path parts, options or shell
 * words. Never a path whose writing or running would harm the machine: the
 * tools run as root, and a bug the fuzz finds must not cost more than a
 * file in /tmp.
 */
export const HOSTILE_NAMES: readonly string[] = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '..',
  '../x',
  // Paths that land in /tmp if a tool ever writes outside its directories: the fuzz looks for them (CANARIES).
  '../../../../../../../../../tmp/cfntools-fuzz-escape',
  '/tmp/cfntools-fuzz-outside',
  'a/b',
  'a\0b',
  'a\nb',
  'a\r\nInjected: header',
  '-rf',
  '--help',
  '--node-options=--require=/nonexistent-fuzz',
  '$(exit 7)',
  '`id`',
  '${PATH}',
  '%s%n',
  '\u202eevil',
  '\ud800',
  'é\u00df\u4e2d',
  BAD_UTF8,
  'k'.repeat(300),
  'k'.repeat(70_000),
];

const NUMBERS: readonly Json[] = [0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53 + 2, 1e308, -1e308, 5e-324, 2147483648, 3000000, RAW_NUMBER('1e999'), RAW_NUMBER('-0'), RAW_NUMBER('9'.repeat(400)), RAW_NUMBER('1e-400')];

export function pick<T>(r: Rng, items: readonly T[]): T {
  return items[r.int(items.length)];
}

/** A hostile value of any type; `depth` bounds the nesting of the random containers. */
export function hostileValue(r: Rng, depth = 0): Json {
  switch (r.int(depth > 2 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return pick(r, NUMBERS);
    case 3:
    case 4:
      return pick(r, HOSTILE_NAMES);
    case 5:
      return r.chance(0.3) ? 'z'.repeat(2_000_000) : [];
    case 6:
      return Array.from({ length: 1 + r.int(3) }, () => hostileValue(r, depth + 1));
    case 7:
      return DEEP(pick(r, [101, 3000, 100_000]));
    default:
      return Object.fromEntries(Array.from({ length: 1 + r.int(3) }, () => [pick(r, HOSTILE_NAMES), hostileValue(r, depth + 1)]));
  }
}

/** Every container of a document, the document first. */
function containers(v: Json, out: Container[] = []): Container[] {
  if (v !== null && typeof v === 'object') {
    out.push(v);
    for (const x of Array.isArray(v) ? v : Object.values(v)) containers(x, out);
  }
  return out;
}

/** A string holding a JSON object or list (Heat's Metadata in a DescribeStackResource answer): parsed, so mutations reach inside. */
function embedded(s: string): Json | undefined {
  if (!/^\s*[[{]/.test(s)) return undefined;
  try {
    return JSON.parse(s) as Json;
  } catch {
    return undefined;
  }
}

/**
 * 1 to 3 mutations of `doc` in place: a value swapped for a hostile one, a
 * key deleted, added or renamed (hostile names), a value deepened, widened,
 * lengthened or given NUL bytes and invalid UTF-8. A string that holds JSON
 * is mutated inside, now and then. Returns what was done.
 */
export function mutateJson(doc: Json, r: Rng): string[] {
  const done: string[] = [];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const all = containers(doc);
    if (!all.length) break;
    const c = pick(r, all);
    const keys = Array.isArray(c) ? c.map((_, i) => String(i)) : Object.keys(c);
    const key = keys.length ? pick(r, keys) : undefined;
    const get = (k: string): Json => (Array.isArray(c) ? c[Number(k)] : c[k]);
    const set = (k: string, v: Json) => (Array.isArray(c) ? (c[Number(k)] = v) : (c[k] = v));
    const inner = key !== undefined && typeof get(key) === 'string' ? embedded(get(key) as string) : undefined;
    if (inner !== undefined && r.chance(0.6)) {
      const what = mutateJson(inner, r);
      set(key!, serialiseText(inner));
      done.push(`inside ${JSON.stringify(key)}: ${what.join(', ')}`);
      continue;
    }
    const label = key === undefined ? '(empty)' : JSON.stringify(key.slice(0, 40));
    switch (r.int(9)) {
      case 0:
      case 1:
        if (key === undefined) break;
        set(key, hostileValue(r));
        done.push(`swap ${label}`);
        break;
      case 2:
        if (key === undefined) break;
        if (Array.isArray(c)) c.splice(Number(key), 1);
        else delete c[key];
        done.push(`delete ${label}`);
        break;
      case 3: {
        const k = pick(r, HOSTILE_NAMES);
        if (Array.isArray(c)) c.push(hostileValue(r));
        else c[k] = hostileValue(r);
        done.push(`add ${JSON.stringify(k.slice(0, 40))}`);
        break;
      }
      case 4:
        if (key === undefined || Array.isArray(c)) break;
        {
          const v = c[key];
          delete c[key];
          const k = pick(r, HOSTILE_NAMES);
          c[k] = v;
          done.push(`rename ${label} to ${JSON.stringify(k.slice(0, 40))}`);
        }
        break;
      case 5:
        if (key === undefined) break;
        set(key, DEEP(pick(r, [101, 3000, 100_000])));
        done.push(`deepen ${label}`);
        break;
      case 6:
        if (key === undefined) break;
        set(key, r.chance(0.5) ? Array.from({ length: 20_000 }, (_, i) => `item${i}`) : WIDE(pick(r, [100_000, 2_500_000])));
        done.push(`widen ${label}`);
        break;
      case 7:
        if (key === undefined) break;
        set(key, `nul\0nul\0${BAD_UTF8}\u0001\u001b[31m\u2028`);
        done.push(`control characters and bad UTF-8 at ${label}`);
        break;
      default:
        if (key === undefined) break;
        set(key, pick(r, NUMBERS));
        done.push(`number at ${label}`);
    }
  }
  return done;
}

/** The JSON text of a value nested `levels` deep. */
function deepText(levels: number): string {
  const half = Math.floor(levels / 2);
  return `${'{"d":['.repeat(half)}1${']}'.repeat(half)}`;
}

/** JSON text with the stand-ins that are still text put in (deep values, raw numbers, wide lists); invalid UTF-8 stays a stand-in. */
function serialiseText(doc: Json): string {
  return JSON.stringify(doc)
    .replace(/"\uE001(\d+)\uE001"/g, (_m, n: string) => deepText(Number(n)))
    .replace(/"\uE002([^\uE002]*)\uE002"/g, (_m, t: string) => t)
    .replace(/"\uE003(\d+)\uE003"/g, (_m, n: string) => `[${'0,'.repeat(Number(n) - 1)}0]`);
}

/** The document's bytes, every stand-in put in. */
export function serialise(doc: Json): Buffer {
  return withBadUtf8(serialiseText(doc));
}

/** Text whose BAD_UTF8 stand-ins (also inside JSON strings that held JSON) become two bytes that are not UTF-8. */
export function withBadUtf8(text: string): Buffer {
  const parts = text.split(BAD_UTF8);
  return Buffer.concat(parts.flatMap((part, k) => (k ? [Buffer.from([0xff, 0xfe]), Buffer.from(part)] : [Buffer.from(part)])));
}
