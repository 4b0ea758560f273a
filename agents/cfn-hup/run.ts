/** cfn-hup once its flags are parsed: check the configuration, then detach, run the daemon, check once, or stop there (--check-config). */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import { sleep } from '../../shared/timer';
import { describeError, handleSignalsWith, logFailure } from '../../shared/cli';
import { CfnError } from '../../shared/errors';
import { hupStateDir } from '../../shared/paths';
import { DEFAULT_ONE_SHOT_SPLAY_MS, locateConfig, readConfiguration, type ConfigFiles, type HupConfig } from './config';
import { runDaemon } from './daemon';
import { HeldLockError, PidFile } from '../../shared/pid-lock';
import { daemonCommand } from '../../shared/daemon-memory';
import { oneShotDelayMs } from '../../shared/poll-schedule';
import { HupState } from './state';
import { lockFile, Watcher, type LogTarget } from './watcher';
import { TOOL, type HupArgs } from './index';

/** Set in the environment of the detached daemon, which reports on fd 3 that it is up. */
const DETACHED_ENV = 'CFNTOOLS_HUP_DETACHED';
const READY_FD = 3;
/** How long the starting cfn-hup waits for its detached daemon to say it is up. */
const DETACH_TIMEOUT_MS = 30_000;

/** Started by systemd (which sets INVOCATION_ID) or by PID 1 directly: stay in the foreground. */
function supervised(env: NodeJS.ProcessEnv): boolean {
  return env.INVOCATION_ID !== undefined || env.NOTIFY_SOCKET !== undefined || process.ppid === 1;
}

function tellParent(message: string): void {
  try {
    fs.writeSync(READY_FD, `${message}\n`);
    fs.closeSync(READY_FD);
  } catch {
    // The parent gave up waiting and went: nobody to tell.
  }
}

/** Start this same command again in a session of its own, and return once it says it is up. */
async function detach(argv: readonly string[]): Promise<number> {
  const self = daemonCommand(TOOL, argv);
  const child = spawn(self.file, self.args, {
    detached: true,
    cwd: '/',
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  const pipe = child.stdio[READY_FD] as NodeJS.ReadableStream;
  let said = '';
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve(`error: the daemon did not report within ${DETACH_TIMEOUT_MS / 1000} s`), DETACH_TIMEOUT_MS);
    pipe.on('data', (d: Buffer) => (said += d.toString()));
    pipe.on('end', () => {
      clearTimeout(timer);
      resolve(said.trim() || 'error: the daemon exited before it was up');
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`error: cannot start the daemon: ${err.message}`);
    });
  });
  (pipe as unknown as { destroy(): void }).destroy();
  child.unref();
  if (outcome === 'ready') return 0;
  throw new CfnError(outcome.replace(/^error: (cfn-hup: )?/, ''));
}

async function oneShot(config: HupConfig, log: LogTarget, state: HupState, problem: string | undefined, warnings: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let stopping = false;
  const unhandle = handleSignalsWith({ stop: () => (stopping = true) });
  const watcher = new Watcher(config, log, state, env, () => stopping);
  try {
    if (problem) watcher.ctx.logger.error(problem);
    for (const w of warnings) watcher.ctx.logger.warn(w);
    const interactive = process.stdin.isTTY || process.stderr.isTTY;
    const splay = config.main.splayMs ?? (interactive ? 0 : DEFAULT_ONE_SHOT_SPLAY_MS);
    const delay = oneShotDelayMs(randomInt(2 ** 32), splay);
    if (delay) {
      watcher.ctx.logger.debug(`waiting ${delay} ms first (splay), so that a fleet run from cron does not check in the same second`);
      await sleep(delay);
    }
    if (stopping) return 0;
    const r = await watcher.pass();
    return r.fetchFailures || r.actionsFailed ? 1 : 0;
  } finally {
    unhandle();
    watcher.close();
  }
}

async function daemon(files: ConfigFiles, config: HupConfig, log: LogTarget, state: HupState, problem: string | undefined, warnings: string[], pidFile: string, env: NodeJS.ProcessEnv, detached: boolean): Promise<number> {
  process.umask(config.main.umask);
  const pid = PidFile.acquire(pidFile, TOOL, { pidOnly: true });
  try {
    const startupWarnings = [...warnings, ...(pid.tookOver ? [pid.tookOver] : [])];
    return await runDaemon({ files, config, log, state, env, startupProblems: problem ? [problem] : [], startupWarnings, ready: detached ? () => tellParent('ready') : undefined });
  } finally {
    pid.release();
  }
}

/** --check-config: the files as a start or a SIGHUP reads them; no lock, no state, no network. */
function checkConfig(files: ConfigFiles): number {
  const config = readConfiguration(files);
  for (const w of config.warnings) process.stderr.write(`${TOOL}: warning: ${w}\n`);
  process.stdout.write(`${TOOL}: configuration OK: ${files.main}, ${config.hooks.length} hook(s) on stack ${config.main.stack}\n`);
  return 0;
}

export async function hupRun(args: HupArgs, argv: readonly string[]): Promise<number> {
  const detached = process.env[DETACHED_ENV] === '1';
  let logFile: string | undefined;
  try {
    logFile = args['log-file'];
    // A plain copy without our marker: the actions inherit it.
    const env = { ...process.env };
    delete env[DETACHED_ENV];
    const files = locateConfig(args.config, env);
    if (args['check-config']) return checkConfig(files);
    const config = readConfiguration(files);
    const log: LogTarget = { file: args['log-file'], verbose: args.verbose ?? false };
    if (!args['no-daemon'] && !args.foreground && !detached && !supervised(env)) return await detach(argv);

    const stateDir = hupStateDir(env);
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    let lock: PidFile;
    try {
      lock = PidFile.acquire(lockFile(stateDir), TOOL);
    } catch (err) {
      if (!(err instanceof HeldLockError) || !args['no-daemon']) throw err;
      process.stderr.write(`${TOOL}: ${err.message}; this check is skipped\n`);
      return 0;
    }
    try {
      const { state, problem } = HupState.load(stateDir);
      const warnings = lock.tookOver ? [lock.tookOver] : [];
      if (args['no-daemon']) return await oneShot(config, log, state, problem, warnings, env);
      return await daemon(files, config, log, state, problem, warnings, args['pid-file'], env, detached);
    } finally {
      lock.release();
    }
  } catch (err) {
    if (detached) tellParent(`error: ${describeError(TOOL, err).line}`);
    else if (logFile !== undefined && !(err instanceof HeldLockError)) logFailure(TOOL, logFile, err, args['check-config'] ? '--check-config: ' : '');
    throw err;
  }
}
