/**
 * RPM version ordering (rpmvercmp of rpm 4.18, with `~` and `^`), used to pick
 * the highest entry of a yum/dnf version list like aws-cfn-bootstrap does, and
 * to choose between `install` and `downgrade`.
 */

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isAlnum = (c: string): boolean => isDigit(c) || isAlpha(c);

/** -1, 0 or 1, as rpmvercmp: `1.10 > 1.9`, `1.0~rc1 < 1.0`, `1.0^git1 > 1.0`. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): string => (k < s.length ? s[k] : '');
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    const ca = at(a, i);
    const cb = at(b, j);
    // `~` sorts before everything, even the end of the string.
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // `^` sorts after the end of the string but before anything else.
    if (ca === '^' || cb === '^') {
      if (ca === '') return -1;
      if (cb === '') return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '' || cb === '') break;
    const numeric = isDigit(ca);
    const same = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && same(a[ei])) ei++;
    while (ej < b.length && same(b[ej])) ej++;
    // A numeric segment is newer than an alphabetic one.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export interface Evr {
  epoch: number;
  version: string;
  release?: string;
}

/** `[epoch:]version[-release]`; the release is what follows the last `-`. */
export function parseEvr(s: string): Evr {
  const m = /^(\d+):(.*)$/.exec(s);
  const epoch = m ? Number(m[1]) : 0;
  const rest = m ? m[2] : s;
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest };
}

/** Compares epoch, version, then release when both sides have one (rpm's rule for partial specs). */
export function compareEvr(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0 || x.release === undefined || y.release === undefined) return v;
  return rpmvercmp(x.release, y.release);
}

/** The highest of `versions` by `compare`; undefined for an empty list. */
export function highest(versions: readonly string[], compare: (a: string, b: string) => number = compareEvr): string | undefined {
  return versions.reduce<string | undefined>((best, v) => (best === undefined || compare(v, best) > 0 ? v : best), undefined);
}
