/**
 * cfn-hup's configuration, from both peers' files:
 *
 * - aws-cfn-bootstrap: `-c DIR` (default /etc/cfn) holds cfn-hup.conf,
 *   hooks.conf and hooks.d/;
 * - heat-cfntools: `-c DIR` is the hooks directory (default
 *   /etc/cfn/hooks.d), with /etc/cfn/cfn-hup.conf and /etc/cfn/hooks.conf.
 *
 * A DIR that holds cfn-hup.conf is read the first way, any other the second.
 * Hooks come from hooks.conf, then every regular file of the hooks directory
 * in name order (a later file's keys override an earlier one's for a section
 * of the same name, as one ConfigParser reading them all would). Everything
 * is checked before cfn-hup starts; errors name the file, line, section and
 * key. The files are refused when other users could change them: cfn-hup
 * runs their actions, as root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { accountNameProblem } from '../../shared/account-name';
import { readCredentialFile } from '../../shared/credentials/file';
import { ConfigError, UsageError } from '../../shared/errors';
import { IniFile } from '../../shared/ini-file';
import { parseKeyPath } from '../../shared/key-path';
import { cfnDir } from '../../shared/paths';
import { intervalFromEnv, MAX_INTERVAL_MS } from '../../shared/poll-schedule';
import { readTextBounded } from '../../shared/safe-open';
import { untrustedReason } from '../../shared/trusted-file';

export const MAIN_SECTION = 'main';

/** Largest configuration or hooks file read, and most files in the hooks directory. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
export const MAX_HOOK_FILES = 256;

export const DEFAULT_INTERVAL_MS = 15 * 60_000;
export const DEFAULT_HOOK_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_HOOK_RETRIES = 3;
/** --no-daemon runs from cron start together on every instance: by default they wait up to this long first, unless run from a terminal. */
export const DEFAULT_ONE_SHOT_SPLAY_MS = 30_000;

export type Trigger = 'post.add' | 'post.update' | 'post.remove' | 'service.restarted';
const TRIGGERS: readonly Trigger[] = ['post.add', 'post.update', 'post.remove', 'service.restarted'];

export type HookPath =
  | { resource: string; kind: 'metadata'; segments: string[] }
  | { resource: string; kind: 'physical-id' }
  | { resource: string; kind: 'last-updated' };

export interface Hook {
  name: string;
  /** The file that set its action, for messages. */
  file: string;
  triggers: Trigger[];
  /** As written: with the hook's name, the key of its state. */
  pathText: string;
  path: HookPath;
  action: string;
  runas?: string;
  timeoutMs: number;
}

export interface MainConfig {
  file: string;
  stack: string;
  credentialFile?: string;
  role?: string;
  region?: string;
  url?: string;
  intervalMs: number;
  verbose: boolean;
  umask: number;
  hookTimeoutMs: number;
  hookRetries: number;
  /** For --no-daemon; undefined: the default (DEFAULT_ONE_SHOT_SPLAY_MS away from a terminal). */
  splayMs?: number;
  httpProxy?: string;
  httpsProxy?: string;
  caBundle?: string;
}

export interface HupConfig {
  main: MainConfig;
  hooks: Hook[];
  /** What was read differently from the peers or ignored, for the log. */
  warnings: string[];
}

export interface ConfigFiles {
  main: string;
  hooksConf: string;
  hooksDir: string;
  layout: 'aws' | 'heat';
  /** CFNTOOLS_HUP_INTERVAL_MS: check this often whatever cfn-hup.conf says (benchmarks run a thousand checks). */
  intervalMs?: number;
}

/** Keys of [main]: the peers' (multi-threaded and sqs_url belong to AWS's command service) and ours. */
const MAIN_KEYS = [
  'stack', 'credential-file', 'role', 'region', 'url', 'interval', 'verbose', 'umask',
  'multi-threaded', 'sqs_url',
  'hook-timeout', 'hook-retries', 'splay', 'http-proxy', 'https-proxy', 'ca-bundle',
];
/** Keys of a hook: the peers' (singleton and send_result belong to command hooks) and ours (timeout). */
const HOOK_KEYS = ['triggers', 'path', 'action', 'runas', 'singleton', 'send_result', 'timeout'];

