/**
 * Runs inside a private network namespace (only `lo`) made by
 * differential.test.ts: starts a recording wait-condition endpoint on
 * 127.0.0.1, runs each command of the plan (the real heat-cfntools
 * cfn-signal, or ours) with the word URL replaced by a handle URL on that
 * endpoint, and prints what each sent as JSON on stdout.
 *
 *   node hct-driver.js PLAN.json
 *
 * Not a test file: mocha runs only *.test.js.
 */
import { runProcess } from '../support/cli';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DriverCase {
  name: string;
  /** argv; the word `URL` becomes the handle URL. */
  command: string[];
  env: Record<string, string>;
}

export interface DriverPlan {
  /** Path and query of the handle URL (the origin is the driver's endpoint). */
  pathAndQuery: string;
  cases: DriverCase[];
}

export interface DriverRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBase64: string;
}

export interface DriverResult {
  name: string;
  status: number | null;
  stdout: string;
  stderr: string;
  requests: DriverRequest[];
}

function run(command: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runProcess(command, { env });
}

async function main(): Promise<void> {
  const plan = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as DriverPlan;
  let recorded: DriverRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBase64: Buffer.concat(chunks).toString('base64') });
      res.writeHead(200, { 'Content-Type': 'application/xml; charset=UTF-8' });
      res.end('<resource>WaitHandle</resource>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const results: DriverResult[] = [];
  for (const c of plan.cases) {
    recorded = [];
    const r = await run(
      c.command.map((w) => (w === 'URL' ? origin + plan.pathAndQuery : w)),
      c.env,
    );
    results.push({ name: c.name, ...r, requests: recorded });
  }
  server.close();
  process.stdout.write(JSON.stringify(results));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`hct-driver: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
