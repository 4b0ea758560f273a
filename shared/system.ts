/**
 * The machine as the tools see it: running programs (as another user for
 * real, with `runas`) and looking up users and groups. Callers never spawn
 * processes themselves, so tests can record what would run where the real
 * thing cannot (systemd without PID 1).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withoutToolCredentials } from './child-env';
import { CfnError } from './errors';
import { HeadTail } from './head-tail';
import { startTimer, type Timer } from './timer';
import type { Launcher, SpawnSink } from './launcher/launcher';
import { findLauncher } from './launcher/locate';

/** One launcher per process, found at the first HostSystem. */
let launcherOfProcess: { launcher: Launcher | null } | undefined;
function processLauncher(env: NodeJS.ProcessEnv): Launcher | null {
  launcherOfProcess ??= { launcher: findLauncher(env) ?? null };
  return launcherOfProcess.launcher;
}

export interface RunOptions {
  cwd?: string;
  /** Full environment; default: the tool's own environment. Either way without the tool's credentials (child-env.ts). */
  env?: NodeJS.ProcessEnv;
  /** Run as this user (name or uid): the real uid/gid change, not just the effective one. */
  user?: string;
  /**
   * Ends the command after this long: SIGTERM to its whole process group
   * (it runs in a session of its own, so what it started goes too), SIGKILL
   * after KILL_GRACE_MS more.
   */
  timeoutMs?: number;
  /**
   * The most bytes kept of each output (stdout, stderr, both interleaved):
   * half from the start, half from the end, what fell between said in its
   * place (head-tail.ts); default DEFAULT_MAX_OUTPUT_BYTES.
   */
  maxOutputBytes?: number;
  /** Written to the command's stdin (a hook protocol's request); default: stdin is /dev/null. */
  input?: string;
}

export interface RunResult {
  status: number;
  /** stdout and stderr interleaved as produced (for cfn-init-cmd.log). */
  output: string;
  stdout: string;
  stderr: string;
  /** True when `timeoutMs` ended it. */
  timedOut?: boolean;
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupInfo {
  name: string;
  gid: number;
  members: string[];
}

export interface System {
  /** argv list: exec directly, no shell; string: `/bin/sh -c`. */
  run(command: string[] | string, opts?: RunOptions): Promise<RunResult>;
  /** Absolute path of an executable on PATH, or undefined. */
  which(name: string): string | undefined;
  user(nameOrUid: string): UserInfo | undefined;
  group(nameOrGid: string): GroupInfo | undefined;
}

export class CommandNotFoundError extends CfnError {}

/** How long output is still read after a command exited while something else holds its pipes. */
const OUTPUT_GRACE_MS = 1000;
/** How long a timed-out command has between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 5000;

/**
 * What a command's output keeps by default: a command may print without end
 * (`yes`, a build log); its start and end are what say what it did.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 2 * 1024 * 1024;

/** The real machine. `env` is the tool's environment: its PATH is where programs are looked up. */
export class HostSystem implements System {
  /** `launcher`: starts the programs (shared/launcher/); null: Node does. */
  constructor(
    protected readonly env: NodeJS.ProcessEnv = process.env,
    private readonly launcher: Launcher | null = processLauncher(env),
  ) {}

