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
