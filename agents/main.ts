/**
 * Entry of the bundle, dist/cfntools.cjs: `node dist/cfntools.cjs cfn-init ...`
 * and the bin/ wrappers (`run('cfn-init')`). The single executable has its
 * own entry (agents/sea.ts), which loads one tool's code only.
 */
import { VERSION } from '../shared/version';
import { answerWithoutTool, chooseTool } from './dispatch';
import { start } from './start';
import { loadTool } from './tools';
import { TOOL_NAMES } from '../shared/tool-names';

/** Run `tool` with the process arguments; used by bin/ wrappers. */
export function run(tool: string, argv = process.argv.slice(2)): void {
  const main = loadTool(tool);
  if (!main) {
    process.stderr.write(`cfntools: unknown tool ${tool}; one of ${TOOL_NAMES.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  start(tool, main, argv);
}

if (require.main === module) {
  const choice = chooseTool(TOOL_NAMES, process.argv[1] ?? process.argv0, process.argv.slice(2));
  if ('tool' in choice) run(choice.tool, choice.argv);
  else answerWithoutTool(choice, TOOL_NAMES, VERSION);
}
