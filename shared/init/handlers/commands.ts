/**
 * `commands`: run programs in name order (code-point order, as both peers
 * sort), each optionally guarded by a `test`, in a `cwd`, with a replaced
 * environment (`env`, AWS semantics), as another user for real (`runas`:
 * real uid and gid), then optionally wait: N seconds, or `forever`, which
 * ends the run here so the machine can reboot (the engine saves progress;
 * `cfn-init --resume` continues after this command).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from '../../timer';
import { CfnError } from '../../errors';
import { compareCodePoints } from '../../pystr';
import { CommandNotFoundError, type RunResult, type System } from '../../system';
import { CommandError } from './command';
import { checkPrincipal, lookupNote, UnknownPrincipalError, type PrincipalRef } from '../principals';
import { checkKeys, child, describe, expectBoolean, expectObject, IGNORED, isWindowsPath, type Problems, WINDOWS_UNSUPPORTED } from '../validation';
import type { Action, ActionResult, Change, HandlerContext, InitHandler, ValidationContext } from './types';

export interface CommandSpec {
  name: string;
  /** A string runs through `/bin/sh -c`; a list is exec'd directly. */
  command: string | string[];
  /** Replaces the whole environment; undefined inherits the tool's (AWS: `{}` inherits too). */
  env?: Record<string, string>;
  /** As written: `~` is expanded when the command runs. */
  cwd?: string;
  test?: string | string[];
  ignoreErrors: boolean;
  /** Seconds to wait after the command ran, or stop the run for a reboot. */
  wait: number | 'forever';
  runas?: PrincipalRef;
}

const ATTRIBUTES = ['command', 'env', 'cwd', 'test', 'ignoreErrors', 'waitAfterCompletion', 'runas'] as const;

/**
 * A program as a string (shell) or a non-empty argv list; numbers in a list
 * are taken as their text. An empty string is run as it is, like
 * aws-cfn-bootstrap does (`!If [Cond, cmd, '']` in real templates).
 */
function expectProgram(value: unknown, at: string, p: Problems, outcome: string): string | string[] | undefined {
  if (typeof value === 'string') {
    if (value.trim() === '') p.tolerate(at, 'empty command', outcome);
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      p.add(at, 'empty command list');
      return undefined;
    }
    const bad = value.findIndex((v) => typeof v !== 'string' && typeof v !== 'number');
    if (bad >= 0) {
      p.add(`${at}[${bad}]`, `expected a string, got ${describe(value[bad])}`);
      return undefined;
    }
    return value.map(String);
  }
  p.add(at, `expected a command string (run by /bin/sh) or a list of arguments (run directly), got ${describe(value)}`);
  return undefined;
}

/** The variables; undefined to inherit (an empty object, as in AWS); null after a problem. */
function expectEnv(value: unknown, at: string, p: Problems): Record<string, string> | undefined | null {
  const obj = expectObject(value, at, p);
  if (!obj) return null;
  const env: Record<string, string> = {};
  let ok = true;
  for (const [k, v] of Object.entries(obj)) {
    if (k === '' || k.includes('=') || k.includes('\0')) {
      p.add(child(at, k), 'not a valid environment variable name');
      ok = false;
    } else if (typeof v === 'string' || typeof v === 'number') {
      env[k] = String(v);
    } else {
      p.add(child(at, k), `expected a string, got ${describe(v)}`);
      ok = false;
    }
  }
  if (!ok) return null;
  // AWS: an empty env is falsy, so the environment is inherited.
  return Object.keys(env).length ? env : undefined;
}

function expectWait(value: unknown, at: string, p: Problems): number | 'forever' | undefined {
  if (typeof value === 'string' && value.trim().toLowerCase() === 'forever') return 'forever';
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isFinite(n) && n >= 0) return n;
  p.add(at, `expected a number of seconds or "forever", got ${describe(value)}`);
  return undefined;
}

