/**
 * Keeping an idle daemon small. Node's defaults suit a short-lived tool:
 * a young generation that grows to tens of MiB, a pool of V8 worker threads
 * each with a malloc arena, a heap that is collected only when allocation
 * asks for it. A daemon that wakes every few minutes wants the opposite.
 */
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
