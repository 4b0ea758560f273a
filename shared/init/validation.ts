/**
 * Validation of AWS::CloudFormation::Init before anything changes. Problems
 * are collected (not thrown one by one) so a user sees every mistake at once,
 * each with its key path: `configSets.default[1] -> config2.files./etc/app.conf.mode`.
 *
 * A problem is an error, or tolerated: a mistake aws-cfn-bootstrap runs
 * anyway (an unknown key it never reads, a service manager it skips). Real
 * templates carry such mistakes, and refusing them would fail stacks that
 * work on AWS, so a run goes on with a warning naming the key path; with
 * --strict they are errors like the others. Each check says which it is,
 * once, by calling add() or tolerate().
 */
import { CfnError, ConfigError } from '../errors';

export interface Problem {
  path: string;
  message: string;
  /**
   * Set when aws-cfn-bootstrap runs the document anyway: what a run does
   * about the mistake (`ignored`, `skipped`...). A warning unless --strict.
   */
  tolerated?: string;
}

/** What a run does about an unknown key (aws-cfn-bootstrap reads only the keys it knows). */
export const IGNORED = 'ignored';

/**
 * Problems kept whole, of each kind: past it a problem is counted (the list
 * holds one shared placeholder for it) and said as `... and N more`. A
 * document of millions of mistakes must not cost a string, nor a line of
 * the log, for each.
 */
const MAX_PROBLEMS_SHOWN = 100;
/** What the lists hold in place of each problem past MAX_PROBLEMS_SHOWN. */
const ELIDED: Problem = Object.freeze({ path: '', message: '' });

/** The problems to show (at most MAX_PROBLEMS_SHOWN) and how many more there are. */
export function summarize(problems: readonly Problem[]): { shown: Problem[]; more: number } {
  const shown: Problem[] = [];
  for (const p of problems) {
    if (shown.length === MAX_PROBLEMS_SHOWN) break;
    if (p !== ELIDED) shown.push(p);
  }
  return { shown, more: problems.length - shown.length };
}

/** The line that counts the problems not shown, or nothing. */
export const moreLine = (more: number, what = 'problems'): string[] => (more ? [`... and ${more} more ${what}, not listed`] : []);

/** `path: message`; a tolerated one adds what a run does about it, or, as an error, that --strict refuses it. */
export function showProblem(p: Problem, asError = false): string {
  const note = p.tolerated === undefined ? '' : asError ? ` (refused by --strict; without it: ${p.tolerated})` : ` (${p.tolerated})`;
  return `${p.path}: ${p.message}${note}`;
}

/** Errors; tolerated problems are among them only under --strict, and say so. */
export class InitValidationError extends ConfigError {
  constructor(
    readonly problems: Problem[],
    source?: string,
  ) {
    const { shown, more } = summarize(problems);
    super(
      problems.length === 1
        ? showProblem(problems[0], true)
        : `${problems.length} problems in AWS::CloudFormation::Init:\n` + [...shown.map((p) => showProblem(p, true)), ...moreLine(more)].map((l) => `  ${l}`).join('\n'),
      source,
    );
  }
}

/**
 * The document is valid but the machine disagrees with it (a group exists
 * with another gid): found while planning, before the key changes anything.
 */
export class MachineConflictError extends CfnError {
  constructor(readonly problems: Problem[]) {
    const { shown, more } = summarize(problems);
    super(
      problems.length === 1
        ? `${problems[0].path}: ${problems[0].message}`
        : `${problems.length} conflicts with this machine:\n` + [...shown.map((p) => `${p.path}: ${p.message}`), ...moreLine(more, 'conflicts')].map((l) => `  ${l}`).join('\n'),
    );
  }
}

