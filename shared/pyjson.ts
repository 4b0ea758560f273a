/**
 * JSON text exactly as Python's `json.dumps(value)` writes it with default
 * arguments (", " and ": " separators, non-ASCII as \uXXXX). heat-cfntools
 * prints metadata and builds cfn-signal bodies this way; matching it byte for
 * byte keeps scripts that compare or grep that output working. Built in
 * chunks (text-sink.ts): a document of millions of items costs its text.
 */
import { buildText, type TextSink } from './text-sink';

export function pythonJsonDumps(value: unknown): string {
  return buildText((out) => dump(value, out))!;
}

/** pythonJsonDumps, or undefined once the text would pass `maxChars` (the rest is never built). */
export function pythonJsonDumpsWithin(value: unknown, maxChars: number): string | undefined {
  return buildText((out) => dump(value, out), maxChars);
}

function dump(value: unknown, out: TextSink): void {
  if (value === null || value === undefined) return out.add('null');
  switch (typeof value) {
    case 'string':
      return out.add(asciiString(value));
    case 'number':
      return out.add(pythonNumber(value));
    case 'boolean':
      return out.add(value ? 'true' : 'false');
    case 'object':
      if (Array.isArray(value)) {
        out.add('[');
        value.forEach((v, i) => {
          if (i) out.add(', ');
          dump(v, out);
        });
        return out.add(']');
      }
      out.add('{');
      Object.entries(value as Record<string, unknown>).forEach(([k, v], i) => {
        out.add(`${i ? ', ' : ''}${asciiString(k)}: `);
        dump(v, out);
      });
      return out.add('}');
    default:
      throw new TypeError(`cannot serialise a ${typeof value} as JSON`);
  }
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function pythonNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  // JSON.parse cannot tell 1.0 from 1; Python would print what it parsed, which for integral values is an int.
  const s = String(n);
  return s.replace(/e\+?/, (m) => (m === 'e' ? 'e' : 'e+'));
}
