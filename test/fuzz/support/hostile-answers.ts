/**
 * Hostile HTTP answers: seeded rewrites of a real answer (from the endpoint
 * emulator or the fake metadata service) into what a broken, hostile or
 * overloaded server could send: another status (redirects only ever to
 * loopback), Retry-After and Date past every range, lying or conflicting
 * framing, odd encodings, headers by the thousand, a body mutated as JSON
 * or XML or text, truncated, huge, deep or wide, malformed HTTP, a reset,
 * silence, a drip. Each rewrite comes with a label for the failure message
 * and a `heavy` mark for those whose whole point is size (their runs have
 * their own RSS ceiling).
 */
import { gzipSync } from 'node:zlib';
import type { Rng } from '../../support/sigv-random';
import { framed, type Delivery, type RawAnswer } from './answer-proxy';
import { HOSTILE_NAMES, mutateJson, pick, serialise, withBadUtf8, type Json } from './hostile-json';

export interface HostileAnswer {
  delivery: Delivery;
  label: string;
  /** Sized to cost memory (megabytes of body): judged against the heavy ceiling. */
  heavy: boolean;
}

const STATUSES = [200, 201, 202, 204, 206, 300, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 409, 410, 413, 418, 429, 500, 501, 502, 503, 504, 599];
const RETRY_AFTER = ['0', '-1', '1', '2.5', '1e309', '99999999999999999999', 'soon', '', 'Wed, 21 Oct 2065 07:28:00 GMT', 'Thu, 01 Jan 1970 00:00:00 GMT'];
const DATES = ['garbage', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT', 'Sat, 01 Jan 2000 00:00:00 GMT', '', '0'];
const CONTENT_TYPES = ['application/json', 'application/xml; charset=UTF-8', 'text/html', 'text/plain; charset=latin1', 'application/octet-stream', 'application/json; charset=utf-16', '', 'multipart/mixed; boundary=x'];

function withHeaders(a: RawAnswer, set: Record<string, string | undefined>): Array<[string, string]> {
  const lower = Object.keys(set).map((k) => k.toLowerCase());
  const kept = a.headers.filter(([k]) => !lower.includes(k.toLowerCase()));
  return [...kept, ...Object.entries(set).filter((e): e is [string, string] => e[1] !== undefined)];
}

const answer = (a: RawAnswer): Delivery => ({ kind: 'answer', answer: a });

let bomb: Buffer | undefined;
/** 200 MiB of zeros, gzipped once (200 KiB): a client that inflated answers would hold them all. */
function gzipBomb(): Buffer {
  return (bomb ??= gzipSync(Buffer.alloc(200 * 1024 * 1024)));
}

/** A redirect target: only ever 127.0.0.1 (the proxy itself, a closed port) or schemes a client must refuse. */
function location(r: Rng, self: string, path: string): string {
  return pick(r, [path, `${self}${path}`, `${self}/elsewhere`, 'http://127.0.0.1:1/', 'file:///etc/passwd', 'ftp://127.0.0.1/x', '//127.0.0.1:1/x', '', 'http://[::1', `${self}${path}?${'x'.repeat(9000)}`]);
}

/** XML mutations, on the text: deeper, entities, elements dropped or doubled, hostile text, many siblings, broken. */
function mutateXml(text: string, r: Rng): { text: string; label: string; heavy: boolean } {
  const names = [...new Set([...text.matchAll(/<([A-Za-z][\w.:-]*)[\s>]/g)].map((m) => m[1]))];
  const name = names.length ? pick(r, names) : 'x';
  const open = text.indexOf(`<${name}>`);
  const close = text.indexOf(`</${name}>`, open);
  const element = open >= 0 && close > open ? text.slice(open, close + name.length + 3) : '';
  const inside = (s: string) => (open >= 0 ? text.slice(0, open + name.length + 2) + s + text.slice(open + name.length + 2) : s + text);
  switch (r.int(10)) {
    case 0: {
      const n = pick(r, [65, 3000, 100_000]);
      return { text: inside(`${'<d>'.repeat(n)}1${'</d>'.repeat(n)}`), label: `XML nested ${n} deep in <${name}>`, heavy: false };
    }
    case 1: {
      const ents = Array.from({ length: 9 }, (_, i) => `<!ENTITY e${i + 1} "${`&e${i};`.repeat(10)}">`).join('');
      return { text: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "lol">${ents}]>${inside('&e9;')}`, label: 'XML entity expansion (billion laughs)', heavy: false };
    }
    case 2:
      return { text: `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${inside('&x;')}`, label: 'XML external entity', heavy: false };
    case 3:
      return { text: element ? text.replace(element, '') : text, label: `XML without <${name}>`, heavy: false };
    case 4:
      return { text: element ? text.replace(element, element.repeat(pick(r, [2, 1000]))) : text, label: `XML <${name}> repeated`, heavy: false };
    case 5: {
      const t = pick(r, ['&#0;', '&#xD800;', '\u0000\u001b', '<![CDATA[ ]]> ]]>', '&unknown;', '&amp', 'x'.repeat(3_000_000), ...HOSTILE_NAMES.map((h) => h.replace(/[<&]/g, ''))]);
      return { text: element ? text.replace(element, `<${name}>${t}</${name}>`) : t, label: `XML <${name}> text hostile (${t.length} chars)`, heavy: t.length > 1_000_000 };
    }
    case 6: {
      const n = pick(r, [10_000, 400_000]);
      return { text: inside('<x a="1"/>'.repeat(n)), label: `XML ${n} sibling elements in <${name}>`, heavy: n > 100_000 };
    }
    case 7:
      return { text: text.replace(/^<\?xml[^>]*\?>/, '') .replace(/^/, '<?xml version="1.0" encoding="UTF-16"?>'), label: 'XML declares UTF-16', heavy: false };
    case 8:
      return { text: inside(`<${name} ${'a="1" '.repeat(pick(r, [1, 5000]))}xmlns:${name}="urn:x">`), label: `XML unclosed <${name}> with attributes`, heavy: false };
    default:
      return { text: text.slice(0, r.int(text.length + 1)), label: 'XML cut short', heavy: false };
  }
}

/** The body mutated by its kind (JSON, XML, or text). */
function mutateBody(body: Buffer, r: Rng): { body: Buffer; label: string; heavy: boolean } {
  const text = body.toString('utf8');
  let json: Json | undefined;
  try {
    json = text.trim() ? (JSON.parse(text) as Json) : undefined;
  } catch {
    json = undefined;
  }
  if (json !== undefined && json !== null && typeof json === 'object') {
    const done = mutateJson(json, r);
    const out = serialise(json);
    return { body: out, label: `JSON: ${done.join(', ')}`, heavy: out.length > 1_000_000 };
  }
  if (/^\s*</.test(text)) {
    const m = mutateXml(text, r);
    return { body: withBadUtf8(m.text), label: m.label, heavy: m.heavy };
  }
  const t = pick(r, [...HOSTILE_NAMES, '{"a":', 'null', '[]', '{}', '"just a string"', `${text}\n${text}`, 'x'.repeat(5_000_000)]);
  return { body: withBadUtf8(t), label: `text body ${JSON.stringify(t.slice(0, 40))}${t.length > 40 ? `... (${t.length} chars)` : ''}`, heavy: t.length > 1_000_000 };
}

/**
 * A hostile version of `real`, the answer to `path` through the proxy at `self`.
 */
export function hostileAnswer(real: RawAnswer, path: string, self: string, r: Rng): HostileAnswer {
  const light = (delivery: Delivery, label: string): HostileAnswer => ({ delivery, label, heavy: false });
  switch (r.int(16)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const m = mutateBody(real.body, r);
      return { delivery: answer(framed(real.status, real.headers, m.body)), label: m.label, heavy: m.heavy };
    }
    case 4: {
      const status = pick(r, STATUSES);
      const extra: Record<string, string | undefined> = {};
      if (status >= 300 && status < 400) extra.Location = location(r, self, path);
      if (status === 429 || status === 503 || r.chance(0.2)) extra['Retry-After'] = pick(r, RETRY_AFTER);
      const body = r.chance(0.5) ? real.body : mutateBody(real.body, r).body;
      return light(answer(framed(status, withHeaders(real, extra), body)), `status ${status}${Object.entries(extra).map(([k, v]) => `, ${k}: ${JSON.stringify(v?.slice(0, 40))}`).join('')}`);
    }
    case 5: {
      const status = pick(r, [301, 302, 307, 308]);
      // The same URL again and again: a loop the client must break.
      return light(answer(framed(status, withHeaders(real, { Location: `${self}${path}` }), Buffer.alloc(0))), `redirect ${status} to itself`);
    }
    case 6: {
      const d = pick(r, DATES);
      return light(answer(framed(real.status, withHeaders(real, { Date: d }), real.body)), `Date: ${JSON.stringify(d)}`);
    }
    case 7: {
      const t = pick(r, CONTENT_TYPES);
      return light(answer(framed(real.status, withHeaders(real, { 'Content-Type': t || undefined }), real.body)), `Content-Type ${JSON.stringify(t)}`);
    }
    case 8: {
      const headers = real.headers.filter(([k]) => !/^(content-length|transfer-encoding|connection)$/i.test(k));
      const variants: Array<[string, Array<[string, string]>, Buffer]> = [
        ['Content-Length larger than the body', [['Content-Length', String(real.body.length + 1000)]], real.body],
        ['Content-Length smaller than the body', [['Content-Length', String(Math.floor(real.body.length / 2))]], real.body],
        ['two different Content-Lengths', [['Content-Length', String(real.body.length)], ['Content-Length', '3']], real.body],
        ['Content-Length -1', [['Content-Length', '-1']], real.body],
        ['Content-Length 10^20', [['Content-Length', '100000000000000000000']], real.body],
        ['chunked with a bad chunk size', [['Transfer-Encoding', 'chunked']], Buffer.from(`zz\r\n${real.body.toString('latin1')}\r\n0\r\n\r\n`, 'latin1')],
        ['chunked, never ended', [['Transfer-Encoding', 'chunked']], Buffer.from(`${real.body.length.toString(16)}\r\n${real.body.toString('latin1')}\r\n`, 'latin1')],
        ['chunked and Content-Length', [['Transfer-Encoding', 'chunked'], ['Content-Length', '5']], Buffer.from(`${real.body.length.toString(16)}\r\n${real.body.toString('latin1')}\r\n0\r\n\r\n`, 'latin1')],
      ];
      const [label, framing, body] = pick(r, variants);
      return light(answer({ status: real.status, headers: [...headers, ...framing, ['Connection', 'close']], body }), label);
    }
    case 9: {
      const kind = r.int(3);
      if (kind === 0) return light(answer(framed(real.status, withHeaders(real, { 'Content-Encoding': 'gzip' }), gzipSync(real.body))), 'gzip-encoded');
      if (kind === 1) return { delivery: answer(framed(real.status, withHeaders(real, { 'Content-Encoding': 'gzip' }), gzipBomb())), label: 'gzip bomb (200 MiB of zeros)', heavy: true };
      return light(answer(framed(real.status, withHeaders(real, { 'Content-Encoding': pick(r, ['br', 'deflate', 'x-unknown']) }), real.body)), 'an encoding it does not have');
    }
    case 10: {
      const n = pick(r, [50, 2000]);
      const many: Array<[string, string]> = Array.from({ length: n }, (_, i) => [`X-Fuzz-${i}`, 'v'.repeat(20)]);
      const big: Array<[string, string]> = r.chance(0.5) ? [['X-Big', 'b'.repeat(pick(r, [8000, 100_000]))]] : [];
      return light(answer(framed(real.status, [...real.headers, ...many, ...big], real.body)), `${n} headers${big.length ? ' and a big one' : ''}`);
    }
    case 11: {
      const size = pick(r, [5, 20, 70]) * 1024 * 1024;
      const json = r.chance(0.5);
      const body = json ? Buffer.from(`[${'0,'.repeat(size / 2 - 1)}0]`) : Buffer.alloc(size, 0x61);
      return { delivery: answer(framed(real.status, real.headers, body)), label: `${size / 1024 / 1024} MiB ${json ? 'JSON list of zeros' : 'of "a"'}`, heavy: true };
    }
    case 12: {
      const variants: Array<[string, Buffer]> = [
        ['no status line', Buffer.from('HELLO\r\n\r\n')],
        ['a body without headers (HTTP/0.9)', real.body],
        ['headers never ended', Buffer.from(`HTTP/1.1 ${real.status} OK\r\nContent-Type: text/plain\r\n`)],
        ['status 0', Buffer.from('HTTP/1.1 0 Zero\r\nContent-Length: 0\r\n\r\n')],
        ['status 99999', Buffer.from('HTTP/1.1 99999 Big\r\nContent-Length: 0\r\n\r\n')],
        ['100 Continue, then nothing', Buffer.from('HTTP/1.1 100 Continue\r\n\r\n')],
        ['a header line without a colon', Buffer.from(`HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: ${real.body.length}\r\n\r\n${real.body.toString('latin1')}`, 'latin1')],
        ['HTTP/2.0 status line', Buffer.from(`HTTP/2.0 200 OK\r\nContent-Length: ${real.body.length}\r\n\r\n${real.body.toString('latin1')}`, 'latin1')],
      ];
      const [label, bytes] = pick(r, variants);
      return light({ kind: 'bytes', bytes }, label);
    }
    case 13:
      return light({ kind: 'reset' }, 'connection reset');
    case 14:
      return light({ kind: 'hang' }, 'no answer');
    default: {
      const head = `HTTP/1.1 ${real.status} OK\r\nContent-Length: ${real.body.length + 100}\r\n\r\n`;
      return light({ kind: 'drip', bytes: Buffer.concat([Buffer.from(head), real.body, Buffer.alloc(100, 0x20)]), everyMs: 150 }, 'a byte every 150 ms');
    }
  }
}