function validateOne(name: string, raw: unknown, at: string, ctx: ValidationContext): CommandSpec | undefined {
  const p = ctx.problems;
  const obj = expectObject(raw, at, p);
  if (!obj) return undefined;
  const before = p.list.length;
  const { defaults, ...attributes } = obj;
  checkKeys(attributes, ATTRIBUTES, at, p, IGNORED);
  if (defaults !== undefined) p.add(child(at, 'defaults'), 'not supported (an undocumented aws-cfn-bootstrap attribute); put the attributes in the command itself');
  if (!('command' in obj)) p.add(at, "no 'command' attribute");
  const command = 'command' in obj ? expectProgram(obj.command, child(at, 'command'), p, 'runs sh -c "", which does nothing') : undefined;
  const test = 'test' in obj ? expectProgram(obj.test, child(at, 'test'), p, 'runs sh -c "", which succeeds: the command runs') : undefined;
  const env = 'env' in obj ? expectEnv(obj.env, child(at, 'env'), p) : undefined;
  let cwd: string | undefined;
  if ('cwd' in obj) {
    if (typeof obj.cwd !== 'string') p.add(child(at, 'cwd'), `expected a directory path, got ${describe(obj.cwd)}`);
    else if (isWindowsPath(obj.cwd)) p.add(child(at, 'cwd'), `a Windows path: ${WINDOWS_UNSUPPORTED}`);
    else if (!obj.cwd.startsWith('/') && !obj.cwd.startsWith('~')) p.add(child(at, 'cwd'), `expected an absolute path (or ~), got ${JSON.stringify(obj.cwd)}`);
    else cwd = obj.cwd;
  }
  const ignoreErrors = 'ignoreErrors' in obj ? expectBoolean(obj.ignoreErrors, child(at, 'ignoreErrors'), p) : false;
  const wait = 'waitAfterCompletion' in obj ? expectWait(obj.waitAfterCompletion, child(at, 'waitAfterCompletion'), p) : 0;
  let runas: PrincipalRef | undefined;
  if ('runas' in obj) {
    if (typeof obj.runas !== 'string' || obj.runas.trim() === '') p.add(child(at, 'runas'), `expected a user name, got ${describe(obj.runas)}`);
    else runas = checkPrincipal('user', obj.runas, child(at, 'runas'), ctx, `no user ${JSON.stringify(obj.runas)} on this machine`);
  }
  if (p.list.length > before || command === undefined || ignoreErrors === undefined || wait === undefined || env === null || ('runas' in obj && !runas)) return undefined;
  return { name, command, env, cwd, test, ignoreErrors, wait, runas };
}

/** `~` and `~user` as Python's os.path.expanduser reads them. */
export function expandHome(dir: string, env: NodeJS.ProcessEnv, system: System, keyPath: string): string {
  const m = /^~([^/]*)(\/.*)?$/.exec(dir);
  if (!m) return dir;
  const [, user, rest = ''] = m;
  let home: string | undefined;
  if (user) home = system.user(user)?.home;
  else home = env.HOME || system.user(String(process.getuid?.() ?? 0))?.home;
  if (!home) throw new CfnError(`${child(keyPath, 'cwd')}: cannot expand ${dir}: ${user ? `no user ${user}` : 'no home directory'}`);
  return path.join(home, rest);
}

function show(program: string | string[]): string {
  return typeof program === 'string' && program.trim() !== '' ? program : JSON.stringify(program);
}

/** Run one program, a missing executable counting as exit 127 like a shell would report it. */
async function runProgram(system: System, program: string | string[], opts: Parameters<System['run']>[1]): Promise<RunResult> {
  try {
    return await system.run(program, opts);
  } catch (err) {
    if (!(err instanceof CommandNotFoundError)) throw err;
    return { status: 127, output: `${err.message}\n`, stdout: '', stderr: `${err.message}\n` };
  }
}

/** The output, and what came of it, in one write. */
function logOutput(log: HandlerContext['commandLog'], output: string, outcome: string): void {
  log.infoLines(output ? ['Command output:', ...output.replace(/\n$/, '').split('\n').map((line) => `\t${line}`), outcome] : [outcome]);
}

