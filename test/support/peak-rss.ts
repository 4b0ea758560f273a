/**
 * A tool run from bin/ with its peak resident memory: a preloaded hook
 * writes the process's own getrusage maxrss (VmHWM: the commands it runs
 * are not counted) to a file when it exits.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess, type RunResult } from './cli';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin');

const HOOK = path.join(os.tmpdir(), `cfntools-peak-rss-${process.pid}.js`);

/** The preload, written once per test process. */
function hook(): string {
  const file = HOOK;
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, "process.on('exit', () => require('fs').writeFileSync(process.env.CFNTOOLS_TEST_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)));\n");
  }
  return file;
}

export interface MeasuredRun extends RunResult {
  /** Peak RSS in MiB; NaN when the tool did not exit by itself (killed). */
  peakMiB: number;
}

/** `bin/<tool> args` under `env`, killed after `timeoutMs`. */
export async function runMeasured(tool: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<MeasuredRun> {
  const out = path.join(os.tmpdir(), `cfntools-peak-rss-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    const r = await runProcess([process.execPath, '--require', hook(), path.join(BIN, tool), ...args], { env: { ...env, CFNTOOLS_TEST_PEAK_RSS_FILE: out }, timeoutMs });
    const kb = fs.existsSync(out) ? Number(fs.readFileSync(out, 'utf8')) : NaN;
    return { ...r, peakMiB: kb / 1024 };
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** Removes the preload (after the tests that measure). */
export function removePeakHook(): void {
  fs.rmSync(HOOK, { force: true });
}
