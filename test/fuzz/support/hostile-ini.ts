/**
 * Hostile INI files (cfn-hup.conf, hooks.conf, hooks.d files,
 * os-collect-config.conf): seeded mutations of a valid one, by section and
 * key (values past every range, hostile names, keys the file knows in the
 * wrong place, unknown and repeated keys and sections) and on the text
 * (continuation lines, interpolation, line endings, a BOM, NUL bytes,
 * invalid UTF-8, very long lines, a missing final newline).
 */
import type { Rng } from '../../support/sigv-random';
import { HOSTILE_NAMES, pick, withBadUtf8 } from './hostile-json';

export interface IniSection {
  name: string;
  entries: Array<[string, string]>;
}

/** Values any key may be given: numbers and durations past their ranges, and hostile names. */
const HOSTILE_VALUES: readonly string[] = [
  '0',
  '-1',
  '1',
  '2147484',
  '2147483648',
  '3000000',
  '1e309',
  'NaN',
  '0x10',
  '9'.repeat(400),
  '1s',
  '0s',
  '30s',
  '-5m',
  '1.5',
  'true',
  'yes',
  'None',
  '%(here)s',
  '%%',
  ...HOSTILE_NAMES,
];

/** Render the sections; `[DEFAULT]`-less files start with their first section. */
export function renderIni(sections: readonly IniSection[]): string {
  return sections.map((s) => `[${s.name}]\n${s.entries.map(([k, v]) => `${k}=${v}\n`).join('')}`).join('\n');
}

/**
 * 1 to 3 mutations of `sections` in place. `keys` are the keys the file
 * knows (put in the wrong section, repeated, given hostile values);
 * `values` maps a key to values that mean something for it (paths that are
 * not files, users that are options) tried besides the hostile ones; the
 * `only` keys take none but those (an action must be a harmless command:
 * it runs as root).
 */
export function mutateIni(sections: IniSection[], r: Rng, keys: readonly string[], values: Readonly<Record<string, readonly string[]>> = {}, only: readonly string[] = []): string[] {
  const done: string[] = [];
  // Keys are hostile too (`__proto__`): only the map's own ones have values of their own.
  const own = (k: string) => (Object.hasOwn(values, k) ? values[k] : undefined);
  const valueFor = (k: string) => (own(k) && (only.includes(k) || r.chance(0.6)) ? pick(r, own(k)!) : only.includes(k) ? 'true' : pick(r, HOSTILE_VALUES));
  for (let n = 1 + r.int(3); n > 0; n--) {
    const s = sections.length ? pick(r, sections) : undefined;
    const e = s?.entries.length ? r.int(s.entries.length) : undefined;
    switch (r.int(8)) {
      case 0:
      case 1:
      case 2:
        if (!s || e === undefined) break;
        s.entries[e] = [s.entries[e][0], valueFor(s.entries[e][0])];
        done.push(`[${s.name}] ${s.entries[e][0]} = ${JSON.stringify(s.entries[e][1].slice(0, 40))}`);
        break;
      case 3:
        if (!s || e === undefined) break;
        done.push(`[${s.name}] ${s.entries[e][0]} deleted`);
        s.entries.splice(e, 1);
        break;
      case 4: {
        if (!s) break;
        const k = r.chance(0.7) ? pick(r, keys) : pick(r, HOSTILE_NAMES).replace(/[=:\n\r[\]]/g, '_');
        const v = valueFor(k);
        s.entries.push([k, v]);
        done.push(`[${s.name}] ${JSON.stringify(k.slice(0, 40))} added = ${JSON.stringify(v.slice(0, 40))}`);
        break;
      }
      case 5: {
        const name = pick(r, ['DEFAULT', 'main', '__proto__', 'constructor', '', ' ', 'a]b', ...sections.map((x) => x.name)]);
        sections.push({ name, entries: [[pick(r, keys), valueFor(pick(r, keys))]] });
        done.push(`section [${JSON.stringify(name)}] added`);
        break;
      }
      case 6:
        if (!s) break;
        done.push(`section [${s.name}] renamed`);
        s.name = pick(r, ['DEFAULT', '__proto__', '', 'main', 'x'.repeat(300), 'hook with spaces']);
        break;
      default:
        if (!s || e === undefined) break;
        s.entries.push([s.entries[e][0], valueFor(s.entries[e][0])]);
        done.push(`[${s.name}] ${s.entries[e][0]} repeated`);
    }
  }
  return done;
}

/** A text-level mutation of a rendered file, now and then; returns the bytes and what was done (if anything). */
export function mutateIniText(text: string, r: Rng): { bytes: Buffer; done?: string } {
  if (!r.chance(0.35)) return { bytes: Buffer.from(text) };
  const lines = text.split('\n');
  const at = r.int(lines.length);
  switch (r.int(9)) {
    case 0:
      return { bytes: Buffer.from(text.replace(/\n/g, '\r\n')), done: 'CRLF line endings' };
    case 1:
      return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), done: 'a BOM' };
    case 2:
      lines.splice(at, 0, '    continued value');
      return { bytes: Buffer.from(lines.join('\n')), done: `a continuation line at ${at}` };
    case 3:
      lines.splice(at, 0, 'a line without an equals sign');
      return { bytes: Buffer.from(lines.join('\n')), done: `a line without = at ${at}` };
    case 4:
      lines[at] = `${lines[at]}\0\0`;
      return { bytes: Buffer.from(lines.join('\n')), done: `NUL bytes at line ${at}` };
    case 5:
      lines[at] = `${lines[at]}\uE000`;
      return { bytes: withBadUtf8(lines.join('\n')), done: `invalid UTF-8 at line ${at}` };
    case 6:
      lines.splice(at, 0, `long=${'L'.repeat(pick(r, [100_000, 2_000_000]))}`);
      return { bytes: Buffer.from(lines.join('\n')), done: `a very long line at ${at}` };
    case 7:
      return { bytes: Buffer.from(text.replace(/\n+$/, '')), done: 'no final newline' };
    default:
      return { bytes: Buffer.from(text.replace(/=/g, ' : ')), done: '" : " for "="' };
  }
}