  run(command: string[] | string, opts: RunOptions = {}): Promise<RunResult> {
    let [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0], command.slice(1)];
    let uid: number | undefined;
    let gid: number | undefined;
    if (opts.user !== undefined) {
      const u = this.user(opts.user);
      if (!u) return Promise.reject(new CfnError(`cannot run as ${opts.user}: no such user`));
      // Node's own uid/gid switch drops every supplementary group; setpriv
      // (util-linux) gives the user its groups, as a login would.
      const setpriv = this.which('setpriv');
      if (setpriv) {
        args = [`--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', file, ...args];
        file = setpriv;
      } else {
        uid = u.uid;
        gid = u.gid;
      }
    }
    return new Promise((resolve, reject) => {
      const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
      const timed = opts.timeoutMs !== undefined;
      const output = new HeadTail(max);
      const stdout = new HeadTail(max);
      const stderr = new HeadTail(max);
      let pid: number | undefined;
      let timedOut = false;
      const timers: Timer[] = [];
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          if (pid !== undefined) process.kill(-pid, signal);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: the group is gone already
        }
      };
      let status = 1;
      const sink: SpawnSink = {
        started(p) {
          pid = p;
          if (!timed) return;
          timers.push(
            startTimer(() => {
              timedOut = true;
              killGroup('SIGTERM');
              timers.push(startTimer(() => killGroup('SIGKILL'), KILL_GRACE_MS));
            }, opts.timeoutMs!),
          );
        },
        stdout(d) {
          stdout.add(d);
          output.add(d);
        },
        stderr(d) {
          stderr.add(d);
          output.add(d);
        },
        exited(s) {
          status = s;
          if (timedOut) killGroup('SIGKILL'); // what the command left of its group
        },
        done() {
          for (const t of timers) t.clear();
          resolve({ status, output: output.text(), stdout: stdout.text(), stderr: stderr.text(), ...(timedOut ? { timedOut } : {}) });
        },
        failed(err, stage, code) {
          for (const t of timers) t.clear();
          if (stage === 'cwd') reject(new CfnError(`cannot run ${file}: working directory ${opts.cwd}: ${code}`));
          else if (code === 'ENOENT') reject(new CommandNotFoundError(`${file}: command not found${opts.cwd && !stage ? ` (or working directory ${opts.cwd} missing)` : ''}`));
          else reject(new CfnError(`cannot run ${file}: ${stage ? code : err.message}`));
        },
      };
      const env = withoutToolCredentials(opts.env ?? this.env, this.env);
      // Without input stdin is /dev/null: a command reading it sees the end at once, as with an empty pipe, for one pipe less per run.
      if (this.launcher && uid === undefined) this.launcher.spawn({ file, args, env, cwd: opts.cwd, setsid: timed, input: opts.input }, sink);
      else spawnWithNode(file, args, { cwd: opts.cwd, env, uid, gid, detached: timed, input: opts.input }, sink);
    });
  }

  which(name: string): string | undefined {
    if (name.includes('/')) return isExecutable(name) ? name : undefined;
    for (const dir of (this.env.PATH ?? '').split(':').filter(Boolean)) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
    return undefined;
  }

  user(nameOrUid: string): UserInfo | undefined {
    const f = getent('passwd', nameOrUid);
    return f && { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
  }

  group(nameOrGid: string): GroupInfo | undefined {
    const f = getent('group', nameOrGid);
    return f && { name: f[0], gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] };
  }
}

/**
 * Node's own spawn (a fork of the runtime) behind the launcher's events:
 * where no launcher is, and for a uid change without setpriv.
 */
function spawnWithNode(file: string, args: string[], o: { cwd?: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number; detached: boolean; input?: string }, sink: SpawnSink): void {
  const child = spawn(file, args, { cwd: o.cwd, env: o.env, uid: o.uid, gid: o.gid, detached: o.detached, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (o.input !== undefined) {
    // A command that exits without reading all of it is not an error of ours.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(o.input);
  }
  if (child.pid !== undefined) sink.started(child.pid);
  child.stdout!.on('data', (d: Buffer) => sink.stdout(d));
  child.stderr!.on('data', (d: Buffer) => sink.stderr(d));
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    sink.done();
  };
  child.on('error', (err: NodeJS.ErrnoException) => {
    ended = true;
    sink.failed(err, undefined, err.code);
  });
  child.on('close', end);
  // A daemon started in the background keeps our pipes open after the
  // command itself exited (AWS's cfn-init hangs there): take what output
  // arrives shortly after the exit, then stop reading.
  child.on('exit', (code, signal) => {
    sink.exited(code ?? (signal ? 128 + signalNumber(signal) : 1));
    setTimeout(() => {
      child.stdout!.destroy();
      child.stderr!.destroy();
      end();
    }, OUTPUT_GRACE_MS).unref();
  });
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false; // missing or not executable: not found, as `command -v` says
  }
}

/** NSS lookup (files, LDAP, sssd alike), as the shadow utilities see it. `--`: a key is never an option. */
function getent(db: string, key: string): string[] | undefined {
  const r = spawnSync('getent', [db, '--', key], { encoding: 'utf8', env: withoutToolCredentials(process.env, process.env) });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].split(':');
}

function signalNumber(signal: NodeJS.Signals): number {
  const n = (require('node:os') as typeof import('node:os')).constants.signals[signal];
  return typeof n === 'number' ? n : 0;
}
