/**
 * Python's str semantics where the peers' behaviour depends on them:
 * `str()` of a value JSON gave it (what heat-config makes of a
 * `String`-typed deployment input that is not a string: `True`, `None`,
 * `{'a': 1}`; JSON cannot tell 1.0 from 1, so an integral number prints as
 * Python's int would), and the order `sorted()` gives strings.
 */
import { buildText, type TextSink } from './text-sink';

/** Python 3's `str.isprintable()`, false for these categories (space excepted). */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

/** What repr() writes other than as it is: the quotes, the backslash, control characters and everything past ASCII. */
const SPECIAL = /['"\\\x00-\x1f\x7f-\u{10ffff}]/gu;

/** `repr(s)`: single quotes unless the text holds one and no double quote. */
function stringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s.replace(SPECIAL, (ch) => {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') return `\\${ch}`;
    if (ch === '\t') return '\\t';
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (code < 0x20 || code === 0x7f) return `\\x${hex(code, 2)}`;
    if (code < 0x7f || !NOT_PRINTABLE.test(ch)) return ch;
    if (code <= 0xff) return `\\x${hex(code, 2)}`;
    if (code <= 0xffff) return `\\u${hex(code, 4)}`;
    return `\\U${hex(code, 8)}`;
  });
  return quote + escaped + quote;
}

/** `repr(float)` switches to an exponent below 1e-4 and from 1e16; JavaScript at 1e-7 and 1e21. */
function numberStr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  const [mantissa, exp] = n.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(n);
}

function repr(v: unknown, out: TextSink): void {
  if (v === null || v === undefined) return out.add('None');
  if (typeof v === 'string') return out.add(stringRepr(v));
  if (typeof v === 'boolean') return out.add(v ? 'True' : 'False');
  if (typeof v === 'number') return out.add(numberStr(v));
  if (Array.isArray(v)) {
    out.add('[');
    v.forEach((x, i) => {
      if (i) out.add(', ');
      repr(x, out);
    });
    return out.add(']');
  }
  if (typeof v === 'object') {
    out.add('{');
    Object.entries(v as Record<string, unknown>).forEach(([k, x], i) => {
      out.add(`${i ? ', ' : ''}${stringRepr(k)}: `);
      repr(x, out);
    });
    return out.add('}');
  }
  throw new TypeError(`not a JSON value: ${typeof v}`);
}

/** `str(v)`: a string as it is, anything else as Python prints it (built in chunks, text-sink.ts). */
export function pythonStr(v: unknown): string {
  return typeof v === 'string' ? v : buildText((out) => repr(v, out))!;
}

/** Python's sorted() on str: by code point (JS sort compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
