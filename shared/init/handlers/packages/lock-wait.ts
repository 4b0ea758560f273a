/**
 * Waiting for another process's package-manager lock. On a booting image
 * cloud-init, unattended-upgrades or dnf-makecache hold the lock for
 * minutes; under both peers apt-get and rpm then fail at once, and yum and
 * dnf 4 wait without end. A command of ours that fails because the lock is
 * taken is run again until it gets past it, for at most the
 * `package-lock-wait` limit, then fails naming the lock and its holder.
 *
 * Each manager describes its lock in a LockDialect: how its failure reads,
 * and, where it can bound its own wait (apt's DPkg::Lock::Timeout), the
 * option for that. The first attempt never waits, so the log says whom we
 * wait for before the wait begins. Between attempts a jittered backoff, so
 * the instances of a fleet do not retry in step.
 */
import { sleep } from '../../../timer';
import { LimitError } from '../../../errors';
import { backoffDelay, type RetryPolicy } from '../../../backoff';
import type { RunOptions, RunResult } from '../../../system';
import { formatDuration, limitName } from '../../limits';
import { CommandError, run, type RunContext } from '../command';
import type { HandlerContext } from '../types';
import { lockHolder, programOf, type LockHolder } from './lock-holder';

/** What a manager said when another process held its lock. */
export interface HeldLock {
  /** The lock file, or the manager's name for a lock whose file it does not print. */
  lock: string;
  holder?: LockHolder;
}

export interface LockDialect {
  /** The lock failure in a failed command's output; undefined when it failed for another reason. */
  held(output: string): HeldLock | undefined;
  /**
   * Arguments (after the program) that make the manager wait for its lock
   * at most `seconds` itself (0: not at all), or, for a manager that cannot
   * bound its own wait, fail at once so that we poll.
   */
  lockArgs?(seconds: number): string[];
}

export type LockRunContext = RunContext & Pick<HandlerContext, 'limits'>;

/** Between attempts: full jitter, the ceiling doubling from 1 s to 8 s (the deadline, not a count, ends the wait). */
const POLL: RetryPolicy = { maxAttempts: Number.MAX_SAFE_INTEGER, baseDelayMs: 1000, maxDelayMs: 8000 };
/** Jitter may draw 0; a manager starting up takes longer than this anyway. */
const MIN_POLL_MS = 100;

/** The lock was still held when `package-lock-wait` ran out. */
export class PackageLockError extends LimitError {
  constructor(
    readonly keyPath: string,
    readonly held: HeldLock,
    what: string,
    boundMs: number,
  ) {
    const name = limitName('packageLockWait');
    super(name, `${keyPath}: ${what}: gave up after waiting ${formatDuration(boundMs)} for ${describeLock(held)}; --limit ${name}=DURATION waits longer`);
  }
}

/** `/var/lib/dpkg/lock-frontend, held by process 1234 (unattended-upgr)`. */
function describeLock(held: HeldLock): string {
  const h = held.holder;
  return `${held.lock}, held by ${h ? `process ${h.pid}${h.program ? ` (${h.program})` : ''}` : 'another process'}`;
}

/** The holder as the manager named it, completed from the kernel's lock table when it did not. */
function completeHolder(held: HeldLock): HeldLock {
  if (held.holder?.program) return held;
  if (held.holder) return { ...held, holder: { pid: held.holder.pid, program: programOf(held.holder.pid) } };
  const holder = held.lock.startsWith('/') ? lockHolder(held.lock) : undefined;
  return holder ? { ...held, holder } : held;
}

/**
 * The managers' lock messages are matched in English: LC_MESSAGES=C (which
 * also makes gettext ignore LANGUAGE), and LC_ALL, which would override it,
 * handed down as LANG so that every other category keeps the user's locale.
 */
export function englishMessages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { LC_ALL, ...rest } = env;
  return { ...rest, ...(LC_ALL ? { LANG: LC_ALL } : {}), LC_MESSAGES: 'C' };
}

/**
 * Run `argv`, again while it fails on the manager's lock, up to the
 * `package-lock-wait` limit; the caller judges the status of the attempt
 * that got past the lock. Logs once (INFO) when it starts waiting and for
 * whom, and once when the lock came free.
 */
export async function runWhenUnlocked(ctx: LockRunContext, keyPath: string, what: string, argv: string[], dialect: LockDialect, opts: RunOptions = {}): Promise<RunResult> {
  const bound = ctx.limits.packageLockWait;
  const started = Date.now();
  const env = englishMessages(opts.env ?? ctx.env);
  let waitingFor: HeldLock | undefined;
  for (let attempt = 0; ; attempt++) {
    const left = bound - (Date.now() - started);
    const own = dialect.lockArgs?.(waitingFor ? Math.max(1, Math.ceil(left / 1000)) : 0) ?? [];
    const r = await run(ctx, [argv[0], ...own, ...argv.slice(1)], { ...opts, env });
    const held = r.status === 0 ? undefined : dialect.held(r.output);
    const waited = Date.now() - started;
    if (!held) {
      if (waitingFor) ctx.logger.info(`${what}: ${waitingFor.lock} came free after ${(waited / 1000).toFixed(1)}s`);
      return r;
    }
    const named = completeHolder(held);
    if (waited >= bound) throw new PackageLockError(keyPath, named, what, bound);
    if (!waitingFor) ctx.logger.info(`${what}: waiting up to ${formatDuration(bound)} for ${describeLock(named)}`);
    waitingFor = named;
    await sleep(Math.min(bound - waited, Math.max(MIN_POLL_MS, backoffDelay(attempt, POLL, Math.random))));
  }
}

/** runWhenUnlocked; a failure other than the lock is a CommandError naming `what` and `argv`. */
export async function runWhenUnlockedOrThrow(ctx: LockRunContext, keyPath: string, what: string, argv: string[], dialect: LockDialect, opts: RunOptions = {}): Promise<RunResult> {
  const r = await runWhenUnlocked(ctx, keyPath, what, argv, dialect, opts);
  if (r.status !== 0) throw new CommandError(keyPath, r.status, r.output, { what, argv });
  return r;
}
