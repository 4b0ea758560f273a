/**
 * configSets as AWS documents them: a set is a config name, a
 * `{"ConfigSet": name}` reference to another set, or a (nested) list of
 * those. Every set is checked, not only the selected ones, so a broken set
 * is reported before anything runs, wherever it is. Without a `configSets`
 * key there is one implicit set, `default` = [`config`].
 *
 * Pure functions that touch nothing: problems in the document go to a
 * Problems list with key paths (`configSets.default[1]`); only a malformed
 * `-c` flag is thrown, as a usage error.
 */
import { UsageError } from '../errors';
import { child, describe, isObject, item, type Json, type JsonObject, type Problems } from './validation';

export const CONFIGSETS_KEY = 'configSets';
export const DEFAULT_SET = 'default';
export const DEFAULT_CONFIG = 'config';

/** One config to run, in run order. */
export interface SelectedConfig {
  /** The requested set this config runs for (`-c` name or `default`). */
  configSet: string;
  /** The config's key in AWS::CloudFormation::Init. */
  name: string;
  /**
   * How the config was reached, for key paths: `configSets.default[1]`, or
   * through references `configSets.default[0] -> configSets.base[1]`; empty
   * for the implicit default set.
   */
  via: string;
}

/** A config reached from a set, relative to that set. */
interface Reached {
  name: string;
  via: string;
}

type Entry = { kind: 'config'; name: string; path: string } | { kind: 'ref'; set: string; path: string };

/** `-c a, b` → [`a`, `b`]; undefined when the flag was not given. */
export function parseConfigSetsFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`--configsets ${JSON.stringify(value)}: empty configSet name`);
  return names;
}

/** The configs of Init: every key except `configSets`. */
export function configNames(init: JsonObject): string[] {
  return Object.keys(init).filter((k) => k !== CONFIGSETS_KEY);
}

