/**
 * Busybox-style entry: one bundle (and one single executable) holds every
 * tool; the tool is chosen by the name it was started under, or by the first
 * argument (`cfntools cfn-init ...`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, type ToolMain } from '../shared/cli';
import { VERSION } from '../shared/version';

/** The cfn tools, which cfn-create-aws-symlinks links into /opt/aws/bin. */
const TOOL_NAMES = ['cfn-init', 'cfn-signal', 'cfn-hup', 'cfn-push-stats', 'cfn-get-metadata', 'cfn-create-aws-symlinks'];

/**
 * Each tool's module is loaded only when that tool runs: cfn-signal need
 * not pay for cfn-init's archive and template libraries at every start.
 */
const lazy = (load: () => ToolMain): ToolMain => (argv) => load()(argv);

export const TOOLS: Record<string, ToolMain> = {
  'cfn-init': lazy(() => (require('./cfn-init') as typeof import('./cfn-init')).main),
  'cfn-signal': lazy(() => (require('./cfn-signal') as typeof import('./cfn-signal')).main),
  'cfn-hup': lazy(() => (require('./cfn-hup') as typeof import('./cfn-hup')).main),
  'cfn-push-stats': lazy(() => (require('./cfn-push-stats') as typeof import('./cfn-push-stats')).main),
  'cfn-get-metadata': lazy(() => (require('./cfn-get-metadata') as typeof import('./cfn-get-metadata')).main),
  'heat-agent': lazy(() => (require('./heat-agent') as typeof import('./heat-agent')).main),
  'cfn-create-aws-symlinks': lazy(() => (require('./cfn-create-aws-symlinks') as typeof import('./cfn-create-aws-symlinks')).symlinksMain(TOOL_NAMES)),
};

/**
 * libuv reads UV_THREADPOOL_SIZE once, when its thread pool starts. cfn-init
 * fsyncs whole batches of files at once (shared/durable-write.ts): with
 * libuv's default of 4 threads, 1,000 files take three to four times as long
 * to make durable as with 32. cfn-hup and heat-agent, idle for minutes at a time, get one:
 * every thread that ever ran keeps a malloc arena of its own. The variable is
 * set only for that moment, so the commands the tools run do not inherit it;
 * a value the user set is kept.
 */
const THREAD_POOL_SIZE: Record<string, number> = { 'cfn-init': 32, 'cfn-hup': 1, 'heat-agent': 1 };

function sizeThreadPool(tool: string): void {
  const size = THREAD_POOL_SIZE[tool];
  if (size === undefined || process.env.UV_THREADPOOL_SIZE !== undefined) return;
  process.env.UV_THREADPOOL_SIZE = String(size);
  fs.access('/', () => undefined); // the first request starts the pool
  delete process.env.UV_THREADPOOL_SIZE;
}

/** Run `tool` with the process arguments; used by bin/ wrappers. */
export function run(tool: string, argv = process.argv.slice(2)): void {
  sizeThreadPool(tool);
  const main = TOOLS[tool];
  if (!main) {
    process.stderr.write(`cfntools: unknown tool ${tool}; one of ${Object.keys(TOOLS).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  void runCli(tool, main, argv);
}

function dispatch(): void {
  // In a single executable argv[1] is the name as typed (a symlink's name).
  const invoked = path.basename(process.argv[1] ?? process.argv0);
  if (TOOLS[invoked]) return run(invoked, process.argv.slice(2));
  const [first, ...rest] = process.argv.slice(2);
  if (first && TOOLS[first]) return run(first, rest);
  if (first === '--version') {
    process.stdout.write(`cfntools ${VERSION}\n`);
    return;
  }
  process.stderr.write(`usage: cfntools <${Object.keys(TOOLS).join('|')}> [options]\n`);
  process.exitCode = 2;
}


if (require.main === module) dispatch();
