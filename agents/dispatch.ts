/**
 * Which tool a multi-call binary was asked for: the name it was started
 * under (a symlink such as /usr/bin/cfn-init), else its first argument
 * (`cfntools cfn-init ...`).
 */
import * as path from 'node:path';

export type Choice = { tool: string; argv: string[] } | { version: true } | { usage: true };

/** `invokedAs` is the program name as typed: argv[1] in a single executable, the script under node. */
export function chooseTool(tools: readonly string[], invokedAs: string, args: string[]): Choice {
  const name = path.basename(invokedAs);
  if (tools.includes(name)) return { tool: name, argv: args };
  const [first, ...rest] = args;
  if (first !== undefined && tools.includes(first)) return { tool: first, argv: rest };
  if (first === '--version') return { version: true };
  return { usage: true };
}

/** For the choices that run no tool: what to print and the exit code. */
export function answerWithoutTool(choice: { version: true } | { usage: true }, tools: readonly string[], version: string): void {
  if ('version' in choice) {
    process.stdout.write(`cfntools ${version}\n`);
    return;
  }
  process.stderr.write(`usage: cfntools <${tools.join('|')}> [options]\n`);
  process.exitCode = 2;
}

const NODE_OPTIONS_ARG = '--node-options=';

/**
 * The single executable's leading `--node-options=FLAGS`, which earlier
 * releases honoured (their daemon units pass the daemon flags that way). Node
 * itself took that argument at any position of the command line, so a value
 * reaching a tool's argv (a reason, an id) could load code; the executable
 * now takes no Node options at all and has the daemon flags built in. A
 * leading argument asking for those flags only is dropped, so that a unit
 * copied from an earlier release still starts; one asking for anything else
 * is refused. Anywhere else the argument is the tool's, like any other.
 */
export function dropBuiltInNodeOptions(args: string[], builtIn: readonly string[]): { args: string[] } | { refused: string } {
  const [first, ...rest] = args;
  if (first === undefined || !(first === '--node-options' || first.startsWith(NODE_OPTIONS_ARG))) return { args };
  const flags = first.slice(NODE_OPTIONS_ARG.length).split(/\s+/).filter(Boolean);
  if (flags.length > 0 && flags.every((f) => builtIn.includes(f))) return { args: rest };
  return { refused: `cfntools: a leading --node-options may only name the built-in Node options (${builtIn.join(' ')}); the executable takes no others` };
}
