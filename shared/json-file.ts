/**
 * The one bounded JSON reader: a document from a file (safe-open.ts: a
 * regular file, at most so many bytes) or a text already bounded (an HTTP
 * answer), refused when it nests deeper than a bound (json-depth.ts). What
 * is wrong is said without quoting the text: a file in the wrong place may
 * hold a secret.
 */
import { ConfigError } from './errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from './json-depth';
import { syntaxErrorOffset } from './json-syntax';
import { readTextBounded, type ReadRules } from './safe-open';

export interface JsonBounds {
  /** Default DEFAULT_MAX_DEPTH. */
  maxDepth?: number;
  /** Said after a depth error: how to raise the bound. */
  depthHint?: string;
}

/** Why `text` is not JSON, by offset only. */
export function jsonSyntaxProblem(text: string): string {
  const at = syntaxErrorOffset(text);
  return at >= text.length ? `not valid JSON: it ends early (at offset ${at})` : `not valid JSON: syntax error at offset ${at}`;
}

/** The value of `text`; a ConfigError naming `source` when it is not JSON or nests too deeply. */
export function parseJsonText(text: string, source: string, bounds: JsonBounds = {}): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new ConfigError(jsonSyntaxProblem(text), source);
  }
  assertDepth(value, bounds.maxDepth ?? DEFAULT_MAX_DEPTH, source, bounds.depthHint);
  return value;
}

/** The document in `file` (see readTextBounded for what is refused); undefined when the file does not exist. */
export function readJsonFile(file: string, rules: ReadRules & JsonBounds): { value: unknown } | undefined {
  const text = readTextBounded(file, rules);
  return text === undefined ? undefined : { value: parseJsonText(text, file, rules) };
}
