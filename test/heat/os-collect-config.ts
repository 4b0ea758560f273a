/**
 * Debian's os-collect-config 12 as heat-agent's differential peer, in a box
 * of its own: its conf file, cache directories, keystone cache and local
 * collector's directory all under a temporary folder, run with `--one-time`
 * against the rig on loopback.
 *
 * The chain is the packaged one as far as Debian packages it:
 * os-collect-config collects, then runs `os-refresh-config`, which runs the
 * scripts of its phase folders. heat-agents (heat-config's
 * 55-heat-config, its hooks, heat-config-notify, the os-apply-config
 * template of os-collect-config.conf) is not in Debian, so:
 *   - the conf file is written here from the metadata's `os-collect-config`
 *     block the way that template lays it out (`[DEFAULT]` command and one
 *     `collectors` line per collector, then each collector's section with
 *     the block's keys);
 *   - `configure.d/55-record` stands where 55-heat-config would: it keeps
 *     the files os-collect-config hands over (OS_CONFIG_FILES, in order),
 *     which is what heat-config would deploy from. Nothing runs the
 *     deployments on the peer's side.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess, type RunResult } from '../support/cli';
import type { ServerMetadata } from './deployments';

export const OS_COLLECT_CONFIG = '/usr/bin/os-collect-config';
export const OS_REFRESH_CONFIG = '/usr/bin/os-refresh-config';

/** Why the peer cannot run here, or undefined. */
export function peerMissing(): string | undefined {
  for (const bin of [OS_COLLECT_CONFIG, OS_REFRESH_CONFIG]) if (!fs.existsSync(bin)) return `${bin} is not installed`;
  const r = spawnSync(OS_COLLECT_CONFIG, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return `${OS_COLLECT_CONFIG} --version failed: ${r.stderr || r.error?.message}`;
  return undefined;
}

const iniValue = (v: unknown) => String(v).replace(/\n/g, ' ');

/**
 * os-collect-config.conf from the metadata's block, as heat-agents'
 * os-apply-config template renders it: `[DEFAULT]` with the command and the
 * collectors in the block's order, then a section per collector block with
 * its keys (null keys, which Heat sets to clear a previous transport's,
 * left out).
 */
export function renderCollectConfig(block: ServerMetadata['os-collect-config'], command: string): string {
  const lines = ['[DEFAULT]', `command = ${command}`, ...block.collectors.map((c) => `collectors = ${c}`), ''];
  for (const [name, section] of Object.entries(block)) {
    if (name === 'collectors' || !section || typeof section !== 'object') continue;
    const keys = Object.entries(section as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
    if (!keys.length) continue;
    lines.push(`[${name}]`, ...keys.map(([k, v]) => `${k} = ${iniValue(v)}`), '');
  }
  return lines.join('\n');
}

/** What os-collect-config handed to its command: the collector's data and each exploded deployment, in OS_CONFIG_FILES order. */
export interface HandedOver {
  /** Base names of OS_CONFIG_FILES without `.json`, in order (the collectors', then one per os-apply-config deployment). */
  order: string[];
  files: Record<string, unknown>;
}

export class PeerBox {
  readonly dir: string;

  constructor(label: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `cfntools-occ-${label}-`));
    for (const d of ['cache', 'backup-cache', 'keystone-cache', 'local-data', 'handed', 'orc/configure.d']) fs.mkdirSync(path.join(this.dir, d), { recursive: true, mode: 0o700 });
    // Where heat-config's 55-heat-config sits: keep what os-collect-config hands over.
    const record = ['#!/bin/sh', 'set -eu', 'out="$1"', 'rm -f "$out"/*', 'printf "%s\\n" "$OS_CONFIG_FILES" | tr ":" "\\n" > "$out/order"', 'IFS=:', 'for f in $OS_CONFIG_FILES; do cp "$f" "$out/"; done', ''].join('\n');
    fs.writeFileSync(path.join(this.dir, 'record.sh'), record, { mode: 0o700 });
    fs.writeFileSync(path.join(this.dir, 'orc', 'configure.d', '55-record'), `#!/bin/sh\nexec /bin/sh "${path.join(this.dir, 'record.sh')}" "${path.join(this.dir, 'handed')}"\n`, { mode: 0o700 });
  }

  get confFile(): string {
    return path.join(this.dir, 'os-collect-config.conf');
  }

  get logFile(): string {
    return path.join(this.dir, 'os-collect-config.log');
  }

  configure(block: ServerMetadata['os-collect-config']): void {
    const command = `${OS_REFRESH_CONFIG} --lockfile ${path.join(this.dir, 'os-refresh-config.lock')}`;
    const isolation = ['[local]', `path = ${path.join(this.dir, 'local-data')}`, '', '[keystone]', `cache_dir = ${path.join(this.dir, 'keystone-cache')}`, ''];
    fs.writeFileSync(this.confFile, `${renderCollectConfig(block, command)}\n${isolation.join('\n')}`, { mode: 0o600 });
  }

  /**
   * Its command line in this box: `--one-time`, or polling as its unit runs
   * it, with `pollingS` seconds between checks (min and max alike: it
   * takes fractions of a second).
   */
  argv(mode: { oneTime: true } | { pollingS: number }): string[] {
    const when = 'oneTime' in mode ? ['--one-time'] : ['--min-polling-interval', String(mode.pollingS), '--polling-interval', String(mode.pollingS)];
    return [OS_COLLECT_CONFIG, '--config-file', this.confFile, ...when, '--cachedir', path.join(this.dir, 'cache'), '--backup-cachedir', path.join(this.dir, 'backup-cache'), '--log-file', this.logFile];
  }

  /** Debian's python, nothing from a virtualenv; loopback only, no proxy. */
  get env(): NodeJS.ProcessEnv {
    return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: this.dir, LANG: 'C.UTF-8', XDG_CACHE_HOME: path.join(this.dir, 'xdg-cache'), OS_REFRESH_CONFIG_BASE_DIR: path.join(this.dir, 'orc'), no_proxy: '*' };
  }

  /** One `os-collect-config --one-time`, killed after `timeoutMs`. */
  run(timeoutMs: number): Promise<RunResult> {
    return runProcess(this.argv({ oneTime: true }), { timeoutMs, cwd: this.dir, env: this.env });
  }

  handed(): HandedOver | undefined {
    const dir = path.join(this.dir, 'handed');
    const orderFile = path.join(dir, 'order');
    if (!fs.existsSync(orderFile)) return undefined;
    const order = fs.readFileSync(orderFile, 'utf8').split('\n').filter(Boolean).map((f) => path.basename(f, '.json'));
    const files = Object.fromEntries(order.map((name) => [name, JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as unknown]));
    return { order, files };
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
