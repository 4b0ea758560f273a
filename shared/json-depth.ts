/**
 * A bound on how deeply a JSON document nests. JSON.parse takes any depth,
 * but everything that walks the value afterwards (hashing, printing,
 * validation) would recurse once per level and overflow the stack on a
 * hostile document: so the depth is checked once, without recursion, where
 * the document comes in. The walk holds one frame per level open, never a
 * row per value: a wide document (millions of array items) costs nothing
 * more than its own parse.
 */
import { ConfigError } from './errors';

/** Real templates nest a dozen levels; a document nesting deeper than this is refused. */
export const DEFAULT_MAX_DEPTH = 100;

interface Frame {
  node: object;
  /** The object's keys; undefined for an array. */
  keys: string[] | undefined;
  next: number;
  /** Where the node is in its parent: `.key` or `[i]`. */
  label: string;
}

const frame = (node: object, label: string): Frame => ({ node, keys: Array.isArray(node) ? undefined : Object.keys(node), next: 0, label });

/** Throws ConfigError naming `source` and the key path where `value` nests deeper than `max`. */
export function assertDepth(value: unknown, max: number, source: string, hint = ''): void {
  if (value === null || typeof value !== 'object') return;
  if (max <= 0) throw new ConfigError(`nests deeper than ${max} levels at (the top)${hint}`, source);
  // Depth first: the stack holds the path from the top to the node walked.
  const stack: Frame[] = [frame(value, '')];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const count = top.keys ? top.keys.length : (top.node as unknown[]).length;
    if (top.next >= count) {
      stack.pop();
      continue;
    }
    const i = top.next++;
    const key = top.keys?.[i];
    const child = key === undefined ? (top.node as unknown[])[i] : (top.node as Record<string, unknown>)[key];
    if (child === null || typeof child !== 'object') continue;
    const label = key === undefined ? `[${i}]` : `.${key}`;
    if (stack.length >= max) throw new ConfigError(`nests deeper than ${max} levels at ${keyPath(stack, label)}${hint}`, source);
    stack.push(frame(child, label));
  }
}

function keyPath(stack: readonly Frame[], last: string): string {
  const p = [...stack.slice(1).map((f) => f.label), last].join('').replace(/^\./, '');
  const shown = p.length > 200 ? `${p.slice(0, 100)}...${p.slice(-100)}` : p || '(the top)';
  // The keys are the document's: a control character is shown escaped, so that no key adds a line to the error or the log.
  return shown.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
