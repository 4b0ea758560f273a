/**
 * A server's metadata as Heat composes it for its deployments: the
 * template's metadata, `deployments` (the current derived config of each
 * deployment, ordered by config name and then by when the deployment was
 * created, as Heat's metadata_software_deployments sorts them) and the
 * `os-collect-config` block of the server's `software_config_transport`
 * (server_base's `_populate_deployments_metadata`): the collector's section
 * (`cfn`, `heat`, `request` or `zaqar`) and `collectors` naming it, then
 * `local`. The deploy_* inputs carry the URLs and
 * credentials of each deployment's signal transport; they are computed as the
 * metadata is served, from the time Heat would have made them, so they come
 * out as Heat would have stored them.
 */
import { isMapping, pyQuote, pyTruthy } from './heat-format';
import { clone, type Deployment, type DerivedConfig } from './deployments';
import type { ResourceState, ServerState, StackState } from './model';
import { REGION } from './keystone';
import { heatSignedUrl } from './presign';
import { isoSeconds } from './signing';
import { NOVA_SERVER } from './stackfile-software';
import { tempUrl, tempUrlExpires } from './swift-tempurl';

export interface Endpoints {
  /** `http://127.0.0.1:PORT`: heat-api-cfn under /v1, keystone under /v3, heat-api under /v1/<project>, Swift under /swift. */
  url: string;
  /** Heat's `heat_waitcondition_server_url`; a CFN_SIGNAL URL replaces its `/waitcondition` with `/signal`. */
  signalBase: string;
}

export interface MetadataEnv {
  endpoints: Endpoints;
  tempUrlKey: string;
}

function input(name: string, value: unknown, description: string): Record<string, unknown> {
  return { name, description, type: 'String', value };
}

/** The temp URL a TEMP_URL_SIGNAL deployment PUTs its outputs to: container the stack id, object the physical name. */
function signalTempUrl(d: Deployment, env: MetadataEnv): string {
  const path = `/v1/AUTH_${d.stack.tenant}/${d.stack.stackId}/${d.incarnation.physicalName}`;
  return tempUrl(env.endpoints.url, env.tempUrlKey, path, tempUrlExpires(d.incarnation.madeAt));
}

/** `_build_derived_inputs`' deploy_* inputs, in Heat's order, for the transport. */
function deployInputs(d: Deployment, c: DerivedConfig, env: MetadataEnv): Array<Record<string, unknown>> {
  const server = d.stack.resources.get(d.server)!;
  const out = [
    input('deploy_server_id', server.physicalId, 'ID of the server being deployed to'),
    input('deploy_action', c.action, 'Name of the current action being deployed'),
    input('deploy_stack_id', `${pyQuote(d.stack.stackName, '')}/${pyQuote(d.stack.stackId, '')}`, 'ID of the stack this deployment belongs to'),
    input('deploy_resource_name', d.name, 'Name of this deployment resource in the stack'),
    input('deploy_signal_transport', d.transport, 'How the server should signal to heat with the deployment output values.'),
  ];
  const signalId = (value: string) => input('deploy_signal_id', value, 'ID of signal to use for signaling output values');
  const verb = (value: string) => input('deploy_signal_verb', value, 'HTTP verb to use for signaling output values');
  const { user, keys } = d.incarnation;
  switch (d.transport) {
    case 'CFN_SIGNAL': {
      // Signed when the config was derived: keystone refuses it 15 minutes later, as it refuses Heat's.
      const url = heatSignedUrl({ signalBaseUrl: env.endpoints.signalBase.replaceAll('/waitcondition', '/signal'), ref: d.stack, resource: d.name, time: c.createdAt, verb: 'POST', ...keys! });
      out.push(signalId(url), verb('POST'));
      break;
    }
    case 'TEMP_URL_SIGNAL':
      out.push(signalId(signalTempUrl(d, env)), verb('PUT'));
      break;
    case 'HEAT_SIGNAL':
    case 'ZAQAR_SIGNAL':
      out.push(
        // With the trailing slash Heat's carries.
        input('deploy_auth_url', `${env.endpoints.url}/v3/`, 'URL for API authentication'),
        input('deploy_username', user!.name, 'Username for API authentication'),
        input('deploy_user_id', user!.id, 'User ID for API authentication'),
        input('deploy_password', user!.password, 'Password for API authentication'),
        input('deploy_project_id', user!.projectId, 'ID of project for API authentication'),
        input('deploy_region_name', REGION, 'Region name for API authentication'),
      );
      if (d.transport === 'ZAQAR_SIGNAL') out.push(input('deploy_queue_id', d.incarnation.physicalName, 'ID of queue to use for signaling output values'));
      break;
    case 'NO_SIGNAL':
      break;
  }
  return out;
}

