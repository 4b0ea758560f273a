/**
 * The `deployments` of a server's metadata, as Heat puts them there for
 * OS::Heat::SoftwareDeployment: checked whole before anything runs (the
 * metadata may come from anyone who can write it), each with a fingerprint
 * of what would make it run again, in the list's order (Heat sorts it by
 * name and promises that order; heat-config runs it so). What heat-config
 * does to an item before its hook sees it is done here too: `String`
 * inputs that are not strings become Python's `str()` of the value, and a
 * `component` (OS::Heat::SoftwareComponent) becomes the config and tool of
 * its entry for the deployment's `deploy_action`.
 */
import * as path from 'node:path';
import { ConfigError } from '../../shared/errors';
import { readJsonFile } from '../../shared/json-file';
import { canonicalHash } from '../../shared/metadata-hash';
import { pythonStr } from '../../shared/pystr';

export interface DeploymentInput {
  name: string;
  value: unknown;
  type?: string;
}

export interface DeploymentOutput {
  name: string;
  /** An output that, when set, fails the deployment with its value as the reason. */
  errorOutput: boolean;
}

export interface Deployment {
  id: string;
  name: string;
  group: string;
  /** A script's text, or a cfn-init group's Init metadata (object or JSON text). */
  config: unknown;
  /** Set when the item is a `component` with no config for its `deploy_action`: nothing can run. */
  noConfigFor?: string;
  inputs: DeploymentInput[];
  outputs: DeploymentOutput[];
  options: Record<string, unknown>;
  /** The item as heat-config hands it to a hook (coerced, a component resolved): what a hook reads on stdin. */
  raw: Record<string, unknown>;
  /** Changes when anything that should make it run again changes. */
  fingerprint: string;
}

/**
 * A deployment id becomes a key of the state and a file name (heat-config's
 * deployed/<id>.json): Heat's are UUIDs; letters, digits, `_`, `.` and `-`,
 * starting with a letter or digit, are taken, so that no id names a path
 * elsewhere or a property every object has (`__proto__`).
 */
const DEPLOYMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
/** A hook is a file named after the group: no path separators, no dot-only names. */
const GROUP = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$/;
export const MAX_DEPLOYMENTS = 1000;
/** The largest heat-config record of a deployment read. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const MAX_NAME = 255;
/** Environment variable names heat-config's script hook passes inputs as. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(v: unknown, at: string, file: string, max = MAX_NAME): string {
  if (typeof v !== 'string' || !v || v.length > max) throw new ConfigError(`expected a string of 1 to ${max} characters, got ${JSON.stringify(v)?.slice(0, 60)}`, file, at);
  return v;
}

function deploymentId(item: Record<string, unknown>, at: string, where: string): string {
  const id = text(item.id, `${at}.id`, where);
  if (!DEPLOYMENT_ID.test(id)) {
    const name = typeof item.name === 'string' ? ` (deployment ${JSON.stringify(item.name.slice(0, 80))})` : '';
    throw new ConfigError(`${JSON.stringify(id.slice(0, 80))} is not a deployment id${name}: expected letters, digits, _ . and -, starting with a letter or digit, as Heat's UUIDs`, where, `${at}.id`);
  }
  return id;
}

/** heat-config's coercion: a `String` input whose value is not a string gets Python's `str()` of it. */
function coerced(x: Record<string, unknown>): Record<string, unknown> {
  return x.type === 'String' && 'value' in x && typeof x.value !== 'string' ? { ...x, value: pythonStr(x.value) } : x;
}

function hookGroup(v: unknown, at: string, where: string): string {
  const group = text(v, at, where);
  if (!GROUP.test(group) || group.includes('..')) throw new ConfigError(`not a hook name: ${JSON.stringify(group)}`, where, at);
  return group;
}

/**
 * A `component`'s entry for the action: the first of `config.configs`
 * whose `actions` hold it (Heat allows one per action), as its tool (the
 * group it runs as) and config; undefined when none does.
 */
function componentFor(config: unknown, action: unknown, at: string, where: string): { group: string; config: unknown } | undefined {
  if (!isObject(config) || !Array.isArray(config.configs)) throw new ConfigError('expected an object with a list `configs` (OS::Heat::SoftwareComponent)', where, `${at}.config`);
  let found: { group: string; config: unknown } | undefined;
  config.configs.forEach((c, k) => {
    const here = `${at}.config.configs[${k}]`;
    if (!isObject(c) || !Array.isArray(c.actions)) throw new ConfigError('expected an object with a list `actions`', where, here);
    const tool = hookGroup(c.tool, `${here}.tool`, where);
    if (!found && c.actions.includes(action)) found = { group: tool, config: c.config ?? null };
  });
  return found;
}

