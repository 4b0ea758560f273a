/**
 * The CLI layer: runs a tool, turns any error into one readable line on
 * stderr and an exit code. Tools throw typed errors (shared/errors.ts) and
 * never call process.exit themselves.
 */
import yargs, { type Argv, type InferredOptionTypes, type Options } from 'yargs';
import * as os from 'node:os';
import { abandonAll } from './durable-write';
import { CfnError, UsageError } from './errors';
import { FileLogger, reopenLogs } from './log';
import { VERSION } from './version';
import { redact } from './redact';

/** A tool's entry point: parses its own argv and returns the exit code. */
export type ToolMain = (argv: string[]) => Promise<number>;

export function describeError(tool: string, err: unknown): { line: string; exitCode: number } {
  if (err instanceof CfnError) return { line: `${tool}: ${redact(err.message)}`, exitCode: err.exitCode };
  const msg = err instanceof Error ? err.message : String(err);
  return { line: `${tool}: unexpected error: ${redact(msg)}`, exitCode: 1 };
}

/**
 * An error that ends a tool, in its log file too (heat-cfntools puts
 * configuration errors there); `prefix` says in what run. Not mirrored to the
 * journal: runCli prints the same line on stderr.
 */
export function logFailure(tool: string, file: string, err: unknown, prefix = ''): void {
  if (file === '-') return;
  const logger = new FileLogger({ file, level: 'INFO', fallbackLevel: 'ERROR', journal: false });
  logger.error(prefix + describeError(tool, err).line.replace(`${tool}: `, ''));
  logger.close();
}

/** What a long-running tool does on a signal instead of the default. */
export interface SignalHandlers {
  /** SIGTERM/SIGINT: finish what is under way, then return from main. A second signal stops at once. */
  stop?: (signal: NodeJS.Signals) => void;
  /** SIGHUP, after the logs were reopened: read the configuration again. */
  reload?: () => void;
}

let handlers: SignalHandlers = {};

/** Install a tool's signal handlers for the rest of the run; returns a function that removes them. */
export function handleSignalsWith(h: SignalHandlers): () => void {
  handlers = h;
  return () => {
    if (handlers === h) handlers = {};
  };
}

/**
 * Signals: SIGHUP reopens the log files (logrotate); SIGTERM and SIGINT stop
 * the tool at once with 128 + the signal's number, as a shell reports it,
 * after removing what unfinished writes left (temp files, downloads) -
 * unless the tool handles them (handleSignalsWith) and this is the first.
 */
function handleSignals(tool: string): void {
  process.on('SIGHUP', () => {
    reopenLogs();
    handlers.reload?.();
  });
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (handlers.stop && !stopping) {
        stopping = true;
        handlers.stop(sig);
        return;
      }
      abandonAll();
      process.stderr.write(`${tool}: stopped by ${sig}\n`);
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

export async function runCli(tool: string, main: ToolMain, argv: string[]): Promise<void> {
  handleSignals(tool);
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    const { line, exitCode } = describeError(tool, err);
    process.stderr.write(line + '\n');
    if (process.env.CFNTOOLS_DEBUG && err instanceof Error && err.stack) process.stderr.write(redact(err.stack) + '\n');
    process.exitCode = exitCode;
  }
}

const DASH = '\0-';

/**
 * Parse argv with yargs, turning its complaints into a UsageError (exit 2,
 * like optparse/argparse) instead of letting yargs exit the process.
 * Returns undefined when --help or --version was answered.
 */
export function parseArgs<O extends Record<string, Options>>(
  tool: string,
  argv: string[],
  options: O,
  usage: string,
  configure: (y: Argv<InferredOptionTypes<O>>) => Argv<InferredOptionTypes<O>> = (y) => y,
): (InferredOptionTypes<O> & { _: (string | number)[] }) | undefined {
  // Answered here: yargs with exitProcess(false) would go on to validate after printing it.
  if (argv.includes('--version')) {
    process.stdout.write(`${tool} (cfntools) ${VERSION}\n`);
    return undefined;
  }
  let answered = false;
  const y = configure(
    yargs(argv)
      .scriptName(tool)
      .usage(usage)
      .options(options)
      .strict()
      .help('help')
      .alias('help', 'h')
      .version(false)
      .parserConfiguration({ 'duplicate-arguments-array': false })
      .exitProcess(false)
      .fail((msg, err) => {
        throw err instanceof CfnError ? err : new UsageError(msg ?? String(err));
      }),
  );
  // yargs-parser reads a lone `-` as an empty flag; it means stdin or stderr
  // to our tools, so it travels through the parser as a token no argv can hold.
  const parsed = y.parseSync(argv.map((a) => (a === '-' ? DASH : a)), {}, (_err, _argv, output) => {
    if (output) {
      answered = true;
      process.stdout.write(output + '\n');
    }
  });
  if (answered) return undefined;
  const undash = (v: unknown): unknown => (v === DASH ? '-' : Array.isArray(v) ? v.map(undash) : v);
  const restored = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, undash(v)]));
  return restored as unknown as InferredOptionTypes<O> & { _: (string | number)[] };
}