export class Problems {
  /** The errors: a spec is only built without them. */
  readonly list: Problem[] = [];
  /** The mistakes aws-cfn-bootstrap runs anyway: warnings, or errors under --strict. */
  readonly tolerated: Problem[] = [];
  add(path: string, message: string): void {
    this.list.push(this.list.length < MAX_PROBLEMS_SHOWN ? { path, message } : ELIDED);
  }
  /** A mistake aws-cfn-bootstrap runs anyway; `outcome` says what a run does about it. */
  tolerate(path: string, message: string, outcome: string): void {
    this.tolerated.push(this.tolerated.length < MAX_PROBLEMS_SHOWN ? { path, message, tolerated: outcome } : ELIDED);
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
  /** Throw the errors; under `strict` the tolerated problems too. */
  throwIfAny(source?: string, strict = false): void {
    const all = strict ? [...this.list, ...this.tolerated] : this.list;
    if (all.length) throw new InitValidationError(all, source);
  }
}

/** `a.b` + `c` → `a.b.c`; keys are not quoted, paths like `/etc/x.conf` stay readable. */
export const child = (path: string, key: string): string => (path ? `${path}.${key}` : key);
export const item = (path: string, index: number): string => `${path}[${index}]`;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  // A value is quoted in a problem, not repeated whole: metadata may hold megabytes of it.
  if (typeof value === 'string' && value.length > 200) return `string ${JSON.stringify(value.slice(0, 100))}... (${value.length} characters)`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An object, or a problem. */
export function expectObject(value: unknown, path: string, p: Problems): JsonObject | undefined {
  if (isObject(value)) return value;
  p.add(path, `expected an object, got ${describe(value)}`);
  return undefined;
}

/**
 * Report keys outside `allowed` (typos must not pass silently): as errors,
 * or, where aws-cfn-bootstrap never reads them, tolerated with `outcome` (IGNORED).
 */
export function checkKeys(obj: JsonObject, allowed: readonly string[], path: string, p: Problems, outcome?: string): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const message = `unknown key; expected one of ${allowed.join(', ')}`;
    if (outcome === undefined) p.add(child(path, k), message);
    else p.tolerate(child(path, k), message, outcome);
  }
}

export function expectString(value: unknown, path: string, p: Problems, opts: { allowNumber?: boolean } = {}): string | undefined {
  if (typeof value === 'string') return value;
  if (opts.allowNumber && typeof value === 'number') return String(value);
  p.add(path, `expected a string, got ${describe(value)}`);
  return undefined;
}

/** A string or a list of strings (AWS accepts both in many places), as a list. */
export function expectStringList(value: unknown, path: string, p: Problems): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  p.add(path, `expected a string or a list of strings, got ${describe(value)}`);
  return undefined;
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'on']);
const FALSE = new Set(['false', 'no', 'n', '0', 'off', '']);

/** Booleans as both peers read them: JSON booleans, 0/1, and true/yes/1 | false/no/0 strings, any case. */
export function expectBoolean(value: unknown, path: string, p: Problems): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
  }
  p.add(path, `expected a boolean (true/false), got ${describe(value)}`);
  return undefined;
}

export function expectAbsolutePath(value: unknown, path: string, p: Problems): string | undefined {
  const s = expectString(value, path, p);
  if (s !== undefined && !s.startsWith('/')) {
    p.add(path, `expected an absolute path, got ${JSON.stringify(s)}`);
    return undefined;
  }
  return s;
}

export const WINDOWS_UNSUPPORTED = 'Windows is not supported on Linux';

/** `C:\...`, `c:/...` or `\\server\share`: metadata written for a Windows instance. */
export function isWindowsPath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

/** Why Linux cannot create `p` (a component over NAME_MAX, or over PATH_MAX in all), or undefined. */
export function tooLongForLinux(p: string): string | undefined {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: a path this short fits, and most are this short.
  if (p.length * 3 <= 255) return undefined;
  const long = p.split('/').find((c) => Buffer.byteLength(c) > 255);
  if (long !== undefined) return `a name of ${Buffer.byteLength(long)} bytes; Linux allows 255`;
  if (Buffer.byteLength(p) > 4095) return `a path of ${Buffer.byteLength(p)} bytes; Linux allows 4095`;
  return undefined;
}
