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
 * Which init system is used is what the key says. `systemd` on a machine
 * where systemd is not running (no /run/systemd/system, sd_booted()) is a
 * validation problem, not a late crash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { System } from '../../../shared/system';
import { checkKeys, child, expectBoolean, expectObject, expectStringList, isObject, type Problems, WINDOWS_UNSUPPORTED } from '../validation';
import { checkManagerNames } from './packages';
import { run, runOrThrow, type RunContext } from './command';
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

export interface SysvTools {
  kind: 'sysvinit';
  /** `service`, or undefined to call /etc/init.d/<name> directly. */
  service?: string;
  /** For `enabled`: chkconfig (Red Hat) or update-rc.d (Debian). */
  chkconfig?: string;
  updateRcd?: string;
}

export interface SystemdTools {
  kind: 'systemd';
  systemctl: string;
}

export interface ServiceSpec {
  name: string;
  enabled?: boolean;
  ensureRunning?: boolean;
  watch: Watched;
  tools: SysvTools | SystemdTools;
}

export interface ServicesOptions {
  /** systemd's runtime directory; it exists only when systemd is PID 1. */
  systemdRunDir: string;
  /** The sysvinit configuration root: init.d scripts and rcN.d links live under it. */
  etcDir: string;
}

const DEFAULTS: ServicesOptions = { systemdRunDir: '/run/systemd/system', etcDir: '/etc' };

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

function locate(kind: string, system: System, opts: ServicesOptions, needEnable: boolean, kpath: string, p: Problems): SysvTools | SystemdTools | undefined {
  if (kind === 'systemd') {
    const systemctl = system.which('systemctl');
    if (!systemctl) {
      p.add(kpath, 'systemctl is not on PATH (SystemD is not available on the instance)');
      return undefined;
    }
    if (!fs.existsSync(opts.systemdRunDir)) {
      p.add(kpath, `systemd is not running on this machine (no ${opts.systemdRunDir}); use the sysvinit key`);
      return undefined;
    }
    return { kind: 'systemd', systemctl };
  }
  const tools: SysvTools = { kind: 'sysvinit', service: system.which('service') };
  tools.chkconfig = system.which('chkconfig');
  tools.updateRcd = system.which('update-rc.d');
  if (needEnable && !tools.chkconfig && !tools.updateRcd) {
    p.add(kpath, '`enabled` needs chkconfig or update-rc.d, and neither is on PATH');
    return undefined;
  }
  return tools;
}

export type ServicesSpec = ServiceSpec[];

export function validateServices(raw: unknown, spath: string, ctx: Pick<ValidationContext, 'problems' | 'system'>, opts: ServicesOptions = DEFAULTS): ServicesSpec | undefined {
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
      p.add(kpath, 'unknown service manager; expected sysvinit or systemd');
      continue;
    }
    const entries = expectObject(value, kpath, p);
    if (!entries) continue;
    const parsed: Omit<ServiceSpec, 'tools'>[] = [];
    for (const [name, rawEntry] of Object.entries(entries)) {
      const epath = child(kpath, name);
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.@:\\-]*$/.test(name)) p.add(epath, 'not a valid service name');
      const entry = expectObject(rawEntry, epath, p);
      if (!entry) continue;
      checkKeys(entry, SERVICE_KEYS, epath, p);
      const svc: Omit<ServiceSpec, 'tools'> = { name, watch: validateWatch(entry, epath, p) };
      if ('enabled' in entry) svc.enabled = expectBoolean(entry.enabled, child(epath, 'enabled'), p);
      if ('ensureRunning' in entry) svc.ensureRunning = expectBoolean(entry.ensureRunning, child(epath, 'ensureRunning'), p);
      parsed.push(svc);
    }
    if (parsed.length === 0) continue;
    const tools = locate(kind, ctx.system, opts, parsed.some((s) => s.enabled !== undefined), kpath, p);
    if (tools) services.push(...parsed.map((s) => ({ ...s, tools })));
  }
  if (p.list.length > before) return undefined;
  return services;
}

