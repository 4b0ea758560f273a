/**
 * The stack-file side of software deployments: servers, the config
 * resources (OS::Heat::SoftwareConfig, OS::Heat::StructuredConfig) and the
 * deployment resources (OS::Heat::SoftwareDeployment,
 * OS::Heat::StructuredDeployment), their `properties` named and checked as in
 * a Heat template (a resource reference is the resource's logical name, where
 * a template would write get_resource).
 */
import { isMapping } from './heat-format';
import { type Checker, join } from './stackfile-check';
import { type InputSpec, IO_TYPES, type OutputSpec, SoftwareConfigError, storedInput } from './software-config';

export const DEPLOYED_SERVER = 'OS::Heat::DeployedServer';
export const NOVA_SERVER = 'OS::Nova::Server';
export const SERVER_TYPES: readonly string[] = [DEPLOYED_SERVER, NOVA_SERVER];
export const SOFTWARE_CONFIG = 'OS::Heat::SoftwareConfig';
/** Its `config` is a mapping, not a script. */
export const STRUCTURED_CONFIG = 'OS::Heat::StructuredConfig';
export const CONFIG_TYPES: readonly string[] = [SOFTWARE_CONFIG, STRUCTURED_CONFIG];
export const SOFTWARE_DEPLOYMENT = 'OS::Heat::SoftwareDeployment';
/** Replaces `{get_input: name}` in its config by the input's value. */
export const STRUCTURED_DEPLOYMENT = 'OS::Heat::StructuredDeployment';
export const DEPLOYMENT_TYPES: readonly string[] = [SOFTWARE_DEPLOYMENT, STRUCTURED_DEPLOYMENT];

/** How the server's agent reads its metadata (the server's `software_config_transport`). */
export const CONFIG_TRANSPORTS = ['POLL_SERVER_CFN', 'POLL_SERVER_HEAT', 'POLL_TEMP_URL', 'ZAQAR_MESSAGE'] as const;
export type ConfigTransport = (typeof CONFIG_TRANSPORTS)[number];

export interface ServerProperties {
  /** Default POLL_SERVER_CFN, Heat's `default_software_config_transport`. */
  software_config_transport?: ConfigTransport;
}

export const SIGNAL_TRANSPORTS = ['CFN_SIGNAL', 'TEMP_URL_SIGNAL', 'HEAT_SIGNAL', 'NO_SIGNAL', 'ZAQAR_SIGNAL'] as const;
export type SignalTransport = (typeof SIGNAL_TRANSPORTS)[number];
export const DEPLOY_ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'SUSPEND', 'RESUME'] as const;
export type DeployAction = (typeof DEPLOY_ACTIONS)[number];

export interface SoftwareConfigProperties {
  /** Default `Heat::Ungrouped`. */
  group?: string;
  /** SoftwareConfig: a script or manifest (text); StructuredConfig: a mapping (cfn-init, os-apply-config data). */
  config?: string | Record<string, unknown>;
  inputs?: InputSpec[];
  outputs?: OutputSpec[];
  options?: Record<string, unknown>;
}

export interface DeploymentProperties {
  /** The config resource deployed; none deploys an empty config. */
  config?: string;
  /** The server resource (OS::Heat::DeployedServer or OS::Nova::Server) it is deployed to. */
  server: string;
  input_values?: Record<string, unknown>;
  /** Default CFN_SIGNAL, Heat's `default_deployment_signal_transport`. */
  signal_transport?: SignalTransport;
  /** The stack actions that run it; default CREATE and UPDATE. */
  actions?: DeployAction[];
  /** The name of its configs in the server's metadata, which orders them. */
  name?: string;
  /** StructuredDeployment: the function name replaced by an input's value (default get_input). */
  input_key?: string;
}

function mappingOf(c: Checker, v: unknown, at: string): Record<string, unknown> {
  return c.mapping(v, at, isMapping(v) ? Object.keys(v) : []);
}

function oneOf<T extends string>(c: Checker, v: unknown, at: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !allowed.includes(v as T)) c.fail(at, `must be one of ${allowed.join(', ')}, not ${JSON.stringify(v)}`);
  return v as T;
}

function checkInputs(c: Checker, v: unknown, at: string): InputSpec[] {
  return c.list(v, at).map((item, i) => {
    const p = join(at, i);
    const o = c.mapping(item, p, ['name', 'description', 'type', 'default']);
    const input: InputSpec = { name: c.string(o.name, join(p, 'name'))! };
    const description = c.string(o.description, join(p, 'description'), { optional: true, empty: true });
    if (description !== undefined) input.description = description;
    const type = oneOf(c, o.type, join(p, 'type'), IO_TYPES);
    if (type !== undefined) input.type = type;
    if (o.default !== undefined) input.default = o.default;
    try {
      storedInput(input);
    } catch (err) {
      if (err instanceof SoftwareConfigError) c.fail(join(p, 'default'), `${err.message} (as a ${type ?? 'String'})`);
      throw err;
    }
    return input;
  });
}

