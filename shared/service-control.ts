/**
 * Asking an init system about a service and telling it what to do: systemd
 * (systemctl) or sysvinit (service, or the init.d script; chkconfig or
 * update-rc.d for enabling). cfn-init's services key and cfn-hup's
 * ensureRunning watch both go through here; the caller runs the commands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResult, System } from './system';

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

export type ServiceTools = SysvTools | SystemdTools;

export interface ServiceLocations {
  /** systemd's runtime directory; it exists only when systemd is PID 1. */
  systemdRunDir: string;
  /** The sysvinit configuration root: init.d scripts and rcN.d links live under it. */
  etcDir: string;
}

export const DEFAULT_SERVICE_LOCATIONS: ServiceLocations = { systemdRunDir: '/run/systemd/system', etcDir: '/etc' };

/**
 * A service name either init system takes: no leading `-` (systemctl, service
 * and update-rc.d would read an option), no `/` (sysvinit runs
 * /etc/init.d/<name>).
 */
export function isServiceName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.@:\\-]*$/.test(name);
}

/** The tools of `kind` on this machine, or why they cannot be used. */
export function findServiceTools(kind: 'sysvinit' | 'systemd', system: System, where: ServiceLocations, needEnable: boolean): ServiceTools | { problem: string } {
  if (kind === 'systemd') {
    const systemctl = system.which('systemctl');
    if (!systemctl) return { problem: 'systemctl is not on PATH (SystemD is not available on the instance)' };
    if (!fs.existsSync(where.systemdRunDir)) return { problem: `systemd is not running on this machine (no ${where.systemdRunDir}); use the sysvinit key` };
    return { kind: 'systemd', systemctl };
  }
  const tools: SysvTools = { kind: 'sysvinit', service: system.which('service'), chkconfig: system.which('chkconfig'), updateRcd: system.which('update-rc.d') };
  if (needEnable && !tools.chkconfig && !tools.updateRcd) return { problem: '`enabled` needs chkconfig or update-rc.d, and neither is on PATH' };
  return tools;
}

/** Runs one command for a driver; the caller logs it. */
export type Runner = (argv: string[]) => Promise<RunResult>;

/** The commands of one init system for one service. */
export interface ServiceDriver {
  isRunning(run: Runner): Promise<boolean>;
  /** undefined when the unit cannot be enabled or disabled at all (systemd static units). */
  isEnabled(run: Runner): Promise<boolean | undefined>;
  enable(on: boolean): string[][];
  control(verb: 'start' | 'stop' | 'restart'): string[][];
}

function systemdDriver(name: string, t: SystemdTools): ServiceDriver {
  return {
    // is-active exits 0 only for "active"; reloading/activating count as not settled, so start.
    isRunning: async (run) => (await run([t.systemctl, 'is-active', '--quiet', name])).status === 0,
    async isEnabled(run) {
      const state = (await run([t.systemctl, 'is-enabled', name])).stdout.trim();
      if (['enabled', 'enabled-runtime', 'alias'].includes(state)) return true;
      // Units without an [Install] section cannot be enabled or disabled: leave them.
      if (['static', 'indirect', 'generated', 'transient'].includes(state)) return undefined;
      return false;
    },
    enable: (on) => [[t.systemctl, on ? 'enable' : 'disable', name]],
    control: (verb) => (verb === 'restart' ? [[t.systemctl, 'daemon-reload'], [t.systemctl, 'restart', name]] : [[t.systemctl, verb, name]]),
  };
}

function sysvDriver(name: string, t: SysvTools, where: ServiceLocations): ServiceDriver {
  const script = path.join(where.etcDir, 'init.d', name);
  const control = (verb: string): string[] => (t.service ? [t.service, name, verb] : [script, verb]);
  return {
    // LSB: status exits 0 when running, 1-4 when not (or unknown).
    isRunning: async (run) => (await run(control('status'))).status === 0,
    async isEnabled(run) {
      if (t.chkconfig) return (await run([t.chkconfig, name])).status === 0;
      // update-rc.d cannot be asked; the S links in the multi-user runlevels are the answer.
      for (const level of ['2', '3', '4', '5']) {
        const dir = path.join(where.etcDir, `rc${level}.d`);
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

export function serviceDriver(name: string, tools: ServiceTools, where: ServiceLocations = DEFAULT_SERVICE_LOCATIONS): ServiceDriver {
  return tools.kind === 'systemd' ? systemdDriver(name, tools) : sysvDriver(name, tools, where);
}