export function parseDeployments(metadata: unknown, where: string): Deployment[] {
  if (!isObject(metadata)) throw new ConfigError('the metadata is not a JSON object', where);
  const list = metadata.deployments;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new ConfigError('expected a list', where, 'deployments');
  if (list.length > MAX_DEPLOYMENTS) throw new ConfigError(`${list.length} deployments, at most ${MAX_DEPLOYMENTS}`, where, 'deployments');
  const seen = new Set<string>();
  return list.map((item, i): Deployment => {
    const at = `deployments[${i}]`;
    if (!isObject(item)) throw new ConfigError('expected an object', where, at);
    const id = deploymentId(item, at, where);
    if (seen.has(id)) throw new ConfigError(`id ${id} appears twice`, where, `${at}.id`);
    seen.add(id);
    let group = item.group === undefined ? 'Heat::Ungrouped' : hookGroup(item.group, `${at}.group`, where);
    const inputs = (item.inputs ?? []) as unknown;
    if (!Array.isArray(inputs)) throw new ConfigError('expected a list', where, `${at}.inputs`);
    const sentInputs = inputs.map((x, j) => {
      if (!isObject(x)) throw new ConfigError('expected an object', where, `${at}.inputs[${j}]`);
      text(x.name, `${at}.inputs[${j}].name`, where);
      return coerced(x);
    });
    const parsedInputs = sentInputs.map((x): DeploymentInput => ({ name: x.name as string, value: x.value ?? x.default ?? null, type: typeof x.type === 'string' ? x.type : undefined }));
    const outputs = (item.outputs ?? []) as unknown;
    if (!Array.isArray(outputs)) throw new ConfigError('expected a list', where, `${at}.outputs`);
    const parsedOutputs = outputs.map((x, j): DeploymentOutput => {
      if (!isObject(x)) throw new ConfigError('expected an object', where, `${at}.outputs[${j}]`);
      return { name: text(x.name, `${at}.outputs[${j}].name`, where), errorOutput: x.error_output === true };
    });
    const options = item.options === undefined || item.options === null ? {} : item.options;
    if (!isObject(options)) throw new ConfigError('expected an object', where, `${at}.options`);
    let config: unknown = item.config ?? null;
    let noConfigFor: string | undefined;
    let raw: Record<string, unknown> = { ...item, inputs: sentInputs };
    if (group === 'component') {
      const action = parsedInputs.find((x) => x.name === 'deploy_action')?.value;
      const picked = componentFor(config, action, at, where);
      if (picked) {
        ({ group, config } = picked);
        raw = { ...raw, group, config };
      } else noConfigFor = typeof action === 'string' ? action : JSON.stringify(action ?? null);
    }
    const fingerprint = canonicalHash({ group, config, inputs: parsedInputs, outputs: item.outputs ?? [], options });
    return { id, name: typeof item.name === 'string' ? item.name : id, group, config, noConfigFor, inputs: parsedInputs, outputs: parsedOutputs, options, raw, fingerprint };
  });
}

/** An input by name, as text (heat-config passes non-strings as JSON). */
export function inputValue(d: Deployment, name: string): string | undefined {
  const x = d.inputs.find((i) => i.name === name);
  if (x === undefined || x.value === null || x.value === undefined) return undefined;
  return typeof x.value === 'string' ? x.value : JSON.stringify(x.value);
}

/** The inputs a script gets as environment variables: names that can be one. */
export function inputEnvironment(d: Deployment): Record<string, string> {
  const env: Record<string, string> = {};
  for (const x of d.inputs) {
    if (!ENV_NAME.test(x.name)) continue;
    env[x.name] = x.value === null ? '' : typeof x.value === 'string' ? x.value : JSON.stringify(x.value);
  }
  return env;
}

/**
 * heat-config's record of a deployment it ran (`<dir>/deployed/<id>.json`,
 * the item as Heat sent it) matches `d`: an image moved from heat-config
 * does not run its deployments again.
 */
export function deployedByHeatConfig(d: Deployment, heatConfigDir: string): boolean {
  // d.id was checked (DEPLOYMENT_ID): the name stays in deployed/.
  const file = path.join(heatConfigDir, 'deployed', `${d.id}.json`);
  let before: Deployment | undefined;
  try {
    const read = readJsonFile(file, { what: "heat-config's record of the deployment", noFollow: true, maxBytes: MAX_RECORD_BYTES });
    if (!read) return false; // no record: never deployed by heat-config
    [before] = parseDeployments({ deployments: [read.value] }, file);
  } catch {
    return false; // a record we cannot read proves nothing: the deployment runs
  }
  return before?.id === d.id && before.fingerprint === d.fingerprint;
}
