/**
 * The `services` key: `{sysvinit|systemd: {name: {enabled?, ensureRunning?,
 * files?, sources?, packages?, commands?, users?, groups?}}}`, in JSON order.
 *
 * Per service, as aws-cfn-bootstrap: first enable/disable, then a restart
 * when something the service lists changed, else start/stop as
 * ensureRunning asks. Differences, on purpose:
 * - a restart follows changes made anywhere in this run (the ChangeSet of
 *   the whole run), not only in the current config: a file written by
 *   config1 must restart the service config2 declares;
 * - `ensureRunning: false` wins over a restart (the service is stopped, not
 *   restarted into running); a stopped service that needs a restart is started;
 * - systemd restarts with `daemon-reload` then `restart`, not
 *   `reload-or-restart`: a changed package or unit must really restart;
 * - enable/start/stop run only when the state differs (second run: no actions).
 * heat-cfntools never restarts and ignores failures; here every failure of
 * these commands is an error, as in aws-cfn-bootstrap.
 *
 * A manager key other than these (`services: {httpd: {...}}`) is skipped
 * with a warning, as aws-cfn-bootstrap does (an error under --strict).
 * Which init system is used is what the key says. `systemd` on a machine
 * where systemd is not running (no /run/systemd/system, sd_booted()) is a
 * validation problem, not a late crash.
 */
import { DEFAULT_SERVICE_LOCATIONS, findServiceTools, isServiceName, serviceDriver, type ServiceLocations, type ServiceTools } from '../../service-control';
import { checkKeys, child, expectBoolean, expectObject, expectStringList, IGNORED, isObject, type Problems, WINDOWS_UNSUPPORTED } from '../validation';
import { checkManagerNames } from './packages';
import { run, runOrThrow } from './command';
import type { Action, ChangeSet, HandlerContext, InitHandler, ValidationContext } from './types';

const SERVICE_KEYS = ['enabled', 'ensureRunning', 'files', 'sources', 'packages', 'commands', 'users', 'groups'] as const;

export interface Watched {
  files: string[];
  sources: string[];
  commands: string[];
  users: string[];
  groups: string[];
  /** manager → package names */
  packages: Record<string, string[]>;
}

export interface ServiceSpec {
  name: string;
  enabled?: boolean;
  ensureRunning?: boolean;
  watch: Watched;
  tools: ServiceTools;
}

/** `a` changed in this run, as a reason for the log, or undefined. */
export function restartReason(watch: Watched, changes: ChangeSet): string | undefined {
  for (const key of ['files', 'sources', 'commands', 'users', 'groups'] as const) {
    const hit = watch[key].find((n) => changes[key].has(n));
    if (hit !== undefined) return `${key.replace(/s$/, '')} ${hit} changed`;
  }
  for (const [manager, names] of Object.entries(watch.packages)) {
    const hit = names.find((n) => changes.packages.get(manager)?.has(n));
    if (hit !== undefined) return `${manager} package ${hit} changed`;
  }
  return undefined;
}

function validateWatch(entry: Record<string, unknown>, spath: string, p: Problems): Watched {
  const list = (key: 'files' | 'sources' | 'commands' | 'users' | 'groups'): string[] =>
    key in entry ? (expectStringList(entry[key], child(spath, key), p) ?? []) : [];
  const packages: Record<string, string[]> = {};
  if ('packages' in entry) {
    const ppath = child(spath, 'packages');
    const obj = expectObject(entry.packages, ppath, p);
    if (obj) {
      checkManagerNames(obj, ppath, p);
      for (const [manager, names] of Object.entries(obj)) {
        // `{"yum": {"httpd": []}}` (the packages key's own shape) is accepted as well as a list.
        packages[manager] = isObject(names) ? Object.keys(names) : (expectStringList(names, child(ppath, manager), p) ?? []);
      }
    }
  }
  return { files: list('files'), sources: list('sources'), commands: list('commands'), users: list('users'), groups: list('groups'), packages };
}

export type ServicesSpec = ServiceSpec[];

