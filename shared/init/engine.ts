/**
 * The cfn-init engine: validate, then plan, then apply.
 *
 * The whole selected run is validated before anything changes: every config
 * of every selected set, every key by its handler, unknown keys included
 * (AWS ignores them silently; here they are warnings, or errors with
 * --strict: validation.ts). Only then is each config applied,
 * key by key in AWS's order, each key planned from the machine as the
 * previous keys left it. The first failure stops the run and the log says
 * what was done before it and what was not run.
 */
import type { DurableWriter } from '../durable-write';
import { CfnError, errorMessage } from '../errors';
import type { Logger } from '../log';
import { configPath, selectConfigs, type SelectedConfig } from './configsets';
import { ChangeSet, INIT_KEYS, type Action, type ActionResult, type Downloader, type HandlerContext, type InitHandler, type InitKey, type ValidationContext } from './handlers/types';
import type { Limits } from './limits';
import { principalDirectory } from './principals';
import { serializeChanges, type Position, type SerializedChanges } from './progress';
import type { System } from '../system';
import { child, describe, IGNORED, InitValidationError, isObject, Problems, type Problem } from './validation';

export const INIT_KEY = 'AWS::CloudFormation::Init';

export interface PlannedConfig {
  selected: SelectedConfig;
  /** Key path of the config: `configSets.default[1] -> config2`. */
  path: string;
  /** The validated spec of each key present, in INIT_KEYS order. */
  keys: Array<{ key: InitKey; spec: unknown }>;
}

export interface ValidatedRun {
  configs: PlannedConfig[];
  /** No selected config asks for anything (`{}`, empty configs): the run configures nothing. */
  empty: boolean;
  /** The mistakes aws-cfn-bootstrap runs anyway, each with what this run does about it (none under strict). */
  tolerated: Problem[];
}

export interface ValidateOptions {
  /** `-c` names; undefined runs `default`. */
  configSets: string[] | undefined;
  system: System;
  /** Names of AWS::CloudFormation::Authentication blocks. */
  authenticationNames: ReadonlySet<string>;
  /** Problems found before (the Authentication block): reported together with these. */
  problems?: Problems;
  /** One per Init key (handlers/index.ts HANDLERS). */
  handlers: ReadonlyArray<InitHandler<unknown>>;
  /** Origin of the metadata, for the error message. */
  source?: string;
  limits: Limits;
  /** Tolerated problems are errors too (cfn-init --strict). */
  strict?: boolean;
}

/** Names a config declares under `key` (users or groups), whatever else is wrong with it. */
function declared(configs: Array<unknown>, key: 'users' | 'groups'): Set<string> {
  const names = new Set<string>();
  for (const c of configs) if (isObject(c) && isObject(c[key])) for (const n of Object.keys(c[key])) names.add(n);
  return names;
}

const hasEntries = (v: unknown): boolean => (isObject(v) ? Object.keys(v).length > 0 : Array.isArray(v) && v.length > 0);
/** `packages` with at least one package under some manager. */
const installsPackages = (config: unknown): boolean => isObject(config) && isObject(config.packages) && Object.values(config.packages).some(hasEntries);
const runsCommands = (config: unknown): boolean => isObject(config) && hasEntries(config.commands);

/** Nothing to do in it: no Init key (others are ignored), or keys with nothing under them (`files: {}`, `packages: {yum: {}}`). */
function isEmptyConfig(config: unknown): boolean {
  if (!isObject(config)) return false;
  return INIT_KEYS.every((key) => (key === 'packages' || key === 'services') && isObject(config[key]) ? !Object.values(config[key]).some(hasEntries) : !hasEntries(config[key]));
}

/**
 * The nearest step before the keys of `selected[i]` that can create users
 * and groups, in AWS's key order: this config's packages, else the commands
 * or packages of the closest earlier config that has some.
 */
function creatorBefore(init: Record<string, unknown>, selected: readonly SelectedConfig[], i: number): string | undefined {
  if (installsPackages(init[selected[i].name])) return 'packages';
  for (let j = i - 1; j >= 0; j--) {
    const earlier = init[selected[j].name];
    if (runsCommands(earlier)) return `the commands of config ${selected[j].name}`;
    if (installsPackages(earlier)) return `the packages of config ${selected[j].name}`;
  }
  return undefined;
}

/**
 * Check the selected configs of `init` (the AWS::CloudFormation::Init value)
 * and return them with their typed specs and the tolerated problems; throws
 * InitValidationError listing every error (with `strict`, every problem).
 * Changes nothing.
 */
