/**
 * cfn-hup's daemon: the shared polling loop (shared/poll-daemon.ts) over a
 * Watcher of the configuration on disk, read again on SIGHUP (checked as
 * at the start: a refused one leaves the running one in place); the state
 * is kept across reloads.
 */
import { runPollDaemon, type Checker } from '../../shared/poll-daemon';
import { readConfiguration, type ConfigFiles, type HupConfig } from './config';
import type { HupState } from './state';
import { Watcher, type LogTarget } from './watcher';

export interface DaemonOptions {
  files: ConfigFiles;
  config: HupConfig;
  log: LogTarget;
  state: HupState;
  env: NodeJS.ProcessEnv;
  /** Said in the log once it is open: a damaged state file set aside; a lock taken over. */
  startupProblems: string[];
  startupWarnings: string[];
  /** Called once the loop is set up (the detached parent may exit). */
  ready?: () => void;
}

function checkerOf(watcher: Watcher): Checker {
  const { config } = watcher;
  return {
    logger: watcher.ctx.logger,
    intervalMs: config.main.intervalMs,
    summary: `${config.hooks.length} hook(s) on stack ${config.main.stack}`,
    check: async () => {
      const r = await watcher.pass();
      return { failed: r.fetchFailures > 0, retryAfterMs: r.retryAfterMs };
    },
    close: () => watcher.close(),
  };
}

export function runDaemon(opts: DaemonOptions): Promise<number> {
  let first: HupConfig | undefined = opts.config;
  return runPollDaemon({
    name: 'cfn-hup',
    makeChecker: (stopping) => {
      // The configuration main() checked is used once; SIGHUP reads the files again.
      const config = first ?? readConfiguration(opts.files);
      first = undefined;
      return checkerOf(new Watcher(config, opts.log, opts.state, opts.env, stopping));
    },
    startupProblems: opts.startupProblems,
    startupWarnings: opts.startupWarnings,
    ready: opts.ready,
  });
}