export function validateServices(raw: unknown, spath: string, ctx: Pick<ValidationContext, 'problems' | 'system'>, opts: ServiceLocations = DEFAULT_SERVICE_LOCATIONS): ServicesSpec | undefined {
  const p = ctx.problems;
  const before = p.list.length;
  const obj = expectObject(raw, spath, p);
  if (!obj) return undefined;
  const services: ServiceSpec[] = [];
  for (const [kind, value] of Object.entries(obj)) {
    const kpath = child(spath, kind);
    if (kind === 'windows') {
      p.add(kpath, `Windows services: ${WINDOWS_UNSUPPORTED}; use sysvinit or systemd`);
      continue;
    }
    if (kind !== 'sysvinit' && kind !== 'systemd') {
      // aws-cfn-bootstrap: "Unsupported service manager", and on.
      p.tolerate(kpath, 'unknown service manager; expected sysvinit or systemd', 'skipped');
      continue;
    }
    const entries = expectObject(value, kpath, p);
    if (!entries) continue;
    const parsed: Omit<ServiceSpec, 'tools'>[] = [];
    for (const [name, rawEntry] of Object.entries(entries)) {
      const epath = child(kpath, name);
      if (!isServiceName(name)) p.add(epath, 'not a valid service name');
      const entry = expectObject(rawEntry, epath, p);
      if (!entry) continue;
      checkKeys(entry, SERVICE_KEYS, epath, p, IGNORED);
      const svc: Omit<ServiceSpec, 'tools'> = { name, watch: validateWatch(entry, epath, p) };
      if ('enabled' in entry) svc.enabled = expectBoolean(entry.enabled, child(epath, 'enabled'), p);
      if ('ensureRunning' in entry) svc.ensureRunning = expectBoolean(entry.ensureRunning, child(epath, 'ensureRunning'), p);
      parsed.push(svc);
    }
    if (parsed.length === 0) continue;
    const tools = findServiceTools(kind, ctx.system, opts, parsed.some((s) => s.enabled !== undefined));
    if ('problem' in tools) p.add(kpath, tools.problem);
    else for (const s of parsed) services.push({ ...s, tools });
  }
  if (p.list.length > before) return undefined;
  return services;
}

function action(kind: string, name: string, what: string, commands: string[][], keyPath: string): Action {
  const summary = `${kind}: ${what}`;
  return {
    summary,
    async apply(ctx) {
      for (const argv of commands) await runOrThrow(ctx, child(keyPath, name), summary, argv);
      return { changed: true };
    },
  };
}

export async function planServices(spec: ServicesSpec, ctx: HandlerContext, opts: ServiceLocations = DEFAULT_SERVICE_LOCATIONS): Promise<Action[]> {
  const actions: Action[] = [];
  for (const s of spec) {
    const kind = s.tools.kind;
    const keyPath = child(ctx.keyPath, kind);
    const driver = serviceDriver(s.name, s.tools, opts);
    const runner = (argv: string[]) => run(ctx, argv);
    if (s.enabled !== undefined) {
      const state = await driver.isEnabled(runner);
      if (state === undefined) ctx.logger.info(`${kind}: ${s.name} cannot be enabled or disabled (no [Install] section); leaving it`);
      else if (state !== s.enabled) actions.push(action(kind, s.name, `${s.enabled ? 'enable' : 'disable'} ${s.name}`, driver.enable(s.enabled), keyPath));
    }
    const reason = restartReason(s.watch, ctx.changes);
    if (s.ensureRunning === undefined && reason === undefined) continue;
    const running = await driver.isRunning(runner);
    if (s.ensureRunning === false) {
      if (reason) ctx.logger.debug(`${kind}: ${s.name}: ${reason}, but ensureRunning is false`);
      if (running) actions.push(action(kind, s.name, `stop ${s.name}`, driver.control('stop'), keyPath));
    } else if (reason) {
      actions.push(running
        ? action(kind, s.name, `restart ${s.name} (${reason})`, driver.control('restart'), keyPath)
        : action(kind, s.name, `start ${s.name} (${reason})`, driver.control('start'), keyPath));
    } else if (!running) {
      actions.push(action(kind, s.name, `start ${s.name}`, driver.control('start'), keyPath));
    }
  }
  return actions;
}

/** A services handler bound to other system locations (tests; chroots). */
export function createServicesHandler(options: Partial<ServiceLocations> = {}): InitHandler<ServicesSpec> {
  const opts = { ...DEFAULT_SERVICE_LOCATIONS, ...options };
  return {
    key: 'services',
    validate: (raw, p, ctx) => validateServices(raw, p, ctx, opts),
    plan: (spec, ctx) => planServices(spec, ctx, opts),
  };
}

export const servicesHandler: InitHandler<ServicesSpec> = createServicesHandler();