export function locateConfig(dir: string | undefined, env: NodeJS.ProcessEnv): ConfigFiles {
  const etc = cfnDir(env);
  const d = dir ?? etc;
  const intervalMs = intervalFromEnv(env, 'CFNTOOLS_HUP_INTERVAL_MS');
  if (fs.existsSync(path.join(d, 'cfn-hup.conf')) || dir === undefined) {
    return { main: path.join(d, 'cfn-hup.conf'), hooksConf: path.join(d, 'hooks.conf'), hooksDir: path.join(d, 'hooks.d'), layout: 'aws', intervalMs };
  }
  return { main: path.join(etc, 'cfn-hup.conf'), hooksConf: path.join(etc, 'hooks.conf'), hooksDir: d, layout: 'heat', intervalMs };
}

/**
 * The text of one configuration file, or undefined when it does not exist.
 * cfn-hup runs its commands: it must be a regular file that only root or
 * this user can change or replace (shared/trusted-file.ts).
 */
function readConfigFile(file: string, what: string): string | undefined {
  try {
    return readTextBounded(file, { what, trusted: true, maxBytes: MAX_CONFIG_FILE_BYTES });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot open ${what}: ${(err as Error).message}`, file);
  }
}

/** The hook files: hooks.conf if present, then the regular files of the hooks directory by name. */
function hookFiles(files: ConfigFiles, warnings: string[]): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  const conf = readConfigFile(files.hooksConf, 'hooks file');
  if (conf !== undefined) out.push({ file: files.hooksConf, text: conf });
  let names: string[];
  try {
    const st = fs.statSync(files.hooksDir);
    if (!st.isDirectory()) throw new ConfigError('the hooks directory is not a directory', files.hooksDir);
    const why = untrustedReason(files.hooksDir, st);
    if (why) throw new ConfigError(`the hooks directory ${why}: refused, as whoever can change it decides what runs here`, files.hooksDir);
    names = fs.readdirSync(files.hooksDir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`cannot read the hooks directory: ${(err as Error).message}`, files.hooksDir);
    }
    names = [];
  }
  if (names.length > MAX_HOOK_FILES) throw new ConfigError(`${names.length} entries; the most read is ${MAX_HOOK_FILES}`, files.hooksDir);
  for (const name of names) {
    const file = path.join(files.hooksDir, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      warnings.push(`${file}: not a regular file; skipped`);
      continue;
    }
    const text = readConfigFile(file, 'hooks file');
    if (text !== undefined) out.push({ file, text });
  }
  return out;
}

function positiveSeconds(ini: IniFile, section: string, key: string, allowZero: boolean): number | undefined {
  const raw = ini.string(section, key);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || (!allowZero && Number(raw) === 0)) throw ini.error(section, key, `expected a whole number of seconds${allowZero ? '' : ' (1 or more)'}, got ${JSON.stringify(raw)}`);
  return Number(raw) * 1000;
}

/** `splay`: seconds, at most a day (a one-shot run waits up to that long first). */
function splayOf(ini: IniFile, section: string): number | undefined {
  const ms = positiveSeconds(ini, section, 'splay', true);
  if (ms !== undefined && ms > MAX_INTERVAL_MS) throw ini.error(section, 'splay', `expected at most a day (${MAX_INTERVAL_MS / 1000} s), got ${ms / 1000}`);
  return ms;
}

/** `interval`: minutes, as both peers read it; `30s` for seconds. At most a day. */
function parseInterval(ini: IniFile, section: string): number {
  const raw = ini.string(section, 'interval');
  if (raw === undefined) return DEFAULT_INTERVAL_MS;
  const m = /^(\d+)\s*(s?)$/.exec(raw);
  const ms = m ? Number(m[1]) * (m[2] ? 1000 : 60_000) : NaN;
  if (!(ms >= 1000 && ms <= MAX_INTERVAL_MS)) {
    throw ini.error(section, 'interval', `expected whole minutes (15) or seconds (30s), at least 1, at most a day (${MAX_INTERVAL_MS / 60_000} or ${MAX_INTERVAL_MS / 1000}s), got ${JSON.stringify(raw)}`);
  }
  return ms;
}

function parseUmask(ini: IniFile, section: string): number {
  const raw = ini.string(section, 'umask');
  if (raw === undefined) return 0o022;
  if (!/^[0-7]{1,4}$/.test(raw) || Number.parseInt(raw, 8) > 0o777) throw ini.error(section, 'umask', `expected an octal mask from 0 to 0777, got ${JSON.stringify(raw)}`);
  return Number.parseInt(raw, 8);
}

function warnUnknownKeys(ini: IniFile, section: string, known: readonly string[], warnings: string[]): void {
  for (const key of ini.keys(section)) {
    if (!known.includes(key)) warnings.push(`${ini.file}: line ${ini.line(section, key)}: [${section}] ${key}: not a cfn-hup key; ignored`);
  }
}

function parseMain(ini: IniFile, warnings: string[]): MainConfig {
  const s = MAIN_SECTION;
  if (!ini.sectionNames().includes(s)) throw new ConfigError('no [main] section', ini.file);
  warnUnknownKeys(ini, s, MAIN_KEYS, warnings);
  const stack = ini.string(s, 'stack');
  if (!stack) throw new ConfigError('[main] must set stack (the stack name or id)', ini.file);
  const retriesRaw = ini.string(s, 'hook-retries');
  if (retriesRaw !== undefined && !/^\d+$/.test(retriesRaw)) throw ini.error(s, 'hook-retries', `expected a whole number, got ${JSON.stringify(retriesRaw)}`);
  return {
    file: ini.file,
    stack,
    credentialFile: ini.string(s, 'credential-file'),
    role: ini.string(s, 'role'),
    region: ini.string(s, 'region'),
    url: ini.string(s, 'url'),
    intervalMs: parseInterval(ini, s),
    verbose: ini.boolean(s, 'verbose') ?? false,
    umask: parseUmask(ini, s),
    hookTimeoutMs: positiveSeconds(ini, s, 'hook-timeout', false) ?? DEFAULT_HOOK_TIMEOUT_MS,
    hookRetries: retriesRaw === undefined ? DEFAULT_HOOK_RETRIES : Number(retriesRaw),
    splayMs: splayOf(ini, s),
    httpProxy: ini.value(s, 'http-proxy')?.trim(),
    httpsProxy: ini.value(s, 'https-proxy')?.trim(),
    caBundle: ini.string(s, 'ca-bundle'),
  };
}

/**
 * `Resources.<Id>[.Metadata[.<key path>] | .PhysicalResourceId]`; the bare
 * resource watches its LastUpdatedTimestamp. `Resources`, `Metadata` and
 * `PhysicalResourceId` in any case, as aws-cfn-bootstrap reads them.
 */
export function parseHookPath(text: string, ini: IniFile, section: string): HookPath {
  const bad = (why: string) => ini.error(section, 'path', `${why}; expected Resources.<LogicalId>.Metadata[.<key>...], Resources.<LogicalId>.PhysicalResourceId or Resources.<LogicalId>`);
  const [head, resource, field, ...rest] = text.split('.');
  if (head?.toLowerCase() !== 'resources') throw bad(`${JSON.stringify(text)} does not start with Resources.`);
  if (!resource) throw bad(`${JSON.stringify(text)} names no resource`);
  if (field === undefined) return { resource, kind: 'last-updated' };
  if (field.toLowerCase() === 'physicalresourceid' && rest.length === 0) return { resource, kind: 'physical-id' };
  if (field.toLowerCase() !== 'metadata') throw bad(`${JSON.stringify(field)} is neither Metadata nor PhysicalResourceId`);
  if (rest.length === 0) return { resource, kind: 'metadata', segments: [] };
  try {
    return { resource, kind: 'metadata', segments: parseKeyPath(rest.join('.'), 'the key path') };
  } catch (err) {
    if (err instanceof UsageError) throw bad(err.message);
    throw err;
  }
}

function parseTriggers(raw: string, ini: IniFile, section: string): Trigger[] | 'command' {
  const names = raw.split(/[\s,]+/).filter(Boolean);
  if (names.includes('on.command')) return 'command';
  for (const n of names) {
    if (!(TRIGGERS as readonly string[]).includes(n)) throw ini.error(section, 'triggers', `unknown trigger ${JSON.stringify(n)}; expected ${TRIGGERS.join(', ')}`);
  }
  if (!names.length) throw ini.error(section, 'triggers', 'names no trigger');
  return [...new Set(names)] as Trigger[];
}

/** One hook from the sections of that name, the last file's keys winning. */
function parseHook(name: string, sources: IniFile[], main: MainConfig, warnings: string[]): Hook | undefined {
  const get = (key: string) => {
    for (let i = sources.length - 1; i >= 0; i--) {
      const v = sources[i].value(name, key);
      if (v !== undefined) return { ini: sources[i], value: v.trim() };
    }
    return undefined;
  };
  const first = sources[sources.length - 1];
  for (const ini of sources) warnUnknownKeys(ini, name, HOOK_KEYS, warnings);
  const required = (key: string) => {
    const v = get(key);
    if (!v || !v.value) throw new ConfigError(`[${name}] must set ${key}`, first.file);
    return v;
  };
  const triggers = required('triggers');
  const parsed = parseTriggers(triggers.value, triggers.ini, name);
  if (parsed === 'command') {
    warnings.push(`${triggers.ini.file}: [${name}]: on.command hooks (AWS's command service over SQS) are not supported; hook ignored`);
    return undefined;
  }
  const p = required('path');
  const action = required('action');
  const runasValue = get('runas');
  const runas = runasValue?.value || undefined;
  const runasProblem = runas === undefined ? undefined : accountNameProblem('user', runas);
  if (runasProblem) throw runasValue!.ini.error(name, 'runas', `${runasProblem}, got ${JSON.stringify(runas)}`);
  const timeout = get('timeout');
  let timeoutMs = main.hookTimeoutMs;
  if (timeout) {
    if (!/^\d+$/.test(timeout.value) || Number(timeout.value) === 0) throw timeout.ini.error(name, 'timeout', `expected a whole number of seconds (1 or more), got ${JSON.stringify(timeout.value)}`);
    timeoutMs = Number(timeout.value) * 1000;
  }
  return { name, file: action.ini.file, triggers: parsed, pathText: p.value, path: parseHookPath(p.value, p.ini, name), action: action.value, runas, timeoutMs };
}

/** Read and check everything: the main configuration and every hook. */
export function loadConfig(files: ConfigFiles): HupConfig {
  const warnings: string[] = [];
  const mainText = readConfigFile(files.main, 'the main configuration');
  if (mainText === undefined) throw new ConfigError('cannot open the main configuration: no such file', files.main);
  const mainIni = new IniFile(mainText, files.main, { unfoldKeys: MAIN_KEYS });
  const sources = hookFiles(files, warnings).map(({ file, text }) => new IniFile(text, file, { unfoldKeys: HOOK_KEYS }));
  // heat-cfntools reads cfn-hup.conf and the hooks as one file: hooks may stand in cfn-hup.conf.
  if (files.layout === 'heat') sources.unshift(mainIni);
  for (const ini of new Set([mainIni, ...sources])) warnings.push(...ini.warnings);
  const main = parseMain(mainIni, warnings);
  if (files.intervalMs !== undefined) main.intervalMs = files.intervalMs;
  if (files.layout === 'aws') {
    for (const s of mainIni.sectionNames()) if (s !== MAIN_SECTION) warnings.push(`${files.main}: [${s}]: hooks belong in hooks.conf or hooks.d/; section ignored`);
  }
  const byName = new Map<string, IniFile[]>();
  for (const ini of sources) {
    for (const s of ini.sectionNames()) {
      if (s === MAIN_SECTION) {
        if (ini !== mainIni) warnings.push(`${ini.file}: [main] belongs in ${files.main}; section ignored`);
        continue;
      }
      byName.set(s, [...(byName.get(s) ?? []), ini]);
    }
  }
  const hooks = [...byName].map(([name, inis]) => parseHook(name, inis, main, warnings)).filter((h): h is Hook => h !== undefined);
  if (!hooks.length) throw new ConfigError(`no hooks: add a section with triggers, path and action to ${files.hooksConf} or a file in ${files.hooksDir}`, files.main);
  return { main, hooks, warnings };
}

/**
 * What cfn-hup checks before it starts, before a SIGHUP's configuration
 * replaces the running one, and with --check-config: every file, and the
 * credential file cfn-hup.conf names (found now rather than at the first
 * check, in the background).
 */
export function readConfiguration(files: ConfigFiles): HupConfig {
  const config = loadConfig(files);
  if (config.main.credentialFile && !config.main.role) readCredentialFile(config.main.credentialFile);
  return config;
}