function checkOutputs(c: Checker, v: unknown, at: string): OutputSpec[] {
  return c.list(v, at).map((item, i) => {
    const p = join(at, i);
    const o = c.mapping(item, p, ['name', 'description', 'type', 'error_output']);
    const output: OutputSpec = { name: c.string(o.name, join(p, 'name'))! };
    const description = c.string(o.description, join(p, 'description'), { optional: true, empty: true });
    if (description !== undefined) output.description = description;
    const type = oneOf(c, o.type, join(p, 'type'), IO_TYPES);
    if (type !== undefined) output.type = type;
    if (o.error_output !== undefined) {
      if (typeof o.error_output !== 'boolean') c.fail(join(p, 'error_output'), 'must be true or false');
      output.error_output = o.error_output;
    }
    return output;
  });
}

export function checkConfigProperties(c: Checker, type: string, v: unknown, at: string): SoftwareConfigProperties {
  const o = c.mapping(v, at, ['group', 'config', 'inputs', 'outputs', 'options']);
  const props: SoftwareConfigProperties = {};
  const group = c.string(o.group, join(at, 'group'), { optional: true });
  if (group !== undefined) props.group = group;
  if (o.config !== undefined) {
    // Heat's property types: a String for the one, a Map for the other; Heat refuses the rest.
    if (type === STRUCTURED_CONFIG && !isMapping(o.config)) c.fail(join(at, 'config'), `must be a mapping, not ${typeof o.config === 'string' ? 'a string' : JSON.stringify(o.config)}`);
    if (type === SOFTWARE_CONFIG && typeof o.config !== 'string') c.fail(join(at, 'config'), `must be a string (a script); a mapping is the config of an ${STRUCTURED_CONFIG}`);
    props.config = o.config as string | Record<string, unknown>;
  }
  if (o.inputs !== undefined) props.inputs = checkInputs(c, o.inputs, join(at, 'inputs'));
  if (o.outputs !== undefined) props.outputs = checkOutputs(c, o.outputs, join(at, 'outputs'));
  if (o.options !== undefined) props.options = mappingOf(c, o.options, join(at, 'options'));
  return props;
}

export function checkServerProperties(c: Checker, v: unknown, at: string): ServerProperties {
  const o = c.mapping(v, at, ['software_config_transport']);
  const props: ServerProperties = {};
  const transport = oneOf(c, o.software_config_transport, join(at, 'software_config_transport'), CONFIG_TRANSPORTS);
  if (transport !== undefined) props.software_config_transport = transport;
  return props;
}

export function checkDeploymentProperties(c: Checker, type: string, v: unknown, at: string): DeploymentProperties {
  const keys = ['config', 'server', 'input_values', 'signal_transport', 'actions', 'name'];
  const o = c.mapping(v, at, type === STRUCTURED_DEPLOYMENT ? [...keys, 'input_key'] : keys);
  const props: DeploymentProperties = { server: c.string(o.server, join(at, 'server'))! };
  const config = c.string(o.config, join(at, 'config'), { optional: true });
  if (config !== undefined) props.config = config;
  if (o.input_values !== undefined) props.input_values = mappingOf(c, o.input_values, join(at, 'input_values'));
  const transport = oneOf(c, o.signal_transport, join(at, 'signal_transport'), SIGNAL_TRANSPORTS);
  if (transport !== undefined) props.signal_transport = transport;
  if (o.actions !== undefined) props.actions = c.list(o.actions, join(at, 'actions')).map((a, i) => oneOf(c, a, join(join(at, 'actions'), i), DEPLOY_ACTIONS)!);
  const name = c.string(o.name, join(at, 'name'), { optional: true });
  if (name !== undefined) props.name = name;
  const inputKey = c.string(o.input_key, join(at, 'input_key'), { optional: true });
  if (inputKey !== undefined) props.input_key = inputKey;
  return props;
}

/** A deployment's `server` and `config` must name resources of those types in its stack. */
export function checkDeploymentReferences(c: Checker, props: DeploymentProperties, types: Record<string, string>, at: string): void {
  const refer = (key: 'server' | 'config', name: string, allowed: readonly string[]) => {
    const type = types[name];
    if (type === undefined) c.fail(join(at, key), `no resource ${JSON.stringify(name)} in this stack`);
    if (!allowed.includes(type)) c.fail(join(at, key), `${name} is a ${type}, not a ${allowed.join(' or ')}`);
  };
  refer('server', props.server, SERVER_TYPES);
  if (props.config !== undefined) refer('config', props.config, CONFIG_TYPES);
}
