/**
 * Busybox-style entry: one bundle (and one single executable) holds every
 * tool; the tool is chosen by the name it was started under, or by the first
 * argument (`cfntools cfn-init ...`).
 */
import * as path from 'node:path';
import { runCli, type ToolMain } from '../shared/cli';
import { notImplemented } from './not-implemented';
import { VERSION } from '../shared/version';

const TOOL_NAMES = ['cfn-init', 'cfn-signal', 'cfn-hup', 'cfn-push-stats', 'cfn-get-metadata', 'cfn-create-aws-symlinks'];

/**
 * Each tool's module is loaded only when that tool runs: cfn-signal need
 * not pay for cfn-init's archive and template libraries at every start.
 */
const lazy = (load: () => ToolMain): ToolMain => (argv) => load()(argv);

export const TOOLS: Record<string, ToolMain> = {
  'cfn-init': lazy(() => (require('./cfn-init') as typeof import('./cfn-init')).main),
  'cfn-signal': lazy(() => (require('./cfn-signal') as typeof import('./cfn-signal')).main),
  'cfn-hup': notImplemented('cfn-hup'),
  'cfn-push-stats': notImplemented('cfn-push-stats'),
  'cfn-get-metadata': lazy(() => (require('./cfn-get-metadata') as typeof import('./cfn-get-metadata')).main),
  'cfn-create-aws-symlinks': lazy(() => (require('./cfn-create-aws-symlinks') as typeof import('./cfn-create-aws-symlinks')).symlinksMain(TOOL_NAMES)),
};

/** Run `tool` with the process arguments; used by bin/ wrappers. */
export function run(tool: string, argv = process.argv.slice(2)): void {
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
