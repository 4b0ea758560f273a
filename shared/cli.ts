/**
 * The CLI layer: runs a tool, turns any error into one readable line on
 * stderr and an exit code. Tools throw typed errors (shared/errors.ts) and
 * never call process.exit themselves.
 */
import { CfnError } from './errors';
import { redact } from './redact';

/** A tool's entry point: parses its own argv and returns the exit code. */
export type ToolMain = (argv: string[]) => Promise<number>;

export function describeError(tool: string, err: unknown): { line: string; exitCode: number } {
  if (err instanceof CfnError) return { line: `${tool}: ${redact(err.message)}`, exitCode: err.exitCode };
  const msg = err instanceof Error ? err.message : String(err);
  return { line: `${tool}: unexpected error: ${redact(msg)}`, exitCode: 1 };
}

export async function runCli(tool: string, main: ToolMain, argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    const { line, exitCode } = describeError(tool, err);
    process.stderr.write(line + '\n');
    if (process.env.CFNTOOLS_DEBUG && err instanceof Error && err.stack) process.stderr.write(redact(err.stack) + '\n');
    process.exitCode = exitCode;
  }
}