/** StructuredDeployment's `parse`: `{<key>: name}` becomes the input's value (null for none), everywhere in the config. */
function substitute(snippet: unknown, values: Map<string, unknown>, key: string): unknown {
  if (Array.isArray(snippet)) return snippet.map((v) => substitute(v, values, key));
  if (!isMapping(snippet)) return snippet;
  const entries = Object.entries(snippet);
  if (entries.length === 1 && entries[0][0] === key && typeof entries[0][1] === 'string') return values.has(entries[0][1]) ? values.get(entries[0][1]) : null;
  return Object.fromEntries(entries.map(([k, v]) => [k, substitute(v, values, key)]));
}

/** `format_software_config` of the deployment's current derived config; none before an action ran it or after it was deleted. */
export function metadataItem(d: Deployment, env: MetadataEnv): Record<string, unknown> | null {
  if (!d.row) return null;
  const c = d.row.config;
  const inputs = [...c.inputs, ...deployInputs(d, c, env)];
  let config = c.config;
  if (c.inputKey !== undefined) {
    const substituted = substitute(c.config, new Map(inputs.map((i) => [String(i.name), i.value])), c.inputKey);
    // StructuredDeployment's empty_config is {}.
    config = pyTruthy(substituted) ? substituted : {};
  }
  return clone({
    id: c.id,
    name: c.name,
    group: c.group,
    creation_time: isoSeconds(c.createdAt),
    config,
    inputs,
    outputs: c.outputs,
    options: c.options,
  });
}

/** The server's metadata object for POLL_TEMP_URL: the container is the server's physical name, the object a uuid4. */
export function metadataObjectPath(stack: StackState, server: ServerState): string {
  return `/v1/AUTH_${stack.tenant}/${server.physicalName}/${server.objectName}`;
}

/** The collector of the server's transport and its section, as Heat fills it. */
function transportSection(stack: StackState, res: ResourceState, env: MetadataEnv): [string, Record<string, unknown>] {
  const server = res.server!;
  // In Heat's key order; the auth URL with the trailing slash Heat's carries.
  const keystone = () => ({ user_id: server.user!.id, password: server.user!.password, auth_url: `${env.endpoints.url}/v3/`, project_id: server.user!.projectId });
  switch (server.transport) {
    case 'POLL_SERVER_CFN':
      return ['cfn', { metadata_url: `${env.endpoints.url}/v1/`, access_key_id: server.keys.accessKey, secret_access_key: server.keys.secretKey, stack_name: stack.stackName, path: `${res.name}.Metadata` }];
    case 'POLL_SERVER_HEAT':
      return ['heat', { ...keystone(), stack_id: `${stack.stackName}/${stack.stackId}`, resource_name: res.name, region_name: REGION }];
    case 'POLL_TEMP_URL':
      return ['request', { metadata_url: tempUrl(env.endpoints.url, env.tempUrlKey, metadataObjectPath(stack, server), tempUrlExpires(server.madeAt), 'GET') }];
    case 'ZAQAR_MESSAGE':
      return ['zaqar', { ...keystone(), queue_id: server.physicalName, region_name: REGION }];
  }
}

/** The server's metadata: the template's (`template`), with `deployments` and `os-collect-config` set as Heat sets them. */
export function serverMetadata(stack: StackState, server: ResourceState, deployments: Deployment[], env: MetadataEnv): Record<string, unknown> {
  const mine = deployments
    .filter((d) => d.stack === stack && d.server === server.name && d.row)
    .sort((a, b) => {
      const [x, y] = [a.row!, b.row!];
      if (x.config.name !== y.config.name) return x.config.name < y.config.name ? -1 : 1;
      return x.createdAt - y.createdAt || x.seq - y.seq;
    });
  const meta: Record<string, unknown> = isMapping(server.metadata) ? clone(server.metadata) : {};
  meta.deployments = mine.map((d) => metadataItem(d, env));
  const occ: Record<string, unknown> = isMapping(meta['os-collect-config']) ? meta['os-collect-config'] : {};
  // Heat blanks what a boot-time config set for the collectors, so that the agent drops them.
  for (const other of ['heat', 'zaqar', 'cfn', 'request']) {
    const block = occ[other];
    if (isMapping(block)) for (const k of Object.keys(block)) block[k] = null;
  }
  const [collector, section] = transportSection(stack, server, env);
  occ.collectors = [...(server.type === NOVA_SERVER ? ['ec2'] : []), collector, 'local'];
  occ[collector] = section;
  meta['os-collect-config'] = occ;
  return meta;
}
