/**
 * Metadata compared as JSON values, whatever the key order: the hash cfn-init
 * saves with its progress, heat-agent's deployment fingerprints, and the
 * equality a watcher uses to see a change. Neither builds the canonical
 * text whole: the hash is fed in pieces, the equality walks both values, so
 * a metadata of millions of items costs no copy of itself.
 */
import { createHash } from 'node:crypto';
import { TextSink } from './text-sink';

/** Feeds JSON with object keys sorted to `out`; the document's depth must have been bounded (shared/json-depth.ts). */
function writeCanonical(value: unknown, out: TextSink): void {
  if (Array.isArray(value)) {
    out.add('[');
    value.forEach((v, i) => {
      if (i) out.add(',');
      writeCanonical(v, out);
    });
    out.add(']');
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    out.add('{');
    Object.keys(obj)
      .sort()
      .forEach((k, i) => {
        out.add(`${i ? ',' : ''}${JSON.stringify(k)}:`);
        writeCanonical(obj[k], out);
      });
    out.add('}');
  } else out.add(JSON.stringify(value ?? null));
}

/** sha256 of the JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function canonicalHash(value: unknown): string {
  const hash = createHash('sha256');
  const out = new TextSink((chunk) => hash.update(chunk));
  writeCanonical(value, out);
  out.end();
  return hash.digest('hex');
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Equal as JSON values: the same keys and values in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  if (Array.isArray(b) || isObject(b)) return false;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
