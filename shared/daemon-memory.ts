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

/**
 * Node options a daemon runs with: a 1 MiB young generation, one platform
 * worker thread and no V8 background tasks (each thread would hold a malloc
 * arena), and no TurboFan: Maglev's code is
 * enough for work that runs for milliseconds, and the top tier's compiler,
 * its memory and its code pages cost a short run about 6 MiB of peak RSS
 * (docs/PERFORMANCE.md). The single executable has them built in, for every
 * tool (scripts/package.js): it takes no Node options from its command line
 * or environment. Under node they are given when the daemon is started.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1', '--single-threaded', '--no-turbofan'];

let collect: (() => void) | undefined;

/**
 * V8 without Maglev, its mid-tier optimizing compiler (on by default from
 * Node 22, so in the executable; off in Node 20), for a process that stays.
 * A daemon calls the same few hundred functions the same number of times
 * every check, so they all become hot in the same check (about the 500th)
 * and are compiled at once: their compiler zones, live together, take 10 to
 * 14 MiB of malloc'd memory, which glibc keeps (fragmented) after they are
 * freed, and the daemon's anonymous memory steps up by that much for good.
 * Without Maglev (and TurboFan, which DAEMON_NODE_FLAGS leave out) a check's
 * few milliseconds of JavaScript run in Sparkplug's baseline code, and the
 * daemon stays flat over thousands of checks. Set when the daemon's loop
 * starts, after start-up has run with the compiler every tool has.
 */
export function dropMaglev(): void {
  v8.setFlagsFromString('--no-maglev');
}

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
 * tool's own arguments) and DAEMON_NODE_FLAGS. A single executable has the
 * flags built in and is told the tool by name; under node the script is
 * started again with the flags, told the tool as it was (by its bin/ name,
 * or after the bundle).
 */
export function daemonCommand(tool: string, argv: readonly string[]): { file: string; args: string[] } {
  if (isSea()) return { file: process.execPath, args: [tool, ...argv] };
  const script = process.argv[1];
  return { file: process.execPath, args: [...DAEMON_NODE_FLAGS, ...process.execArgv, script, ...(path.basename(script) === tool ? [] : [tool]), ...argv] };
}
