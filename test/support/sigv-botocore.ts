/**
 * Runs test/support/botocore_sign.py with Debian's python3-botocore: one
 * process, one JSON batch on stdin. /usr/bin/python3 explicitly: the python3
 * on PATH may be a pyenv without botocore.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { skipUnless } from './skip';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'botocore_sign.py');

export interface BotoCase {
  mode: 'v4' | 'v4-query' | 'v2';
  method: string;
  /** Without query string: parameters go in `params`. */
  url: string;
  params: [string, string][];
  headers: Record<string, string>;
  /** base64, or null for no body. */
  body: string | null;
  accessKey: string;
  secretKey: string;
  token: string | null;
  region: string;
  service: string;
  expires?: number;
}

export interface BotoResult {
  authorization?: string;
  amzDate?: string;
  token?: string | null;
  contentSha256?: string | null;
  canonical?: string;
  url?: string;
  signature?: string;
  canonicalQuery?: string;
}

/** Why botocore cannot be used, or undefined when it can. */
export function botocoreMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import botocore.auth'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} cannot run: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot import botocore (install python3-botocore): ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/** In CI a missing botocore fails the suite; elsewhere the tests are skipped. */
export function requireBotocore(ctx: Mocha.Context): void {
  skipUnless(ctx, 'botocore differential tests', botocoreMissing());
}

export function runBotocore(time: string, cases: BotoCase[]): { version: string; results: BotoResult[] } {
  const r = spawnSync(PYTHON, [SCRIPT], {
    input: JSON.stringify({ time, cases }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.error || r.status !== 0) {
    throw new Error(`${PYTHON} ${SCRIPT} failed (status ${r.status}): ${r.error?.message ?? r.stderr}`);
  }
  const out = JSON.parse(r.stdout) as { botocore: string; results: BotoResult[] };
  if (out.results.length !== cases.length) throw new Error(`botocore answered ${out.results.length} of ${cases.length} cases`);
  return { version: out.botocore, results: out.results };
}
