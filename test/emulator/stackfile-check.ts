/**
 * What every stack-file check is built from: the error that names the file
 * and the key path, and a checker for the shapes the format uses. Shared by
 * stackfile.ts and the modules that check one kind of resource.
 */

export class StackFileError extends Error {
  constructor(
    readonly detail: string,
    readonly file: string,
    readonly keyPath: string,
  ) {
    super(`${file}: ${keyPath || '(top level)'}: ${detail}`);
    this.name = 'StackFileError';
  }
}

export class Checker {
  constructor(readonly source: string) {}

  fail(at: string, detail: string): never {
    throw new StackFileError(detail, this.source, at);
  }

  mapping(v: unknown, at: string, allowed: readonly string[]): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(at, `must be a mapping, not ${describe(v)}`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(join(at, k), `unknown key (expected one of: ${allowed.join(', ')})`);
    }
    return o;
  }

  string(v: unknown, at: string, opts: { optional?: boolean; empty?: boolean; re?: RegExp; what?: string } = {}): string | undefined {
    if (v === undefined && opts.optional) return undefined;
    if (v === undefined) this.fail(at, 'is required');
    if (typeof v !== 'string') this.fail(at, `must be a string, not ${describe(v)}`);
    if (!opts.empty && v === '') this.fail(at, 'must not be empty');
    if (opts.re && !opts.re.test(v)) this.fail(at, `${JSON.stringify(v)} is not ${opts.what ?? `of the form ${opts.re}`}`);
    return v;
  }

  positive(v: unknown, at: string, integer: boolean): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(v > 0) || (integer && !Number.isInteger(v))) this.fail(at, `must be a positive ${integer ? 'integer' : 'number'}, not ${describe(v)}`);
    return v;
  }

  list(v: unknown, at: string): unknown[] {
    if (!Array.isArray(v)) this.fail(at, `must be a list, not ${describe(v)}`);
    return v;
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function join(at: string, key: string | number): string {
  if (typeof key === 'number') return `${at}[${key}]`;
  return at ? `${at}.${key}` : key;
}