/** Flatten one set's value into entries, reporting malformed ones. */
function entries(value: Json, path: string, configs: ReadonlySet<string>, p: Problems, out: Entry[] = []): Entry[] {
  if (typeof value === 'string') {
    if (configs.has(value)) out.push({ kind: 'config', name: value, path });
    else p.add(path, `no config named ${JSON.stringify(value)} in AWS::CloudFormation::Init${hint(configs)}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => entries(v, item(path, i), configs, p, out));
  } else if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length !== 1 || keys[0] !== 'ConfigSet') {
      p.add(path, `a reference must be exactly {"ConfigSet": "<name>"}, got keys ${keys.map((k) => JSON.stringify(k)).join(', ') || '(none)'}`);
    } else if (typeof value.ConfigSet !== 'string') {
      p.add(child(path, 'ConfigSet'), `expected a configSet name, got ${describe(value.ConfigSet)}`);
    } else {
      out.push({ kind: 'ref', set: value.ConfigSet, path });
    }
  } else {
    p.add(path, `expected a config name, a {"ConfigSet": name} reference or a list of them, got ${describe(value)}`);
  }
  return out;
}

function hint(names: Iterable<string>): string {
  const list = [...names];
  return list.length ? ` (defined: ${list.join(', ')})` : '';
}

/**
 * Every set expanded to its configs, in order, references resolved.
 * Undefined references and reference cycles are problems; a set caught in a
 * cycle is left out of the result.
 */
export function expandConfigSets(init: JsonObject, p: Problems): Map<string, Reached[]> {
  const configs = new Set(configNames(init));
  const result = new Map<string, Reached[]>();
  if (!(CONFIGSETS_KEY in init)) {
    if (configs.has(DEFAULT_CONFIG)) result.set(DEFAULT_SET, [{ name: DEFAULT_CONFIG, via: '' }]);
    return result;
  }
  const raw = init[CONFIGSETS_KEY];
  if (!isObject(raw)) {
    p.add(CONFIGSETS_KEY, `expected an object of configSets, got ${describe(raw)}`);
    return result;
  }

  const parsed = new Map<string, Entry[]>();
  for (const [name, value] of Object.entries(raw)) parsed.set(name, entries(value, child(CONFIGSETS_KEY, name), configs, p));
  for (const list of parsed.values()) {
    for (const e of list) {
      if (e.kind === 'ref' && !parsed.has(e.set)) p.add(child(e.path, 'ConfigSet'), `configSet ${JSON.stringify(e.set)} is referenced but not defined${hint(parsed.keys())}`);
    }
  }

  // Depth-first expansion; a reference back into the current chain is a cycle.
  const state = new Map<string, 'visiting' | 'done' | 'cyclic'>();
  const reported = new Set<string>();
  const chain: string[] = [];
  const expand = (set: string): Reached[] | undefined => {
    const s = state.get(set);
    if (s === 'done') return result.get(set);
    if (s === 'cyclic') return undefined;
    state.set(set, 'visiting');
    chain.push(set);
    const out: Reached[] = [];
    let broken = false;
    for (const e of parsed.get(set) ?? []) {
      if (e.kind === 'config') {
        out.push({ name: e.name, via: e.path });
        continue;
      }
      if (!parsed.has(e.set)) continue; // reported above
      if (state.get(e.set) === 'visiting') {
        const cycle = [...chain.slice(chain.indexOf(e.set)), e.set];
        const key = [...new Set(cycle)].sort().join('\0');
        if (!reported.has(key)) {
          reported.add(key);
          p.add(child(e.path, 'ConfigSet'), `circular configSet reference: ${cycle.join(' -> ')}`);
        }
        broken = true;
        continue;
      }
      const sub = expand(e.set);
      if (!sub) {
        broken = true;
        continue;
      }
      for (const r of sub) out.push({ name: r.name, via: `${e.path} -> ${r.via}` });
    }
    chain.pop();
    state.set(set, broken ? 'cyclic' : 'done');
    if (broken) return undefined;
    result.set(set, out);
    return out;
  };
  for (const name of parsed.keys()) expand(name);
  return result;
}

/**
 * The configs to run for `requested` sets (`default` when none), in order;
 * a config listed twice runs twice. All sets are checked on the way.
 */
export function selectConfigs(init: JsonObject, requested: string[] | undefined, p: Problems): SelectedConfig[] {
  const sets = expandConfigSets(init, p);
  const explicit = CONFIGSETS_KEY in init;
  if (!explicit && !sets.has(DEFAULT_SET)) {
    if (configNames(init).length === 0) {
      // `{}`: AWS runs an empty default config. Nothing to run is not an error (the caller warns).
      sets.set(DEFAULT_SET, []);
    } else if ((requested ?? [DEFAULT_SET]).includes(DEFAULT_SET)) {
      p.add(DEFAULT_CONFIG, `no configSets key and no config named ${JSON.stringify(DEFAULT_CONFIG)}: nothing to run${hint(configNames(init))}`);
      return [];
    }
  }
  if (explicit && !isObject(init[CONFIGSETS_KEY])) return []; // reported by expandConfigSets
  const defined = explicit ? Object.keys(init[CONFIGSETS_KEY] as JsonObject) : [];
  const selected: SelectedConfig[] = [];
  for (const name of requested ?? [DEFAULT_SET]) {
    const reached = sets.get(name);
    if (reached) {
      for (const r of reached) selected.push({ configSet: name, ...r });
      continue;
    }
    if (defined.includes(name)) continue; // broken set: its problems are reported already
    const where = requested ? '--configsets' : CONFIGSETS_KEY;
    const also = explicit ? hint(defined) : ' (there is no configSets key: only the implicit set "default" = ["config"])';
    p.add(where, `no configSet named ${JSON.stringify(name)}${also}${requested ? '' : '; choose one with -c'}`);
  }
  return selected;
}

/** Key path of a config reached through `via`: `configSets.default[1] -> config2`. */
export function configPath(c: Pick<SelectedConfig, 'name' | 'via'>): string {
  return c.via ? `${c.via} -> ${c.name}` : c.name;
}
