/**
 * Metadata compared as JSON values, whatever the key order: the hash cfn-init
 * saves with its progress, and the equality a watcher uses to see a change.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal metadata hashes equally whatever its key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** sha256 of the canonical JSON; the document's depth must have been bounded (shared/json-depth.ts). */
export function metadataHash(metadata: unknown): string {
  return createHash('sha256').update(canonicalJson(metadata)).digest('hex');
}

/** Equal as JSON values: the same keys and values in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
