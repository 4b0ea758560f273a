/**
 * The loop of a polling daemon (cfn-hup, heat-agent): checks on the
 * schedule (poll-schedule.ts), survives any single failure, builds its
 * checker again on SIGHUP (keeping the old one if the new configuration is
 * broken), and on SIGTERM or SIGINT lets a running check finish (its
 * actions are stopped at their own timeouts) and then returns 0.
 */
import { randomInt } from 'node:crypto';
import { handleSignalsWith } from './cli';
import { compact, dropMaglev } from './daemon-memory';
import { errorMessage } from './errors';
import type { Logger } from './log';
import { firstPassAt, nextPassAt, type PassRecord, type Schedule } from './poll-schedule';

/** The longest single sleep: wall-clock jumps (suspend, NTP) are noticed within it. */
const MAX_SLEEP_MS = 60_000;
/** How often the log says the daemon is alive when nothing happens. */
const ALIVE_EVERY_MS = 60 * 60_000;

/** What one configuration of the daemon checks with. */
export interface Checker {
  readonly logger: Logger;
  intervalMs: number;
  /** What it watches, for the log. */
  summary: string;
  /** One check; `failed` when something could not be fetched (the next check backs off). */
  check(): Promise<{ failed: boolean; retryAfterMs?: number }>;
  close(): void;
}

export interface PollDaemonOptions {
  name: string;
  /** A checker of the configuration as it is now on disk (called at the start and on SIGHUP). */
  makeChecker(stopping: () => boolean): Checker;
  /** Said in the log once it is open: as errors, and as warnings. */
  startupProblems?: string[];
  startupWarnings?: string[];
  /** Called once the loop is set up (a detached parent may exit). */
  ready?: () => void;
}

/** A sleep that SIGHUP or SIGTERM can cut short. */
class Sleeper {
  private wake?: () => void;
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  interrupt(): void {
    this.wake?.();
  }
}

export async function runPollDaemon(opts: PollDaemonOptions): Promise<number> {
  dropMaglev();
  let stopping = false;
  let reloadAsked = false;
  const sleeper = new Sleeper();
  let checker = opts.makeChecker(() => stopping);
  const unhandle = handleSignalsWith({
    stop: (sig) => {
      stopping = true;
      checker.logger.notice(`${sig}: stopping once the running action (if any) has finished`);
      sleeper.interrupt();
    },
    reload: () => {
      reloadAsked = true;
      sleeper.interrupt();
    },
  });
  const log = () => checker.logger;
  for (const p of opts.startupProblems ?? []) log().error(p);
  for (const w of opts.startupWarnings ?? []) log().warn(w);
  const schedule: Schedule = { startMs: Date.now(), intervalMs: checker.intervalMs, seed: randomInt(2 ** 32) };
  let next = firstPassAt(schedule);
  let failures = 0;
  let passes = 0;
  let lastAlive = Date.now();
  log().notice(`${opts.name} started (pid ${process.pid}): ${checker.summary}, every ${checker.intervalMs / 1000} s; first check at ${new Date(next).toISOString()}`);
  opts.ready?.();
  try {
    while (!stopping) {
      if (reloadAsked) {
        reloadAsked = false;
        try {
          const fresh = opts.makeChecker(() => stopping);
          checker.close();
          checker = fresh;
          if (fresh.intervalMs !== schedule.intervalMs) {
            schedule.intervalMs = fresh.intervalMs;
            next = Math.min(next, Date.now() + fresh.intervalMs);
          }
          log().notice(`SIGHUP: configuration read again: ${fresh.summary}, every ${fresh.intervalMs / 1000} s`);
        } catch (err) {
          log().error(`SIGHUP: configuration not read again: ${errorMessage(err)}; keeping the previous one`);
        }
      }
      const wait = next - Date.now();
      if (wait > 0) {
        await sleeper.sleep(Math.min(wait, MAX_SLEEP_MS));
        continue;
      }
      const atMs = Date.now();
      let record: PassRecord;
      try {
        const r = await checker.check();
        failures = r.failed ? failures + 1 : 0;
        record = { atMs, endedMs: Date.now(), failures, retryAfterMs: r.retryAfterMs };
      } catch (err) {
        // A bug or a full disk: log it and carry on; the next check backs off as after a failed fetch.
        log().error(`check failed: ${errorMessage(err)}`);
        failures++;
        record = { atMs, endedMs: Date.now(), failures };
      }
      passes++;
      compact();
      next = nextPassAt(schedule, record);
      log().debug(`check ${passes} done${failures ? ` (${failures} failed in a row)` : ''}; next at ${new Date(next).toISOString()}`);
      if (Date.now() - lastAlive >= ALIVE_EVERY_MS) {
        lastAlive = Date.now();
        log().info(`${opts.name} is alive: ${passes} check(s) since the start`);
      }
    }
    log().notice(`${opts.name} stopped`);
    return 0;
  } finally {
    unhandle();
    checker.close();
  }
}
