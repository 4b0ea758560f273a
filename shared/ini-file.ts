/**
 * INI files as the peers read them: Python's ConfigParser (cfn-boto-cfg,
 * cfn-hup.conf, hook files). `key = value` or `key: value` under `[section]`
 * headers; keys are case-insensitive, section names are not; an indented
 * line continues the value above it (joined with newlines); `#` and `;`
 * start comment lines only, never inside a value (`action = a; b` is one
 * command); `[DEFAULT]` supplies every section; `%(key)s` refers to another
 * key and `%%` is a `%`.
 *
 * Written here rather than with the `ini` package, which cuts values at `;`
 * and `#`, knows neither `:` nor continuation lines, and would so change the
 * meaning of the peers' files.
 *
 * Two differences from ConfigParser, both for files it refuses or misreads:
 * a `%` that starts no reference is kept as it is (ConfigParser refuses the
 * file), and, when the caller names the keys it expects, a section header
 * followed by `key=value` text on the same line (what a YAML `>` block makes
 * of a template's file) is read as if each key stood on its own line, with a
 * warning (ConfigParser drops that text).
 */
import { ConfigError } from './errors';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);
const DEFAULT_SECTION = 'DEFAULT';
/** ConfigParser's bound on nested `%(key)s` references. */
const MAX_INTERPOLATION_DEPTH = 10;

export interface IniOptions {
  /** The keys a header line may carry after `]` (see the top of this file). */
  unfoldKeys?: readonly string[];
  /**
   * oslo.config's files repeat keys (`collectors = ec2`, `collectors = cfn`):
   * `value` gives the last one, `values` all of them (a multi-valued option).
   * ConfigParser refuses them.
   */
  repeatedKeys?: 'refuse' | 'last';
  /** ConfigParser's `%(key)s` and `%%`; oslo.config has neither (Heat's generated secrets may hold `%`). Default true. */
  interpolation?: boolean;
}

interface Entry {
  lines: string[];
  line: number;
  /** The values the same key had before in its section (repeatedKeys: 'last'), oldest first. */
  earlier?: string[][];
}

export class IniFile {
  /** Things read differently from ConfigParser, for the log. */
  readonly warnings: string[] = [];
  private readonly sections = new Map<string, Map<string, Entry>>();
  private readonly defaults = new Map<string, Entry>();
  private readonly interpolation: boolean;

  constructor(
    text: string,
    /** For messages. */
    readonly file: string,
    opts: IniOptions = {},
  ) {
    this.interpolation = opts.interpolation ?? true;
    this.parse(text, opts);
  }

  private parse(text: string, opts: IniOptions): void {
    let current: Map<string, Entry> | undefined;
    let currentName = '';
    let entry: Entry | undefined;
    let indent = Infinity;
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    const addKey = (raw: string, lineNo: number, lineIndent: number): void => {
      const m = /^(.*?)\s*[=:]\s*(.*)$/.exec(raw);
      const key = m?.[1].trim().toLowerCase();
      if (!m || !key) throw new ConfigError(`line ${lineNo}: expected "key = value", got ${JSON.stringify(raw.slice(0, 80))}`, this.file);
      if (!current) throw new ConfigError(`line ${lineNo}: "${key}" comes before any [section] header`, this.file);
      const before = current.get(key);
      if (before && opts.repeatedKeys !== 'last') throw new ConfigError(`line ${lineNo}: "${key}" is set twice in [${currentName}] (first on line ${before.line})`, this.file);
      entry = { lines: [m[2].trim()], line: lineNo };
      if (before) entry.earlier = [...(before.earlier ?? []), before.lines];
      current.set(key, entry);
      indent = lineIndent;
    };
    for (const [i, line] of lines.entries()) {
      const lineNo = i + 1;
      const stripped = line.trim();
      const lineIndent = line.length - line.trimStart().length;
      // Comment lines are skipped, also inside a value; a blank line inside a value is kept in it.
      if (stripped.startsWith('#') || stripped.startsWith(';')) continue;
      if (stripped === '') {
        entry?.lines.push('');
        continue;
      }
      if (entry && lineIndent > indent) {
        entry.lines.push(stripped);
        continue;
      }
      const header = /^\[(.+)\](.*)$/.exec(stripped);
      if (header) {
        currentName = header[1];
        if (currentName === DEFAULT_SECTION) current = this.defaults;
        else {
          if (this.sections.has(currentName)) throw new ConfigError(`line ${lineNo}: section [${currentName}] appears twice`, this.file);
          current = new Map();
          this.sections.set(currentName, current);
        }
        entry = undefined;
        indent = Infinity;
        const rest = header[2].trim();
        if (rest) this.unfold(rest, lineNo, opts.unfoldKeys, addKey);
        continue;
      }
      addKey(stripped, lineNo, lineIndent);
    }
  }

