/**
 * Keeping an idle daemon small. Node's defaults suit a short-lived tool:
 * a young generation that grows to tens of MiB, a pool of V8 worker threads
 * each with a malloc arena, a heap that is collected only when allocation
 * asks for it. A daemon that wakes every few minutes wants the opposite.
 */
import * as path from 'node:path';
import { isSea } from 'node:sea';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** Node options the detached daemon starts with: a 1 MiB young generation, one V8 worker thread. */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1'];

let collect: (() => void) | undefined;

/** A full collection after a check, so that an idle daemon holds what it needs and no more. */
export function compact(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

/**
 * The command that starts this same tool again as a daemon, with `argv` (the
 * tool's own arguments) and DAEMON_NODE_FLAGS. A single executable takes
 * Node options only as a leading --node-options argument and is told the
 * tool by name; under node the script is started again, told the tool as
 * it was (by its bin/ name, or after the bundle).
 */
export function daemonCommand(tool: string, argv: readonly string[]): { file: string; args: string[] } {
  const nodeFlags = [...DAEMON_NODE_FLAGS, ...process.execArgv];
  if (isSea()) return { file: process.execPath, args: [`--node-options=${nodeFlags.join(' ')}`, tool, ...argv] };
  const script = process.argv[1];
  return { file: process.execPath, args: [...nodeFlags, script, ...(path.basename(script) === tool ? [] : [tool]), ...argv] };
}
