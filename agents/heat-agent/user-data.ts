/**
 * A part of the user data Heat builds for a server (a multipart/mixed MIME
 * message: cloud-config, the boothook, the part handler, the template's
 * parts, then `cfn-init-data`, the server's metadata at boot), by the file
 * name of its Content-Disposition. Enough of MIME for Python's email
 * package's output: headers with folded lines, a quoted or bare boundary,
 * 7bit/8bit/binary, base64 and quoted-printable bodies, nested multiparts.
 * Pure.
 */

const MAX_DEPTH = 3;

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Headers until the first empty line, folded lines joined; names in lower case. */
function splitHeaders(text: string): Part {
  const lines = text.split(/\r?\n/);
  const headers = new Map<string, string>();
  let last: string | undefined;
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') {
      i++;
      break;
    }
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) break;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return { headers, body: lines.slice(i).join('\n') };
}

/** A parameter of a structured header (`boundary`, `filename`), quoted or not. */
export function headerParam(value: string | undefined, name: string): string | undefined {
  if (!value) return undefined;
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(value);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return part.body;
}

/** The parts between the boundary lines; the line break before a boundary belongs to it. */
function subparts(body: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`;
  const out: Part[] = [];
  const chunks = body.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of chunks) {
    if (line === delimiter || line === `${delimiter}--` || line.startsWith(`${delimiter} `) || line.startsWith(`${delimiter}\t`)) {
      if (current) out.push(splitHeaders(current.join('\n')));
      if (line.startsWith(`${delimiter}--`)) return out;
      current = [];
      continue;
    }
    current?.push(line);
  }
  // No closing delimiter: what came after the last one is still a part.
  if (current) out.push(splitHeaders(current.join('\n')));
  return out;
}

function find(part: Part, filename: string, depth: number): string | undefined {
  const type = part.headers.get('content-type') ?? '';
  if (/^\s*multipart\//i.test(type)) {
    const boundary = headerParam(type, 'boundary');
    if (!boundary || depth >= MAX_DEPTH) return undefined;
    for (const p of subparts(part.body, boundary)) {
      const found = find(p, filename, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const name = headerParam(part.headers.get('content-disposition'), 'filename') ?? headerParam(type, 'name');
  return name === filename ? decodeBody(part) : undefined;
}

/** The content of the part named `filename`, or undefined when the user data is no MIME message or has no such part. */
export function userDataPart(userData: string, filename: string): string | undefined {
  const top = splitHeaders(userData);
  if (!top.headers.has('content-type')) return undefined;
  return find(top, filename, 0);
}
