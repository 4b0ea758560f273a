/**
 * JSON text exactly as Python's `json.dumps(value)` writes it with default
 * arguments (", " and ": " separators, non-ASCII as \uXXXX). heat-cfntools
 * prints metadata and builds cfn-signal bodies this way; matching it byte for
 * byte keeps scripts that compare or grep that output working.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return asciiString(value);
    case 'number':
      return pythonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
      return `{${Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${asciiString(k)}: ${pythonJsonDumps(v)}`)
        .join(', ')}}`;
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
