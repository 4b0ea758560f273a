/**
 * A throw-away cfn-hup installation for tests: a configuration directory,
 * state and cache directories, a credential file, and the endpoint emulator
 * serving a stack of two resources, all under one temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';

export const STACK = 'hupstack';
export const ACCESS_KEY = 'AKIDHUPTEST000000000000000000001';
export const SECRET_KEY = 'hup-secret/key+value';

export interface Daemon {
  child: ChildProcess;
  stderr(): string;
  /** Exit status once it ended. */
  exited: Promise<number | null>;
}

export class HupBox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-'));
  readonly etc = path.join(this.dir, 'etc');
  readonly out = path.join(this.dir, 'out');
  readonly logFile = path.join(this.dir, 'cfn-hup.log');
  readonly pidFile = path.join(this.dir, 'cfn-hup.pid');
  private readonly daemons: Daemon[] = [];

  private constructor(readonly emulator: Emulator) {
    // Hooks run as nobody reach out/ through it.
    fs.chmodSync(this.dir, 0o755);
    fs.mkdirSync(path.join(this.etc, 'hooks.d'), { recursive: true });
    // Hooks run as nobody write here.
    fs.mkdirSync(this.out, { mode: 0o777 });
    fs.chmodSync(this.out, 0o777);
    fs.writeFileSync(path.join(this.dir, 'creds'), `AWSAccessKeyId=${ACCESS_KEY}\nAWSSecretKey=${SECRET_KEY}\n`, { mode: 0o600 });
  }

  static async create(): Promise<HupBox> {
    const emulator = await startEmulator({
      stacks: [
        {
          name: STACK,
          resources: {
            Web: { type: 'AWS::EC2::Instance', physicalId: 'web-1', metadata: { foo: { v: 1 }, 'AWS::CloudFormation::Init': { config: {} } } },
            Db: { type: 'AWS::EC2::Instance', physicalId: 'db-1', metadata: { bar: 1 } },
          },
          credentials: [{ accessKey: ACCESS_KEY, secretKey: SECRET_KEY }],
        },
      ],
    });
    return new HupBox(emulator);
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return toolEnv({
      CFNTOOLS_CFN_DIR: this.etc,
      CFNTOOLS_HUP_STATE_DIR: path.join(this.dir, 'state'),
      CFNTOOLS_CACHE_DIR: path.join(this.dir, 'cache'),
      CFNTOOLS_STATE_DIR: path.join(this.dir, 'cfn-init-state'),
      CFNTOOLS_HEAT_DIR: path.join(this.dir, 'heat'),
      ...extra,
    });
  }

  /** cfn-hup.conf: the emulator, the key file, checks every second, no splay; `extra` lines added. */
  writeMain(extra = ''): void {
    this.write('cfn-hup.conf', `[main]\nstack=${STACK}\ncredential-file=${path.join(this.dir, 'creds')}\nurl=${this.emulator.apiUrl}\ninterval=1s\nsplay=0\n${extra}`);
  }

  /** A hook file in hooks.d. */
  writeHook(file: string, text: string): void {
    this.write(path.join('hooks.d', file), text);
  }

  private write(rel: string, text: string): void {
    const file = path.join(this.etc, rel);
    fs.writeFileSync(file, text, { mode: 0o644 });
  }

  /** A hook appending `<old> -> <new>` to out/<name>. */
  hook(name: string, p: string, triggers = 'post.update', extra = ''): string {
    return `[${name}]\ntriggers=${triggers}\npath=${p}\naction=echo "$CFN_OLD_METADATA -> $CFN_NEW_METADATA" >> ${this.out}/${name}\n${extra}`;
  }

  /** `out/<name>`, absolute: a detached daemon works in /. */
  outFile(name: string): string {
    return path.join(this.out, name);
  }

  /** The lines a hook wrote. */
  fired(name: string): string[] {
    const f = path.join(this.out, name);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return runProcess([process.execPath, BUNDLE, 'cfn-hup', '--log-file', this.logFile, ...args], { env: this.env(extraEnv), cwd: this.dir });
  }

  /**
   * cfn-hup --foreground, in the box's directory (hook actions write to out/
   * relative to it). With `journal`, its stderr is that file and
   * JOURNAL_STREAM names it, as systemd sets both for a unit.
   */
  start(args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}, journal?: string): Daemon {
    const argv = [BUNDLE, 'cfn-hup', '--foreground', '--pid-file', this.pidFile, '--log-file', this.logFile, ...args];
    let child: ChildProcess;
    let stderr: () => string;
    if (journal) {
      const fd = fs.openSync(journal, 'a', 0o600);
      const st = fs.fstatSync(fd, { bigint: true });
      child = spawn(process.execPath, argv, { env: this.env({ ...extraEnv, JOURNAL_STREAM: `${st.dev}:${st.ino}` }), cwd: this.dir, stdio: ['ignore', 'ignore', fd] });
      fs.closeSync(fd);
      stderr = () => fs.readFileSync(journal, 'utf8');
    } else {
      child = spawn(process.execPath, argv, { env: this.env(extraEnv), cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr?.on('data', (d) => (err += d));
      stderr = () => err;
    }
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const d = { child, stderr, exited };
    this.daemons.push(d);
    return d;
  }

  /** Poll until `check` holds (its last failure is the error after `ms`). */
  async until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n--- cfn-hup.log\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Number of completed checks the log shows (DEBUG lines, so run with -v). */
  checks(): number {
    return (this.log().match(/ check \d+ done/g) ?? []).length;
  }

  async close(): Promise<void> {
    for (const d of this.daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await Promise.all(this.daemons.map((d) => d.exited));
    await this.emulator.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
