/**
 * Timers for any duration. Node's own take at most 2^31-1 ms (24.8 days)
 * and turn a longer delay, Infinity included, into 1 ms with no more than
 * a warning: a hook-timeout of 25 days would stop the hook at once. These
 * chain Node's timers until the whole duration has passed (Infinity: never).
 * Every duration a user or a server gives goes through here.
 */

/** The longest delay one of Node's timers takes. */
export const MAX_NODE_TIMER_MS = 2 ** 31 - 1;

export interface Timer {
  /** Stop it; the callback is then never called. Calling it again does nothing. */
  clear(): void;
}

function checkDuration(ms: number): void {
  if (Number.isNaN(ms) || ms < 0) throw new RangeError(`a timer needs a duration of 0 ms or more, got ${ms}`);
}

/** Calls `fn` once `ms` milliseconds have passed. `unref`: the timer alone does not keep the process running. */
export function startTimer(fn: () => void, ms: number, opts: { unref?: boolean } = {}): Timer {
  return chainTimers(fn, ms, MAX_NODE_TIMER_MS, opts.unref ?? false);
}

/** startTimer with Node's timers at most `stepMs` long each (tests use short steps). */
export function chainTimers(fn: () => void, ms: number, stepMs: number, unref: boolean): Timer {
  checkDuration(ms);
  let handle: NodeJS.Timeout | undefined;
  const arm = (remaining: number) => {
    const step = Math.min(remaining, stepMs);
    handle = setTimeout(() => (remaining > step ? arm(remaining - step) : fn()), step);
    if (unref) handle.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(handle) };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => startTimer(resolve, ms));
}
