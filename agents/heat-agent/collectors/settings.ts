/**
 * Which collectors run, and with what: os-collect-config's settings, in the
 * one shape its three sources share. Heat puts an `os-collect-config` block
 * in the server's metadata (`collectors`, the list, and one section per
 * collector: `cfn`, `heat`, `request`, `zaqar`); os-apply-config renders
 * that block into /etc/os-collect-config.conf (`[DEFAULT] collectors`,
 * repeated, and a section of the same name with the same keys); Heat's boot
 * copy of the metadata (cfn-init-data) carries the block too. A newer block
 * is laid over an older one key by key, and a key Heat blanked (null) is
 * unset, as re-rendering the file would leave it. All pure.
 */
import { ConfigError } from '../../../shared/errors';
import { redactUrl } from '../../../shared/redact';
import type { IniFile } from '../../../shared/ini-file';
import type { KeystoneCredentials } from '../keystone';

/** The collectors heat-agent has, in os-collect-config's default order (its default list without heat_local and ec2). */
export const COLLECTOR_NAMES = ['cfn', 'heat', 'request', 'local', 'zaqar'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

/** os-collect-config's collectors that have nothing heat-agent needs; listed, they are passed over with this note. */
export const PASSED_OVER: Readonly<Record<string, string>> = {
  ec2: 'the EC2/nova metadata service holds no deployments',
  heat_local: "Heat's boot copy of the metadata (cfn-init-data) gives heat-agent its collectors' settings at start, never deployments",
};

/** A section's values; null is a value Heat blanked (unset). `[local] path` may be repeated. */
export type RawSection = Record<string, string | string[] | null>;

/** os-collect-config's settings as its file, its boot data or the metadata has them. */
export interface OccBlock {
  collectors?: string[];
  pollingInterval?: string;
  sections: Record<string, RawSection>;
}

/** The keys each section may hold (others are dropped). */
const SECTION_KEYS: Record<CollectorName, readonly string[]> = {
  cfn: ['metadata_url', 'stack_name', 'access_key_id', 'secret_access_key', 'path'],
  heat: ['auth_url', 'user_id', 'password', 'project_id', 'stack_id', 'resource_name', 'region_name'],
  request: ['metadata_url'],
  zaqar: ['auth_url', 'user_id', 'password', 'project_id', 'queue_id', 'region_name'],
  local: ['path'],
};
const MAX_COLLECTORS = 16;
const MAX_VALUE_CHARS = 8192;

export type CollectorSettings =
  | { name: 'cfn'; metadataUrl?: string; stackName: string; resource: string; subPath: string[]; accessKeyId?: string; secretAccessKey?: string }
  | { name: 'heat'; keystone: KeystoneCredentials; stackId: string; resourceName: string }
  | { name: 'request'; metadataUrl: string }
  | { name: 'zaqar'; keystone: KeystoneCredentials; queueId: string }
  | { name: 'local'; paths: string[] };

export interface Resolved {
  /** In the order they run, their deployments taken in that order. */
  collectors: CollectorSettings[];
  /** Why a listed collector does not run (not configured, passed over), for the log. */
  notes: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `collectors = heat,local` (oslo's list form) and repeated lines (its multi-valued form) alike. */
function splitNames(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

function scalar(v: unknown): string | null | undefined {
  if (v === null) return null;
  if (typeof v === 'string') return v.length > MAX_VALUE_CHARS ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * The block Heat put in the metadata (`os-collect-config`), kept to the
 * keys heat-agent reads; undefined when there is none or it is no object.
 * A value of the wrong kind is dropped, never an error: the metadata must
 * not stop the agent that reads it.
 */
export function blockFromMetadata(metadata: unknown): OccBlock | undefined {
  const raw = isObject(metadata) ? metadata['os-collect-config'] : undefined;
  if (!isObject(raw)) return undefined;
  const block: OccBlock = { sections: {} };
  const list = typeof raw.collectors === 'string' ? [raw.collectors] : raw.collectors;
  if (Array.isArray(list)) block.collectors = splitNames(list.filter((c): c is string => typeof c === 'string')).slice(0, MAX_COLLECTORS);
  const interval = scalar(raw.polling_interval);
  if (typeof interval === 'string') block.pollingInterval = interval;
  for (const name of COLLECTOR_NAMES) {
    const section = raw[name];
    if (!isObject(section)) continue;
    const out: RawSection = {};
    for (const key of SECTION_KEYS[name]) {
      if (!(key in section)) continue;
      const v = section[key];
      if (Array.isArray(v) && name === 'local') out[key] = v.filter((p): p is string => typeof p === 'string');
      else {
        const s = scalar(v);
        if (s !== undefined) out[key] = s;
      }
    }
    block.sections[name] = out;
  }
  return block;
}

/** os-collect-config's file in the block's shape: `[DEFAULT] collectors` (every line), `polling_interval`, the collectors' sections. */
export function blockFromIni(ini: IniFile): OccBlock {
  const block: OccBlock = { sections: {} };
  const names = splitNames(ini.values('DEFAULT', 'collectors'));
  if (names.length) block.collectors = names;
  const interval = ini.string('DEFAULT', 'polling_interval');
  if (interval !== undefined) block.pollingInterval = interval;
  for (const name of COLLECTOR_NAMES) {
    const section = ini.section(name);
    if (!section) continue;
    const out: RawSection = {};
    for (const key of SECTION_KEYS[name]) {
      // oslo takes `metadata-url` for `metadata_url`.
      const spelled = ini.keys(section).find((k) => k.replace(/-/g, '_') === key);
      if (spelled === undefined) continue;
      const values = ini.values(section, spelled);
      if (name === 'local') out[key] = values;
      else if (values.length) out[key] = values[values.length - 1]!;
    }
    block.sections[name] = out;
  }
  return block;
}

/** `over` laid on `base`: its list and interval when it has them, its keys (nulls included) over the base's. */
export function mergeBlocks(base: OccBlock, over: OccBlock | undefined): OccBlock {
  if (!over) return base;
  const sections: Record<string, RawSection> = { ...base.sections };
  for (const [name, s] of Object.entries(over.sections)) sections[name] = { ...(base.sections[name] ?? {}), ...s };
  return { collectors: over.collectors ?? base.collectors, pollingInterval: over.pollingInterval ?? base.pollingInterval, sections };
}

/** Equal as settings (key order aside): whether a block from the metadata changes anything. */
export function sameBlock(a: OccBlock | undefined, b: OccBlock | undefined): boolean {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (isObject(v)) return Object.keys(v).sort().map((k) => [k, canonical(v[k])]);
    return v;
  };
  return JSON.stringify(canonical(a ?? null)) === JSON.stringify(canonical(b ?? null));
}

/** The secrets a block holds (passwords, secret keys): masked in every log line from the moment they are read. */
export function blockSecrets(block: OccBlock | undefined): string[] {
  const out: string[] = [];
  for (const section of Object.values(block?.sections ?? {})) {
    for (const key of ['password', 'secret_access_key']) {
      const v = section[key];
      if (typeof v === 'string' && v) out.push(v);
    }
  }
  return out;
}

/** `<Resource>.Metadata[.key...]`, as the cfn collector splits its `path`. */
export function parsePath(raw: string, where: string, key: string): { resource: string; subPath: string[] } {
  const [resource, field, ...rest] = raw.split('.');
  if (!resource || field !== 'Metadata') throw new ConfigError(`expected <Resource>.Metadata[.key...], got ${JSON.stringify(raw)}`, where, key);
  return { resource, subPath: rest };
}

function text(section: RawSection, key: string): string | undefined {
  const v = section[key];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof s === 'string' && s.trim() ? s.trim() : undefined;
}

/** The settings of one collector, or why it cannot run. */
function settingsOf(name: CollectorName, section: RawSection | undefined, where: string, localDir: string): CollectorSettings | string {
  const s = section ?? {};
  const missing = (keys: readonly string[]) => {
    const absent = keys.filter((k) => !text(s, k));
    return absent.length ? `not configured (no ${absent.join(', ')})` : undefined;
  };
  const keystone = (): KeystoneCredentials => ({ authUrl: text(s, 'auth_url')!, userId: text(s, 'user_id')!, password: text(s, 'password')!, projectId: text(s, 'project_id')!, regionName: text(s, 'region_name') });
  switch (name) {
    case 'cfn': {
      const why = missing(['stack_name', 'path']);
      if (why) return why;
      const { resource, subPath } = parsePath(text(s, 'path')!, where, 'cfn.path');
      return { name, metadataUrl: text(s, 'metadata_url'), stackName: text(s, 'stack_name')!, resource, subPath, accessKeyId: text(s, 'access_key_id'), secretAccessKey: text(s, 'secret_access_key') };
    }
    case 'heat':
      return missing(['auth_url', 'user_id', 'password', 'project_id', 'stack_id', 'resource_name']) ?? { name, keystone: keystone(), stackId: text(s, 'stack_id')!, resourceName: text(s, 'resource_name')! };
    case 'request':
      return missing(['metadata_url']) ?? { name, metadataUrl: text(s, 'metadata_url')! };
    case 'zaqar':
      return missing(['auth_url', 'user_id', 'password', 'project_id', 'queue_id']) ?? { name, keystone: keystone(), queueId: text(s, 'queue_id')! };
    case 'local': {
      const given = s.path;
      const paths = (Array.isArray(given) ? given : typeof given === 'string' ? [given] : []).map((p) => p.trim()).filter(Boolean);
      return { name, paths: paths.length ? paths : [localDir] };
    }
  }
}

/**
 * The collectors a block makes run: its list (os-collect-config's default
 * order when it has none), each with its section. An unknown name is an
 * error; a collector whose section lacks a required key does not run (said
 * in `notes`), as os-collect-config passes over an unconfigured source.
 */
export function resolveCollectors(block: OccBlock, where: string, localDir: string): Resolved {
  const listed = block.collectors ?? [...COLLECTOR_NAMES];
  const notes: string[] = [];
  const collectors: CollectorSettings[] = [];
  const seen = new Set<string>();
  for (const name of listed) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (name in PASSED_OVER) {
      notes.push(`collector ${name} passed over: ${PASSED_OVER[name]}`);
      continue;
    }
    if (!(COLLECTOR_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(`unknown collector ${JSON.stringify(name.slice(0, 80))}; heat-agent has ${COLLECTOR_NAMES.join(', ')} (and passes over ${Object.keys(PASSED_OVER).join(', ')})`, where, 'collectors');
    }
    const s = settingsOf(name as CollectorName, block.sections[name], where, localDir);
    if (typeof s === 'string') notes.push(`collector ${name} ${s}`);
    else collectors.push(s);
  }
  return { collectors, notes };
}

/** A collector and what it reads, for the log (no secrets). */
export function describeCollector(s: CollectorSettings): string {
  switch (s.name) {
    case 'cfn':
      return `cfn ${s.stackName}/${s.resource}`;
    case 'heat':
      return `heat ${s.stackId}/${s.resourceName}`;
    case 'request':
      return `request ${redactUrl(s.metadataUrl)}`;
    case 'zaqar':
      return `zaqar queue ${s.queueId}`;
    case 'local':
      return `local ${s.paths.join(', ')}`;
  }
}
