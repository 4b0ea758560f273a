/**
 * Reads the request records of the heat-wire and cfn-bootstrap-wire
 * transcripts (test/fixtures/*-wire, format in heat-wire's README section 5).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const HEAT_WIRE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'heat-wire');

export interface WireRecord {
  file: string;
  /** `#<n>` of the record. */
  id: string;
  /** Who received it, as the record's first line says: `port 8000`, `127.0.0.1:443 (TLS)`, `169.254.169.254:80 (IMDS, plain HTTP)`. */
  listener: string;
  method: string;
  /** Raw request target: path and query as received. */
  target: string;
  headers: [string, string][];
  body: Buffer;
  /** `--- SigV4 canonical request (keystone algorithm)` section, when present. */
  canonical?: string;
}

export function header(rec: WireRecord, name: string): string | undefined {
  return rec.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

export const CFN_BOOTSTRAP_WIRE = path.resolve(HEAT_WIRE, '..', 'cfn-bootstrap-wire');

const RECORD_START = /^={70,}\n(#\d+) +\S+ +(.*?) +scenario [^\n]*\n/gm;
/** A record printed as one line naming an earlier identical one, or an event of the connection (cfn-bootstrap-wire README section 11). */
const REPEAT = /^--- (?:\S+ \S+ HTTP\/1\.1: request (?:and response )?byte-identical to #\d+|event: )/;

/** Every request record of a transcript, in order, but those printed as one line (repeats, connection events). */
export function readRecords(file: string, dir = HEAT_WIRE): WireRecord[] {
  const buf = fs.readFileSync(path.join(dir, file));
  const text = buf.toString('latin1'); // byte offsets == string offsets, for the `body (N bytes)` counts
  const starts = [...text.matchAll(RECORD_START)];
  return starts.flatMap((m, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index : text.length;
    const chunk = text.slice(m.index, end);
    if (REPEAT.test(chunk.slice(m[0].length))) return [];
    const requestLine = /--- request line\n([^\n]*)\n/.exec(chunk)?.[1];
    const headerBlock = /--- headers \(as received\)\n([\s\S]*?)--- body \((\d+) bytes\)\n/.exec(chunk);
    if (!requestLine || !headerBlock) throw new Error(`${file} ${m[1]}: unreadable record`);
    const [method, target] = requestLine.split(' ');
    const headers = headerBlock[1]
      .split('\n')
      .filter(Boolean)
      .map((l): [string, string] => {
        const colon = l.indexOf(':');
        return [l.slice(0, colon), l.slice(colon + 1).trim()];
      });
    const bodyStart = (headerBlock.index ?? 0) + headerBlock[0].length;
    const body = Buffer.from(chunk.slice(bodyStart, bodyStart + Number(headerBlock[2])), 'latin1');
    const canonical = /--- SigV4 canonical request \(keystone algorithm\)\n([\s\S]*?)\n--- keystone-style/.exec(chunk)?.[1];
    return { file, id: m[1], listener: m[2], method, target, headers, body, canonical: canonical && Buffer.from(canonical, 'latin1').toString('utf8') };
  });
}

/** The transcripts (file names) of heat-wire. */
export function transcripts(): string[] {
  return fs.readdirSync(HEAT_WIRE).filter((f) => f.endsWith('.txt')).sort();
}
