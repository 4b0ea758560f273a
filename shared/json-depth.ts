/**
 * A bound on how deeply a JSON document nests. JSON.parse takes any depth,
 * but everything that walks the value afterwards (hashing, printing,
 * validation) would recurse once per level and overflow the stack on a
 * hostile document: so the depth is checked once, without recursion, where
 * the document comes in.
 */
import { ConfigError } from './errors';

/** Real templates nest a dozen levels; a document nesting deeper than this is refused. */
export const DEFAULT_MAX_DEPTH = 100;

/** Throws ConfigError naming `source` and the key path where `value` nests deeper than `max`. */
export function assertDepth(value: unknown, max: number, source: string, hint = ''): void {
  // [value, depth, index of the parent row, key in the parent]
  const rows: Array<[unknown, number, number, string]> = [[value, 0, -1, '']];
  for (let i = 0; i < rows.length; i++) {
    const [v, depth] = rows[i];
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) throw new ConfigError(`nests deeper than ${max} levels at ${keyPath(rows, i)}${hint}`, source);
    if (Array.isArray(v)) v.forEach((x, k) => rows.push([x, depth + 1, i, `[${k}]`]));
    else for (const [k, x] of Object.entries(v)) rows.push([x, depth + 1, i, `.${k}`]);
    // Only the path of a row is needed later; its value is not.
    rows[i][0] = undefined;
  }
}

function keyPath(rows: ReadonlyArray<[unknown, number, number, string]>, i: number): string {
  const parts: string[] = [];
  for (let r = i; r > 0; r = rows[r][2]) parts.unshift(rows[r][3]);
  const p = parts.join('').replace(/^\./, '');
  const shown = p.length > 200 ? `${p.slice(0, 100)}...${p.slice(-100)}` : p || '(the top)';
  // The keys are the document's: a control character is shown escaped, so that no key adds a line to the error or the log.
  return shown.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
