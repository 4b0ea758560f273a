/**
 * A Debian root booted with systemd as PID 1 under systemd-nspawn, and
 * commands run inside it: what the boot tests' driver (boot-driver.ts) works
 * with. The driver runs in a mount, network and pid namespace of its own.
 *
 * What makes nspawn boot on a machine whose own PID 1 is not systemd (no
 * machined, no D-Bus): `--register=no` (no machined) and `--keep-unit` (no
 * transient scope, which only the host's systemd could make). nspawn gives
 * the container the host's cgroup layout (v1 hierarchies with cgroup2 at
 * /sys/fs/cgroup/unified, or cgroup2 alone); systemd 252 runs on both. The
 * container shares its parent's network namespace (`lo` only, where the
 * emulator listens). Commands run inside through nsenter into every
 * namespace of the container's PID 1 (machinectl needs machined). A reboot
 * inside ends nspawn with exit code 133 (poweroff: 0); booting the same
 * directory again is the machine coming back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess } from '../support/cli';

/** A command's end: exit code (null when it was killed, at its bound or otherwise), output, duration. */
export interface Step {
  rc: number | null;
  out: string;
  err: string;
  ms: number;
}

/** nspawn's exit code when the container rebooted. */
export const REBOOT_EXIT_CODE = 133;
/** The environment of commands run inside, as a login shell of root would have it. */
const INSIDE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'HOME=/root'];

export class BootError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid, in our namespace, of the child of `parent` that is PID 1 of a pid namespace below ours. */
function containerInit(parent: number): number | undefined {
  let children: string[];
  try {
    children = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return undefined; // nspawn has gone
  }
  for (const c of children) {
    try {
      const status = fs.readFileSync(`/proc/${c}/status`, 'utf8');
      if (/^NSpid:\s+\d+\s+1$/m.test(status)) return Number(c);
    } catch {
      // a child that ended while we looked (nspawn's outer child does)
    }
  }
  return undefined;
}

export class Container {
  private nspawn?: ChildProcess;
  private exit?: Promise<number | null>;
  /** The container's PID 1, as our pid namespace numbers it. */
  pid1?: number;
  boots = 0;

  /** `dir`: the root (an overlay: nspawn writes into it); `consoleLog`: where each boot's console output goes. */
  constructor(
    readonly dir: string,
    readonly name: string,
    readonly consoleLog: string,
  ) {}

  /** Start systemd in the root; resolves once PID 1 is there (not yet booted: waitBooted). */
  async boot(timeoutMs: number): Promise<void> {
    if (this.nspawn) throw new BootError(`${this.name} is still running`);
    this.boots++;
    fs.appendFileSync(this.consoleLog, `--- boot ${this.boots} ---\n`);
    const consoleFd = fs.openSync(this.consoleLog, 'a');
    const child = spawn('systemd-nspawn', [
      '--quiet', '--boot', `--directory=${this.dir}`, `--machine=${this.name}`,
      '--register=no', '--keep-unit',
      // A pty as systemd's console, so that it shows its start-up and shutdown lines (in the log); no input.
      '--console=read-only',
      // Nothing of the host's: no journal linked into its /var/log/journal, no .nspawn settings file.
      '--link-journal=no', '--settings=no',
    ], { stdio: ['ignore', consoleFd, consoleFd] });
    fs.closeSync(consoleFd);
    this.nspawn = child;
    this.exit = new Promise((resolve) => {
      child.on('error', () => resolve(null));
      child.on('exit', (code) => resolve(code));
    });
    void this.exit.then(() => {
      this.nspawn = undefined;
      this.pid1 = undefined;
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.nspawn) break;
      const pid = containerInit(child.pid!);
      if (pid !== undefined) {
        this.pid1 = pid;
        return;
      }
      await sleep(50);
    }
    if (this.nspawn) child.kill('SIGKILL');
    throw new BootError(`systemd-nspawn did not start the root's systemd within ${timeoutMs / 1000} s: ${this.consoleTail()}`);
  }

  consoleTail(): string {
    try {
      // Without systemd's colour codes, which only get in the way in a failure message.
      return fs.readFileSync(this.consoleLog, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no console output)';
    }
  }

  /** A command inside (all of PID 1's namespaces, a clean environment). */
  async exec(argv: string[], timeoutMs = 60_000): Promise<Step> {
    if (this.pid1 === undefined) return { rc: null, out: '', err: `${this.name} is not running`, ms: 0 };
    const start = Date.now();
    const r = await runProcess(['nsenter', '-t', String(this.pid1), '-a', '/usr/bin/env', '-i', ...INSIDE_ENV, ...argv], { timeoutMs });
    const ms = Date.now() - start;
    return { rc: r.status, out: r.stdout, err: r.status === null && ms >= timeoutMs ? `${r.stderr}(stopped at its bound, ${timeoutMs / 1000} s)` : r.stderr, ms };
  }

  sh(script: string, timeoutMs = 60_000): Promise<Step> {
    return this.exec(['sh', '-c', script], timeoutMs);
  }

  /**
   * Waits for the boot to end (`systemctl is-system-running --wait`: every
   * start-up job done, oneshot units such as cloud-final included); the
   * state it reached: running, degraded...
   */
  async waitBooted(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: Step | undefined;
    while (Date.now() < deadline) {
      // Until systemd has made /run/systemd/system and listens on its private socket, systemctl answers
      // at once (offline, or nothing): only a state after start-up ends the wait.
      last = await this.exec(['systemctl', 'is-system-running', '--wait'], Math.max(1000, deadline - Date.now()));
      const state = last.out.trim();
      if (['running', 'degraded', 'maintenance', 'stopping'].includes(state)) return state;
      if (this.pid1 === undefined) break;
      await sleep(200);
    }
    throw new BootError(`${this.name} did not finish booting within ${timeoutMs / 1000} s (systemctl: ${last?.out.trim()} ${last?.err.trim()}): ${this.consoleTail()}`);
  }

  /** nspawn's exit code once the container has stopped (133: it rebooted), or throws after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    if (!this.exit) throw new BootError(`${this.name} was never started`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BootError(`${this.name} did not stop within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Shut down as an administrator would, then kill what is left after `timeoutMs`. */
  async poweroff(timeoutMs: number): Promise<number | null> {
    if (!this.nspawn) return this.exit ? this.exit : null;
    await this.exec(['systemctl', 'poweroff'], 10_000);
    try {
      return await this.waitExit(timeoutMs);
    } catch (err) {
      this.nspawn?.kill('SIGKILL');
      throw err;
    }
  }

  /** A file of the root, read from outside (the overlay is the container's /). */
  read(file: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.dir, file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Write a file of the root from outside; its directories are made 0755. */
  write(file: string, text: string | Buffer, mode = 0o644): void {
    const p = path.join(this.dir, file);
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    fs.writeFileSync(p, text, { mode });
    fs.chmodSync(p, mode);
  }
}
