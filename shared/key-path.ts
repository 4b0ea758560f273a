/**
 * `--key` paths into metadata. Both peers' spellings work: dots separate
 * levels, a segment in single quotes may hold dots (heat-cfntools:
 * `files.'/etc/a.conf'.mode`), and `\.` is a literal dot (aws-cfn-bootstrap).
 */
import { UsageError } from './errors';

/** Segments of `key`; `what` names it in errors (a flag, or a file's key). */
export function parseKeyPath(key: string, what = '--key'): string[] {
  const segments: string[] = [];
  let i = 0;
  while (i <= key.length) {
    let seg = '';
    if (key[i] === "'") {
      const end = key.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`${what} ${key}: unterminated quote at position ${i + 1}`);
      seg = key.slice(i + 1, end);
      i = end + 1;
      if (i < key.length && key[i] !== '.') throw new UsageError(`${what} ${key}: expected '.' after the quoted segment at position ${i + 1}`);
    } else {
      while (i < key.length && key[i] !== '.') {
        if (key[i] === '\\' && key[i + 1] === '.') {
          seg += '.';
          i += 2;
        } else {
          seg += key[i++];
        }
      }
    }
    if (seg === '') throw new UsageError(`${what} ${key}: empty segment at position ${i + 1}`);
    segments.push(seg);
    i++; // past the '.'
  }
  return segments;
}

export type Lookup = { found: true; value: unknown } | { found: false; missing: string };

/** Walk objects by key and arrays by index; report the first segment that is not there. */
export function lookup(value: unknown, segments: string[]): Lookup {
  let cur = value;
  for (const [i, seg] of segments.entries()) {
    const here = segments.slice(0, i + 1).join('.');
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, seg)) cur = (cur as Record<string, unknown>)[seg];
    else return { found: false, missing: here };
  }
  return { found: true, value: cur };
}