  /** Text after a header: `k1=v1 k2=v2 ...` split at the expected keys, or ignored as ConfigParser does. */
  private unfold(rest: string, lineNo: number, keys: readonly string[] | undefined, addKey: (raw: string, line: number, indent: number) => void): void {
    const alternatives = (keys ?? []).map(escapeRegExp).join('|');
    const parts = alternatives ? rest.split(new RegExp(`\\s+(?=(?:${alternatives})\\s*=)`, 'i')) : [];
    if (!parts.length || !parts.every((p) => new RegExp(`^(?:${alternatives})\\s*=`, 'i').test(p))) {
      this.warnings.push(`${this.file}: line ${lineNo}: text after the section header is ignored: ${JSON.stringify(rest.slice(0, 80))}`);
      return;
    }
    this.warnings.push(`${this.file}: line ${lineNo}: keys on the section header's line (lines joined, as a YAML ">" block does): read as ${parts.length} separate lines`);
    for (const p of parts) addKey(p.trim(), lineNo, Infinity);
  }

  /** Section names in file order, without DEFAULT. */
  sectionNames(): string[] {
    return [...this.sections.keys()];
  }

  /** The first of `names` present (section names are case-sensitive; some files differ in case). */
  section(...names: string[]): string | undefined {
    return names.find((n) => this.sections.has(n));
  }

  /** The keys of a section, its own and DEFAULT's. */
  keys(section: string): string[] {
    return [...new Set([...(this.sections.get(section)?.keys() ?? []), ...this.defaults.keys()])];
  }

  /** The line a key is set on (its section's, else DEFAULT's). */
  line(section: string, key: string): number | undefined {
    return this.entry(section, key)?.line;
  }

  private entry(section: string | undefined, key: string): Entry | undefined {
    if (section === undefined) return undefined;
    const k = key.toLowerCase();
    const own = this.sections.get(section);
    if (!own && section !== DEFAULT_SECTION) return undefined;
    return own?.get(k) ?? this.defaults.get(k);
  }

  /** The value with `%(key)s` references resolved; undefined when absent. Multi-line values keep their newlines. */
  value(section: string | undefined, key: string): string | undefined {
    const e = this.entry(section, key);
    if (!e || section === undefined) return undefined;
    const raw = e.lines.join('\n').trimEnd();
    return this.interpolation ? this.interpolate(section, key, raw, 1) : raw;
  }

  /** Every value a repeated key was given, in file order (one when it is set once); empty when absent. */
  values(section: string | undefined, key: string): string[] {
    const e = this.entry(section, key);
    if (!e || section === undefined) return [];
    return [...(e.earlier ?? []), e.lines].map((lines) => {
      const raw = lines.join('\n').trimEnd();
      return this.interpolation ? this.interpolate(section, key, raw, 1) : raw;
    });
  }

  private interpolate(section: string, key: string, raw: string, depth: number): string {
    if (!raw.includes('%')) return raw;
    return raw.replace(/%(%|\(([^)]*)\)s)/g, (_m, what: string, ref: string | undefined) => {
      if (what === '%') return '%';
      const name = (ref ?? '').toLowerCase();
      if (depth >= MAX_INTERPOLATION_DEPTH) throw this.error(section, key, `%(${name})s: references nest deeper than ${MAX_INTERPOLATION_DEPTH}`);
      const target = this.entry(section, name);
      if (!target) throw this.error(section, key, `%(${name})s refers to a key that is not set in [${section}] or [DEFAULT] (write %% for a literal %)`);
      return this.interpolate(section, name, target.lines.join('\n').trimEnd(), depth + 1);
    });
  }

  /** A trimmed value; undefined when absent or empty. */
  string(section: string | undefined, key: string): string | undefined {
    const s = this.value(section, key)?.trim();
    return s === '' || s === undefined ? undefined : s;
  }

  /** 1/0, true/false, yes/no, on/off (any case); anything else is a ConfigError at `section.key`. */
  boolean(section: string | undefined, key: string): boolean | undefined {
    const raw = this.string(section, key);
    if (raw === undefined || section === undefined) return undefined;
    const v = raw.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw this.error(section, key, `expected a boolean (1/0, true/false, yes/no, on/off), got ${JSON.stringify(raw)}`);
  }

  /** An error about one key: file, line, `section.key`. */
  error(section: string, key: string, message: string): ConfigError {
    const line = this.line(section, key);
    return new ConfigError(message, line === undefined ? this.file : `${this.file}: line ${line}`, `[${section}] ${key.toLowerCase()}`);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
