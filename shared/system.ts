/**
 * The machine as the tools see it: running programs (as another user for
 * real, with `runas`) and looking up users and groups. Callers never spawn
 * processes themselves, so tests can record what would run where the real
 * thing cannot (systemd without PID 1).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnError } from './errors';

export interface RunOptions {
  cwd?: string;
  /** Full environment; default: the tool's own environment. */
  env?: NodeJS.ProcessEnv;
  /** Run as this user (name or uid): the real uid/gid change, not just the effective one. */
  user?: string;
  timeoutMs?: number;
}

export interface RunResult {
  status: number;
  /** stdout and stderr interleaved as produced (for cfn-init-cmd.log). */
  output: string;
  stdout: string;
  stderr: string;
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

/** The real machine. `env` is the tool's environment: its PATH is where programs are looked up. */
export class HostSystem implements System {
  constructor(protected readonly env: NodeJS.ProcessEnv = process.env) {}

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
      // stdin is /dev/null: a command reading it sees the end at once, as with an empty pipe, for one pipe less per run.
      const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? this.env, uid, gid, timeout: opts.timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        output += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
        output += d;
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new CommandNotFoundError(`${file}: command not found${opts.cwd ? ` (or working directory ${opts.cwd} missing)` : ''}`));
        else reject(new CfnError(`cannot run ${file}: ${err.message}`));
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null) =>
        resolve({ status: code ?? (signal ? 128 + signalNumber(signal) : 1), output, stdout, stderr });
      child.on('close', finish);
      // A daemon started in the background keeps our pipes open after the
      // command itself exited (AWS's cfn-init hangs there): take what output
      // arrives shortly after the exit, then stop reading.
      child.on('exit', (code, signal) => {
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, signal);
        }, OUTPUT_GRACE_MS).unref();
      });
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

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false; // missing or not executable: not found, as `command -v` says
  }
}

/** NSS lookup (files, LDAP, sssd alike), as the shadow utilities see it. */
function getent(db: string, key: string): string[] | undefined {
  const r = spawnSync('getent', [db, key], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].split(':');
}

function signalNumber(signal: NodeJS.Signals): number {
  const n = (require('node:os') as typeof import('node:os')).constants.signals[signal];
  return typeof n === 'number' ? n : 0;
}