export function validateRun(init: unknown, opts: ValidateOptions): ValidatedRun {
  const p = opts.problems ?? new Problems();
  const handlers = opts.handlers;
  if (!isObject(init)) {
    p.add(INIT_KEY, `expected an object, got ${describe(init)}`);
    throw new InitValidationError(p.list, opts.source);
  }
  const selected = selectConfigs(init, opts.configSets, p);
  const raw = selected.map((s) => init[s.name]);
  const principals = principalDirectory(opts.system, { users: declared(raw, 'users'), groups: declared(raw, 'groups') });

  // A config listed twice runs twice but is checked (and reported) once, at its first place.
  const checked = new Map<string, Array<{ key: InitKey; spec: unknown }>>();
  const configs: PlannedConfig[] = [];
  for (const [i, s] of selected.entries()) {
    const path = configPath(s);
    let keys = checked.get(s.name);
    if (!keys) {
      const vctx: ValidationContext = {
        problems: p,
        principals,
        createdBy: creatorBefore(init, selected, i),
        system: opts.system,
        authenticationNames: opts.authenticationNames,
        limits: opts.limits,
      };
      keys = validateConfig(init[s.name], path, handlers, vctx);
      checked.set(s.name, keys);
    }
    configs.push({ selected: s, path, keys });
  }
  p.throwIfAny(opts.source, opts.strict);
  return { configs, empty: raw.every(isEmptyConfig), tolerated: p.tolerated };
}

function validateConfig(raw: unknown, path: string, handlers: ReadonlyArray<InitHandler<unknown>>, ctx: ValidationContext): Array<{ key: InitKey; spec: unknown }> {
  const p = ctx.problems;
  if (!isObject(raw)) {
    p.add(path, `expected a config object (keys ${INIT_KEYS.join(', ')}), got ${describe(raw)}`);
    return [];
  }
  for (const k of Object.keys(raw)) {
    if (!(INIT_KEYS as readonly string[]).includes(k)) p.tolerate(child(path, k), `unknown key; a config holds ${INIT_KEYS.join(', ')}`, IGNORED);
  }
  const keys: Array<{ key: InitKey; spec: unknown }> = [];
  for (const key of INIT_KEYS) {
    if (!(key in raw)) continue;
    const handler = handlers.find((h) => h.key === key);
    if (!handler) throw new CfnError(`internal: no handler for ${key}`);
    const spec = handler.validate(raw[key], child(path, key), ctx);
    if (spec !== undefined) keys.push({ key, spec });
  }
  return keys;
}

export interface ApplyOptions {
  system: System;
  logger: Logger;
  commandLog: Logger;
  downloader: Downloader;
  env: NodeJS.ProcessEnv;
  /** Plan only: print the plan, record planned changes as if applied, change nothing. */
  dryRun: boolean;
  /** Where the --dry-run plan goes, one line at a time (only with dryRun). */
  print?: (line: string) => void;
  /** Continue a run that stopped for a reboot. */
  resume?: { position: Position; changes: ChangeSet };
  /** Saves progress around commands that stop the run (not used for --dry-run). */
  checkpoint?: Checkpointer;
  handlers: ReadonlyArray<InitHandler<unknown>>;
  writer: DurableWriter;
  limits: Limits;
}

/**
 * Progress around a command that stops the run (waitAfterCompletion:
 * forever): saved before it runs, with the place after it, because the
 * command may reboot the machine before it returns and must not run again
 * on resume; taken back when the command fails.
 */
export interface Checkpointer {
  save(position: Position, changes: SerializedChanges, stoppedAt: string): Promise<void>;
  revert(): Promise<void>;
}

export type RunOutcome = { kind: 'complete'; changes: ChangeSet } | { kind: 'stopped'; at: string; changes: ChangeSet };

