/**
 * Running programs for the handlers (the commands key and the machine tools
 * that packages/groups/users/services run): a non-zero exit becomes a typed error
 * that names the key path, the command and the end of its output.
 */
import { CfnError } from '../../errors';
import type { RunOptions, RunResult } from '../../system';
import type { Action, Change, HandlerContext } from './types';

/** What a command run needs from the handler context. */
export type RunContext = Pick<HandlerContext, 'system' | 'env' | 'logger'>;

/**
 * A program exited non-zero. A user's command (the commands key) is named by
 * its key path alone, with its last output line; a tool the handlers run is
 * named by what it was doing and its argv, with the end of its output.
 */
export class CommandError extends CfnError {
  constructor(
    readonly keyPath: string,
    readonly status: number,
    readonly output: string,
    /** The handler's own invocation: what it was doing (`apt: install nginx`) and the argv. */
    readonly invocation?: { readonly what: string; readonly argv: readonly string[] },
  ) {
    super(invocation ? `${keyPath}: ${invocation.what} failed: ${invocation.argv.join(' ')} exited ${status}${tail(output) ? `:\n${tail(output)}` : ''}` : `${keyPath} failed with exit code ${status}${lastLine(output)}`);
  }
}

function lastLine(output: string): string {
  const last = output.trim().split('\n').pop()?.trim() ?? '';
  return last ? ` (last output: ${JSON.stringify(last.slice(0, 200))})` : '';
}

/** A failure that is not one command's exit status (nothing available, a conflict with the machine...). */
export class HandlerError extends CfnError {
  constructor(
    readonly keyPath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${keyPath}: ${message}`, options);
  }
}

/** The last lines of a command's output: enough to see why, short enough for one log entry. */
export function tail(output: string, lines = 15, chars = 2000): string {
  const t = output.trimEnd().split('\n').slice(-lines).join('\n');
  return t.length > chars ? `...${t.slice(-chars)}` : t;
}

/** Run and log; the caller judges the status. The tool's environment unless `opts.env`. */
export async function run(ctx: RunContext, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  ctx.logger.debug(`Running command: ${argv.join(' ')}`);
  const r = await ctx.system.run(argv, { env: ctx.env, ...opts });
  if (r.status !== 0) ctx.logger.debug(`${argv[0]} exited ${r.status}: ${tail(r.output)}`);
  return r;
}

/** Run; a non-zero exit is a CommandError. */
export async function runOrThrow(ctx: RunContext, keyPath: string, what: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(ctx, argv, opts);
  if (r.status !== 0) throw new CommandError(keyPath, r.status, r.output, { what, argv });
  return r;
}

/** An action that runs one program; a non-zero exit fails it, otherwise it changed `change`. */
export function commandAction(summary: string, change: Change, keyPath: string, argv: string[]): Action {
  return {
    summary,
    changes: [change],
    async apply(ctx) {
      await runOrThrow(ctx, keyPath, summary, argv);
      return { changed: true };
    },
  };
}
