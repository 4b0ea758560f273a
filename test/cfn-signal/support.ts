/**
 * Helpers of the cfn-signal tests: the heat-wire cfn-signal scenarios (the
 * command line heat-cfntools ran, the request it sent, its exit code), a
 * recording wait-condition endpoint on loopback, and a runner.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool, toolEnv, type RunResult } from '../support/cli';
import { startServer, type Handler, type TestServer } from '../support/server';
import { shellWords } from '../support/shell-words';
import { HEAT_WIRE } from '../support/sigv-transcript';

/** The handle URL of every heat-wire cfn-signal transcript (Heat 19 signed it; heat-wire/README.md 2). */
export const WIRE_URL =
  'http://127.0.0.1:8000/v1/waitcondition/arn%3Aopenstack%3Aheat%3A%3Atenant0%3Astacks/teststack/f00dface-0000-4000-8000-000000000000/resources/WaitHandle' +
  '?SignatureMethod=HmacSHA256&SignatureVersion=2&AWSAccessKeyId=signalaccesskey00000000000000001&Timestamp=2026-11-24T14%3A36%3A10Z&Signature=sB9zS39JfNLqp8G7ZCzaLWfdKe3DPjWYlCic6nCE2d4%3D';
/** The signature in it, URL-encoded and decoded: neither may reach a log or an error. */
export const WIRE_SIGNATURE = 'sB9zS39JfNLqp8G7ZCzaLWfdKe3DPjWYlCic6nCE2d4';
/** The nova uuid of the transcripts' nova_meta.json (heat-wire/README.md 3). */
export const WIRE_UUID = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

/** `url` moved to `origin` (http://127.0.0.1:PORT), path and query unchanged. */
export function atOrigin(url: string, origin: string): string {
  const u = new URL(url);
  return origin + u.pathname + u.search;
}

export interface WireScenario {
  file: string;
  /** Arguments after `/usr/bin/cfn-signal`. */
  argv: string[];
  /** The request that reached the recording endpoint, if any. */
  request?: { method: string; target: string; headers: Record<string, string>; body: Buffer; responseStatus: number };
  exitCode: number;
}

const SCENARIO_SPLIT = /^#{70,}\n# SCENARIO [^\n]*\n# \$ ([^\n]*)\n#{70,}\n/gm;

/** The scenarios of one heat-wire cfn-signal transcript, in order. */
export function readScenarios(file: string): WireScenario[] {
  // latin1: string offsets are byte offsets, for the `body (N bytes)` counts.
  const text = fs.readFileSync(path.join(HEAT_WIRE, file)).toString('latin1');
  const heads = [...text.matchAll(SCENARIO_SPLIT)];
  return heads.map((m, i) => {
    const chunk = text.slice(m.index! + m[0].length, i + 1 < heads.length ? heads[i + 1]!.index : text.length);
    const words = shellWords(Buffer.from(m[1]!, 'latin1').toString('utf8'));
    if (words[0] !== '/usr/bin/cfn-signal') throw new Error(`${file}: not a cfn-signal scenario: ${m[1]}`);
    const exit = /--- \[command exit code\] (\d+)/.exec(chunk);
    if (!exit) throw new Error(`${file}: scenario without an exit code: ${m[1]}`);
    const scenario: WireScenario = { file, argv: words.slice(1), exitCode: Number(exit[1]) };
    const req = /--- request line\n(\S+) (\S+) HTTP\/1\.1\n--- headers \(as received\)\n([\s\S]*?)--- body \((\d+) bytes\)\n/.exec(chunk);
    if (req) {
      const start = req.index + req[0].length;
      const headers = Object.fromEntries(
        req[3]!.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const status = /--- response: (\d+)/.exec(chunk.slice(start));
      scenario.request = {
        method: req[1]!,
        target: req[2]!,
        headers,
        body: Buffer.from(chunk.slice(start, start + Number(req[4])), 'latin1'),
        responseStatus: Number(status?.[1] ?? 0),
      };
    }
    return scenario;
  });
}

export function cfnSignalScenarios(): WireScenario[] {
  return fs
    .readdirSync(HEAT_WIRE)
    .filter((f) => /^cfn-signal-.*\.txt$/.test(f))
    .sort()
    .flatMap(readScenarios);
}

/** What heat-api-cfn answers an accepted wait-condition PUT. */
export const answerAccepted: Handler = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/xml; charset=UTF-8' });
  res.end('<resource>WaitHandle</resource>');
};

/** An AWS-style error answer, as Heat's ec2token filter sends them. */
export function answerError(status: number, code: string, message: string, date?: string): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/xml', ...(date ? { Date: date } : {}) });
    res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`);
  };
}

/** A handler that plays `steps` in order (one per request), then `rest`. */
export function sequence(steps: Handler[], rest: Handler): Handler {
  let n = 0;
  return (req, res) => (steps[n++] ?? rest)(req, res);
}

/** Drop the connection without an answer. */
export const resetConnection: Handler = (_req, res) => {
  res.socket?.destroy();
};

export interface Sandbox {
  dir: string;
  log: string;
  /** Log file content ('' when not written). */
  readLog(): string;
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  run(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  remove(): void;
}

/** A temporary folder for the log and Heat's files; runs the tool with them. */
export function sandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-signal-'));
  const log = path.join(dir, 'cfn-signal.log');
  const env = (extra: NodeJS.ProcessEnv = {}) => toolEnv({ CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), ...extra });
  return {
    dir,
    log,
    readLog: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''),
    env,
    run: (args, extraEnv) => runTool('cfn-signal', ['--log-file', log, ...args], { env: env(extraEnv) }),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export async function withServer<T>(handler: Handler, fn: (s: TestServer) => Promise<T>): Promise<T> {
  const server = await startServer(handler);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}