/** Apply a validated run (or with dryRun, plan and print it). */
export async function applyRun(run: ValidatedRun, opts: ApplyOptions): Promise<RunOutcome> {
  const log = opts.logger;
  const handlers = opts.handlers;
  const print = opts.dryRun && opts.print ? opts.print : () => undefined;
  const changes = opts.resume?.changes ?? new ChangeSet();
  const start = opts.resume?.position;
  if (start) {
    const at = run.configs[start.config];
    if (!at || at.selected.name !== start.configName) {
      throw new CfnError(`saved progress does not match this run: config #${start.config + 1} is ${at ? at.selected.name : 'missing'}, expected ${start.configName}`);
    }
    log.info(`Resuming at config ${at.path}: ${start.config} config(s) and commands ${start.commandsDone.join(', ') || '(none)'} already done`);
    if (opts.dryRun) print(`(resuming: ${start.config} config(s) done; in ${at.path} the keys before commands and commands ${start.commandsDone.join(', ') || '(none)'} are done)`);
  }

  const done: string[] = [];
  let current = '';
  let currentIndex = -1;
  let lastSet: string | undefined;
  try {
    for (const [index, config] of run.configs.entries()) {
      if (start && index < start.config) continue;
      const resumeHere = start && index === start.config ? start : undefined;
      currentIndex = index;
      if (config.selected.configSet !== lastSet) {
        lastSet = config.selected.configSet;
        log.info(`Running configSet ${lastSet}`);
        opts.commandLog.info(`**** configSet ${lastSet}`);
        print(`configSet ${lastSet}`);
      }
      log.info(`Running config ${config.path}`);
      opts.commandLog.info(`++++ config ${config.path}`);
      print(`  config ${config.selected.name}${config.selected.via ? `  (${config.selected.via})` : ''}`);
      for (const { key, spec } of config.keys) {
        // On resume only commands can have stopped the run: the keys before them are done.
        if (resumeHere && INIT_KEYS.indexOf(key) < INIT_KEYS.indexOf('commands')) continue;
        const keyPath = child(config.path, key);
        current = keyPath;
        const handler = handlers.find((h) => h.key === key);
        if (!handler) throw new CfnError(`internal: no handler for ${key}`);
        const ctx: HandlerContext = {
          logger: log,
          system: opts.system,
          downloader: opts.downloader,
          changes,
          dryRun: opts.dryRun,
          keyPath,
          env: opts.env,
          commandLog: opts.commandLog,
          writer: opts.writer,
          limits: opts.limits,
        };
        let actions = await handler.plan(spec, ctx);
        const commandsDone = new Set(resumeHere?.commandsDone ?? []);
        if (resumeHere) actions = actions.filter((a) => !(a.step && commandsDone.has(a.step.name)));
        print(`    ${key}:${actions.length ? '' : ' nothing to do'}`);
        for (const action of actions) {
          print(`      - ${action.summary}`);
          // Only a dry run prints them (a key's thousand lines, made when asked).
          if (opts.dryRun) for (const line of action.details ?? []) print(`          ${line}`);
          if (opts.dryRun) {
            log.info(`${keyPath}: would ${action.summary}`);
            for (const c of action.changes ?? []) changes.record(c);
            continue;
          }
          log.info(`${keyPath}: ${action.summary}`);
          const step = action.step;
          const stops = step?.stopsRun === true;
          const result =
            step && stops && opts.checkpoint
              ? await applyWithCheckpoint(action, step.name, ctx, opts.checkpoint, { config: index, configName: config.selected.name, commandsDone: [...commandsDone, step.name] })
              : await action.apply(ctx);
          const changed = result.changed;
          if (changed) for (const c of result.changes ?? action.changes ?? []) changes.record(c);
          if (!changed) log.debug(`${keyPath}: no change`);
          if (step) commandsDone.add(step.name);
          done.push(action.summary);
          if (step && stops && changed) {
            const at = child(keyPath, step.name);
            log.info(`Stopping after ${at} (waitAfterCompletion: forever) so that the machine can reboot`);
            return { kind: 'stopped', at, changes };
          }
        }
      }
    }
  } catch (err) {
    const rest = run.configs.slice(currentIndex + 1).map((c) => c.path);
    log.error(`BUILD FAILED at ${current}: ${errorMessage(err)}`);
    log.error(done.length ? `Applied before the failure: ${summarize(done)}` : 'Nothing was applied before the failure');
    log.error(`Not run: the rest of ${current}${rest.length ? ` and the configs ${rest.join(', ')}` : ''}`);
    if (err instanceof CfnError) throw err;
    throw new CfnError(`${current}: ${errorMessage(err)}`, { cause: err });
  }
  log.info(opts.dryRun ? 'Dry run complete: nothing was changed' : 'ConfigSets completed');
  return { kind: 'complete', changes };
}

/**
 * Apply a command that stops the run: progress first (with the command
 * counted as done and as a change), taken back if the command fails.
 */
async function applyWithCheckpoint(action: Action, step: string, ctx: HandlerContext, checkpoint: Checkpointer, position: Position): Promise<ActionResult> {
  const snapshot = serializeChanges(ctx.changes);
  snapshot.commands = [...new Set([...snapshot.commands, step])].sort();
  await checkpoint.save(position, snapshot, child(ctx.keyPath, step));
  try {
    return await action.apply(ctx);
  } catch (err) {
    await checkpoint.revert();
    throw err;
  }
}

/** The applied actions for the failure log: the last ones in full, the earlier ones counted. */
function summarize(done: string[], keep = 20): string {
  const shown = done.slice(-keep).join('; ');
  return done.length > keep ? `(${done.length - keep} earlier actions); ${shown}` : shown;
}