export class CommandAction implements Action {
  readonly summary: string;
  readonly changes: readonly Change[];
  readonly step: { readonly name: string; readonly stopsRun: boolean };
  constructor(readonly spec: CommandSpec) {
    const extras = [
      spec.test !== undefined && `if test ${show(spec.test)} succeeds`,
      spec.cwd && `in ${spec.cwd}`,
      spec.runas && `as ${spec.runas.name}`,
      spec.env && `with env ${Object.keys(spec.env).join(',')} only`,
      spec.ignoreErrors && 'ignoring errors',
      spec.wait === 'forever' ? 'then stop for a reboot' : spec.wait > 0 && `then wait ${spec.wait}s`,
    ].filter(Boolean);
    const note = spec.runas && lookupNote('runas', spec.runas, 'when the command runs');
    this.summary = `run command ${spec.name}: ${show(spec.command)}${extras.length ? ` (${extras.join(', ')})` : ''}${note ? `; ${note}` : ''}`;
    this.changes = [{ key: 'commands', name: spec.name }];
    // The run stops after this command (if it ran) so that the machine can reboot.
    this.step = { name: spec.name, stopsRun: spec.wait === 'forever' };
  }

  async apply(ctx: HandlerContext): Promise<ActionResult> {
    const { spec } = this;
    const keyPath = child(ctx.keyPath, spec.name);
    const cwd = spec.cwd === undefined ? undefined : expandHome(spec.cwd, ctx.env, ctx.system, keyPath);
    if (cwd !== undefined && !isDirectory(cwd)) throw new CfnError(`${child(keyPath, 'cwd')}: working directory ${cwd} does not exist`);
    // Looked up now: an earlier step of the run may have created it.
    const user = spec.runas && ctx.system.user(spec.runas.name);
    if (spec.runas && !user) throw new UnknownPrincipalError(child(keyPath, 'runas'), 'user', spec.runas);
    // Inherited, as that user: its identity variables, as `su` would set them.
    const env = spec.env ?? (user ? { ...ctx.env, HOME: user.home, USER: user.name, LOGNAME: user.name } : ctx.env);
    const opts = { cwd, env, user: spec.runas?.name };
    const log = ctx.commandLog;
    const heading = `==== Command ${spec.name} (${keyPath})`;

    if (spec.test !== undefined) {
      log.infoLines([heading, `Test: ${show(spec.test)}`]);
      const t = await runProgram(ctx.system, spec.test, opts);
      if (t.status !== 0) {
        logOutput(log, t.output, `Test exited with code ${t.status}: command skipped.`);
        ctx.logger.info(`${keyPath}: test exited with code ${t.status}; skipping the command`);
        return { changed: false };
      }
      logOutput(log, t.output, `Running: ${show(spec.command)}`);
    } else {
      log.infoLines([heading, `Running: ${show(spec.command)}`]);
    }
    const r = await runProgram(ctx.system, spec.command, opts);
    if (r.status === 0) {
      logOutput(log, r.output, 'Completed successfully.');
      ctx.logger.info(`${keyPath}: completed successfully`);
    } else {
      logOutput(log, r.output, `Exited with error code ${r.status}`);
      if (!spec.ignoreErrors) throw new CommandError(keyPath, r.status, r.output);
      ctx.logger.warn(`${keyPath}: exited with code ${r.status}; ignored (ignoreErrors)`);
    }
    if (typeof spec.wait === 'number' && spec.wait > 0) {
      ctx.logger.info(`${keyPath}: waiting ${spec.wait} s (waitAfterCompletion)`);
      await sleep(spec.wait * 1000);
    }
    // A command that ran counts as a change even when its failure was ignored (AWS: services restart for it).
    return { changed: true };
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw new CfnError(`cannot check working directory ${dir}: ${(err as Error).message}`);
  }
}

export const commandsHandler: InitHandler<CommandSpec[]> = {
  key: 'commands',
  validate(raw, at, ctx) {
    const obj = expectObject(raw, at, ctx.problems);
    if (!obj) return undefined;
    const specs: CommandSpec[] = [];
    let ok = true;
    for (const name of Object.keys(obj).sort(compareCodePoints)) {
      const spec = validateOne(name, obj[name], child(at, name), ctx);
      if (spec) specs.push(spec);
      else ok = false;
    }
    return ok ? specs : undefined;
  },
  async plan(specs) {
    return specs.map((s) => new CommandAction(s));
  },
};
