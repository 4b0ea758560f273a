/**
 * The daemon loop: checks on the schedule (schedule.ts), survives any
 * single failure, reads its configuration again on SIGHUP (keeping the old
 * one if the new one is broken, and the state either way), and on SIGTERM
 * or SIGINT lets a running action finish (it is stopped at its own timeout)
 * and then returns 0.
 */
import { randomInt } from 'node:crypto';
import { handleSignalsWith } from '../../shared/cli';
import { errorMessage } from '../../shared/errors';
import { loadConfig, type ConfigFiles, type HupConfig } from './config';
import { compact } from './memory';
import { firstPassAt, nextPassAt, type PassRecord, type Schedule } from './schedule';
import type { HupState } from './state';
import { Watcher, type LogTarget } from './watcher';

/** The longest single sleep: wall-clock jumps (suspend, NTP) are noticed within it. */
const MAX_SLEEP_MS = 60_000;
/** How often the log says the daemon is alive when nothing happens. */
const ALIVE_EVERY_MS = 60 * 60_000;

export interface DaemonOptions {
  files: ConfigFiles;
  config: HupConfig;
  log: LogTarget;
  state: HupState;
  env: NodeJS.ProcessEnv;
  /** Said in the log once it is open (a damaged state file set aside). */
  startupProblems: string[];
  /** Called once the loop is set up (the detached parent may exit). */
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

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  let stopping = false;
  let reloadAsked = false;
  const sleeper = new Sleeper();
  let watcher = new Watcher(opts.config, opts.log, opts.state, opts.env, () => stopping);
  const unhandle = handleSignalsWith({
    stop: (sig) => {
      stopping = true;
      watcher.ctx.logger.info(`${sig}: stopping once the running action (if any) has finished`);
      sleeper.interrupt();
    },
    reload: () => {
      reloadAsked = true;
      sleeper.interrupt();
    },
  });
  const log = () => watcher.ctx.logger;
  for (const p of opts.startupProblems) log().error(p);
  const schedule: Schedule = { startMs: Date.now(), intervalMs: opts.config.main.intervalMs, seed: randomInt(2 ** 32) };
  let next = firstPassAt(schedule);
  let failures = 0;
  let passes = 0;
  let lastAlive = Date.now();
  log().info(`cfn-hup started (pid ${process.pid}): ${opts.config.hooks.length} hook(s) on stack ${opts.config.main.stack}, every ${opts.config.main.intervalMs / 1000} s; first check at ${new Date(next).toISOString()}`);
  opts.ready?.();
  try {
    while (!stopping) {
      if (reloadAsked) {
        reloadAsked = false;
        try {
          const config = loadConfig(opts.files);
          const fresh = new Watcher(config, opts.log, opts.state, opts.env, () => stopping);
          watcher.close();
          watcher = fresh;
          if (config.main.intervalMs !== schedule.intervalMs) {
            schedule.intervalMs = config.main.intervalMs;
            next = Math.min(next, Date.now() + config.main.intervalMs);
          }
          log().info(`SIGHUP: configuration read again: ${config.hooks.length} hook(s), every ${config.main.intervalMs / 1000} s`);
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
        const r = await watcher.pass();
        failures = r.fetchFailures ? failures + 1 : 0;
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
        log().info(`cfn-hup is alive: ${passes} check(s) since the start`);
      }
    }
    log().info('cfn-hup stopped');
    return 0;
  } finally {
    unhandle();
    watcher.close();
  }
}
