/** Run a tool from the bundle the way a user would, with a controlled environment. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Environment for tool runs: no proxies, no AWS keys, the metadata service
 * disabled unless the test points it at a loopback server.
 */
export function toolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true' };
  return { ...env, ...extra };
}

export function runTool(tool: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<RunResult> {
  return runProcess([process.execPath, BUNDLE, tool, ...args], { env: opts.env ?? toolEnv(), input: opts.input, cwd: opts.cwd });
}

/** Run any program, collecting its output; stdin gets `input` (or nothing); `timeoutMs`: SIGKILL after that long (the status is then null). */
export function runProcess(argv: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: opts.env ?? toolEnv(), cwd: opts.cwd, timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    // A program that exits without reading its input (EPIPE) is no failure of the run.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