/** The commands of one init system. */
interface Driver {
  isRunning(ctx: RunContext): Promise<boolean>;
  /** undefined when the unit cannot be enabled or disabled at all (systemd static units). */
  isEnabled(ctx: RunContext): Promise<boolean | undefined>;
  enable(on: boolean): string[][];
  control(verb: 'start' | 'stop' | 'restart'): string[][];
}

function systemdDriver(name: string, t: SystemdTools): Driver {
  return {
    // is-active exits 0 only for "active"; reloading/activating count as not settled, so start.
    isRunning: async (ctx) => (await run(ctx, [t.systemctl, 'is-active', '--quiet', name])).status === 0,
    async isEnabled(ctx) {
      const state = (await run(ctx, [t.systemctl, 'is-enabled', name])).stdout.trim();
      if (['enabled', 'enabled-runtime', 'alias'].includes(state)) return true;
      // Units without an [Install] section cannot be enabled or disabled: leave them.
      if (['static', 'indirect', 'generated', 'transient'].includes(state)) return undefined;
      return false;
    },
    enable: (on) => [[t.systemctl, on ? 'enable' : 'disable', name]],
    control: (verb) => (verb === 'restart' ? [[t.systemctl, 'daemon-reload'], [t.systemctl, 'restart', name]] : [[t.systemctl, verb, name]]),
  };
}

function sysvDriver(name: string, t: SysvTools, opts: ServicesOptions): Driver {
  const script = path.join(opts.etcDir, 'init.d', name);
  const control = (verb: string): string[] => (t.service ? [t.service, name, verb] : [script, verb]);
  return {
    // LSB: status exits 0 when running, 1-4 when not (or unknown).
    isRunning: async (ctx) => (await run(ctx, control('status'))).status === 0,
    async isEnabled(ctx) {
      if (t.chkconfig) return (await run(ctx, [t.chkconfig, name])).status === 0;
      // update-rc.d cannot be asked; the S links in the multi-user runlevels are the answer.
      for (const level of ['2', '3', '4', '5']) {
        const dir = path.join(opts.etcDir, `rc${level}.d`);
        const links = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
        if (links.some((l) => /^S\d\d/.test(l) && l.slice(3) === name)) return true;
      }
      return false;
    },
    enable(on) {
      if (t.chkconfig) return [[t.chkconfig, name, on ? 'on' : 'off']];
      const rcd = t.updateRcd as string;
      // `enable`/`disable` only flip existing links; `defaults` creates them (a no-op when present).
      return [[rcd, name, 'defaults'], [rcd, name, on ? 'enable' : 'disable']];
    },
    control: (verb) => [control(verb)],
  };
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

export async function planServices(spec: ServicesSpec, ctx: HandlerContext, opts: ServicesOptions = DEFAULTS): Promise<Action[]> {
  const actions: Action[] = [];
  for (const s of spec) {
    const kind = s.tools.kind;
    const keyPath = child(ctx.keyPath, kind);
    const driver = s.tools.kind === 'systemd' ? systemdDriver(s.name, s.tools) : sysvDriver(s.name, s.tools, opts);
    if (s.enabled !== undefined) {
      const state = await driver.isEnabled(ctx);
      if (state === undefined) ctx.logger.info(`${kind}: ${s.name} cannot be enabled or disabled (no [Install] section); leaving it`);
      else if (state !== s.enabled) actions.push(action(kind, s.name, `${s.enabled ? 'enable' : 'disable'} ${s.name}`, driver.enable(s.enabled), keyPath));
    }
    const reason = restartReason(s.watch, ctx.changes);
    if (s.ensureRunning === undefined && reason === undefined) continue;
    const running = await driver.isRunning(ctx);
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
export function createServicesHandler(options: Partial<ServicesOptions> = {}): InitHandler<ServicesSpec> {
  const opts = { ...DEFAULTS, ...options };
  return {
    key: 'services',
    validate: (raw, p, ctx) => validateServices(raw, p, ctx, opts),
    plan: (spec, ctx) => planServices(spec, ctx, opts),
  };
}

export const servicesHandler: InitHandler<ServicesSpec> = createServicesHandler();
