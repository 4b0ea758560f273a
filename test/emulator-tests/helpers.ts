/**
 * Shared by the emulator tests: a plain node http client (no retries, no
 * signing of its own), a signed-request helper built on the emulator's
 * signing module, and a reader for heat-wire request records.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { canonicalQs, signV2Params, signV4Headers } from '../emulator/signing';

/** Sorted, RFC 3986 encoded `k=v&...`, as boto2 builds queries and form bodies. */
export const encodeForm = canonicalQs;

/** Repository root, from dist/test/emulator-tests/. */
export const REPO = path.resolve(__dirname, '..', '..', '..');
export const HEAT_WIRE = path.resolve(REPO, 'test', 'fixtures', 'heat-wire');

export interface Answer {
  status: number;
  reason: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Request target sent as is (URL parsing would normalise `..`). */
  rawTarget?: string;
}

/** One request on a fresh connection; rejects on socket errors (reset, truncation). */
export function send(url: string, opts: SendOptions = {}): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: u.port, path: opts.rawTarget ?? `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export interface Keys {
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
}

/** A SigV4 (header) GET of the Query API, as boto2 sends it. */
export function signedGet(baseUrl: string, params: Record<string, string>, keys: Keys, time = Date.now()): Promise<Answer> {
  const url = `${baseUrl}?${encodeForm(params)}`;
  const headers = signV4Headers({ ...keys, method: 'GET', url, region: '0', service: '127', time });
  return send(url, { headers });
}

/** A SigV2 POST with a form body, as botocore's SigV2Auth sends it. */
export function signedPostV2(baseUrl: string, params: Record<string, string>, keys: Keys, time = Date.now()): Promise<Answer> {
  const signed = signV2Params({ ...keys, method: 'POST', url: baseUrl, params, time });
  return send(baseUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: encodeForm(signed) });
}

export interface WireRequest {
  method: string;
  /** Raw request target (path and query). */
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** The `#<n>` line's UTC time. */
  time: string;
}

/** Request records of a heat-wire transcript (format: heat-wire/README.md section 5). */
export function wireRequests(file: string): WireRequest[] {
  // latin1: one char per byte, so `body (N bytes)` counts are string offsets.
  const text = fs.readFileSync(path.join(HEAT_WIRE, file)).toString('latin1');
  const out: WireRequest[] = [];
  const re = /^={70,}\n#\d+ +(\S+) [^\n]*\n--- request line\n(\S+) (\S+) [^\n]*\n--- headers \(as received\)\n([\s\S]*?)--- body \((\d+) bytes\)\n/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, time, method, target, headerBlock, size] = m;
    const start = m.index + m[0].length;
    const headers = headerBlock
      .split('\n')
      .filter(Boolean)
      .map((line): [string, string] => {
        const i = line.indexOf(':');
        return [line.slice(0, i), line.slice(i + 1).trim()];
      });
    out.push({ method, target, headers, body: Buffer.from(text.slice(start, start + Number(size)), 'latin1'), time });
  }
  if (!out.length) throw new Error(`${file}: no request records found`);
  return out;
}

export function header(req: WireRequest, name: string): string | undefined {
  return req.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

const EMULATOR_MAIN = path.join(REPO, 'dist', 'test', 'emulator', 'main.js');

/**
 * `npm run emulator -- args` started; its base URL, from the first line it
 * prints, and `waitFor(re)`, which resolves with all it printed once that
 * matches. Stop it with `child.kill()`.
 */
export async function startEmulatorCli(args: string[]): Promise<{ child: ChildProcess; base: string; waitFor(re: RegExp): Promise<string> }> {
  const child = spawn(process.execPath, [EMULATOR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiting: Array<{ re: RegExp; resolve: (text: string) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiting.filter((x) => x.re.test(out))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(out);
    }
  });
  const waitFor = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      if (re.test(out)) return resolve(out);
      waiting.push({ re, resolve });
      child.once('exit', (code) => reject(new Error(`emulator exited ${code}; it printed: ${out}`)));
    });
  const first = (await waitFor(/\n/)).split('\n')[0];
  const base = /^emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first)?.[1];
  if (!base) {
    child.kill();
    throw new Error(`unexpected first line: ${first}`);
  }
  return { child, base, waitFor };
}

/** The emulator CLI run to its end with arguments it should refuse: exit code and stderr. */
export async function failingEmulatorCli(args: string[]): Promise<{ code: number | null; err: string }> {
  const failed = spawn(process.execPath, [EMULATOR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  failed.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => failed.on('exit', resolve));
  return { code, err };
}
