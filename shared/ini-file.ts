/**
 * INI files as the peers' Python ConfigParser reads them (cfn-boto-cfg,
 * cfn-hup.conf, hook files): sections of `key = value` lines, parsed by the
 * `ini` package. Values are read through typed getters whose errors name the
 * file, the section and the key.
 */
import * as ini from 'ini';
import { ConfigError } from './errors';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export class IniFile {
  private readonly sections: Record<string, Record<string, unknown>>;

  constructor(
    text: string,
    /** For messages. */
    readonly file: string,
  ) {
    this.sections = ini.parse(text) as Record<string, Record<string, unknown>>;
  }

  /** Section names, in file order. */
  sectionNames(): string[] {
    return Object.keys(this.sections).filter((k) => typeof this.sections[k] === 'object' && this.sections[k] !== null);
  }

  /** The first of `names` present (ConfigParser section names are case-sensitive; some files differ in case). */
  section(...names: string[]): string | undefined {
    return names.find((n) => typeof this.sections[n] === 'object' && this.sections[n] !== null);
  }

  /** A trimmed value; undefined when absent or empty. */
  string(section: string | undefined, key: string): string | undefined {
    const v = section === undefined ? undefined : this.sections[section]?.[key];
    if (v === undefined || v === null) return undefined;
    const s = String(v).trim();
    return s === '' ? undefined : s;
  }

  /** 1/0, true/false, yes/no, on/off (any case); anything else is a ConfigError at `section.key`. */
  boolean(section: string | undefined, key: string): boolean | undefined {
    const raw = section === undefined ? undefined : this.sections[section]?.[key];
    if (raw === undefined || raw === '') return undefined;
    if (typeof raw === 'boolean') return raw;
    const v = String(raw).trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new ConfigError(`expected a boolean (1/0, true/false), got ${JSON.stringify(raw)}`, this.file, `${section}.${key}`);
  }
}
