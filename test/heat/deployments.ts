/**
 * Test support for OS::Heat::SoftwareDeployment against the real Heat rig:
 * what an instance agent (heat-agent, os-collect-config + heat-config
 * style) sees and what it must send, driven by hand.
 *
 * The flow, as on a real instance:
 *
 *   1. The server is an OS::Heat::DeployedServer with
 *      `software_config_transport: POLL_SERVER_CFN` (no Nova). Heat creates
 *      a stack user and an EC2 key pair for it and writes them into the
 *      server's own metadata, `os-collect-config.cfn`. On a real instance
 *      they reach the agent through user data; here the test reads them the
 *      practical way, as the admin user through heat-api
 *      (`GET .../resources/server/metadata`, `serverMetadataViaHeatApi`),
 *      or from the server's `os_collect_config` attribute (a stack output of
 *      the templates).
 *   2. With those keys the agent polls DescribeStackResource (heat-api-cfn,
 *      signed) for `stack_name` / the resource in `path` ("server.Metadata"):
 *      `describeServerMetadata`, `waitForDeployments`.
 *   3. Each item of `deployments` carries the config, its inputs (the
 *      template's, then Heat's `deploy_*`) and outputs. The agent runs it and
 *      signals according to `deploy_signal_transport`: `signalDeployment`
 *      (`signalCfn`: POST to the pre-signed `deploy_signal_id`;
 *      `signalHeat`: keystone password auth, then POST to heat-api's
 *      resource-signal URL; NO_SIGNAL: nothing).
 *   4. Heat stores the signal's outputs on the deployment; the stack's
 *      outputs (get_attr) and `softwareDeployment()` show them.
 *
 * Templates: templates/heat-agent.json (one script deployment; transport and
 * actions are parameters), heat-agent-two.json (two deployments, ordering),
 * heat-agent-cfn-init.json (cfn-init group, string and structured config).
 * Recorded metadata: test/fixtures/heat-deployments/ (record-deployment-fixtures.ts).
 *
 * The rig runs heat on sqlite, which reuses the id of the newest row once it
 * is deleted; Heat keeps a stale id of a resource's cached-attribute row
 * across an update, so that without `preventPropertiesDataIdReuse` an
 * update of a deployment whose attributes the stack's outputs use
 * overwrites or deletes the deployment's own properties row (the stack then
 * stays UPDATE_IN_PROGRESS and GETs fail with "ResourcePropertiesData with
 * id ... not found").
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeStackResource, CFN_API_VERSION } from '../../shared/cfn-api';
import { credentialProvider } from '../../shared/credentials/resolve';
import { resolveEndpoint } from '../../shared/endpoints';
import { HttpClient } from '../../shared/http';
import { QueryClient } from '../../shared/query-api';
import {
  FatalPollError,
  assertLoopback,
  pollUntil,
  rawRequest,
  readTemplate,
  repoRoot,
  uniqueStackName,
  useStack,
  type RawResponse,
  type RealHeat,
  type ResourceInfo,
  type StackInfo,
  type StackRef,
} from './rig';

const MINUTE = 60_000;

export const TEMPLATES = {
  /** server + script config (input greeting; outputs result, failure = error_output) + one deployment. */
  single: 'heat-agent.json',
  /** two deployments on one server; deploy_b (name 00_early) depends on deploy_a. */
  two: 'heat-agent-two.json',
  /** cfn-init group: a SoftwareConfig (config a JSON string) and a StructuredConfig (config a map). */
  cfnInit: 'heat-agent-cfn-init.json',
  /** a failing script and a deployment of a group only a heat-config hook runs. */
  failAndHook: 'heat-agent-fail-hook.json',
} as const;

export type SignalTransport = 'CFN_SIGNAL' | 'HEAT_SIGNAL' | 'NO_SIGNAL';

// ---------------------------------------------------------------- metadata shape (as Heat 19 writes it)

/** An input of a deployment item: the config's declared inputs first, then Heat's `deploy_*`. */
export interface DeploymentInput {
  name: string;
  type: string;
  description?: string;
  default?: unknown;
  /** Only when true. */
  replace_on_change?: boolean;
  value?: unknown;
}

export interface DeploymentOutput {
  name: string;
  type: string;
  description?: string;
  error_output: boolean;
}

/**
 * One item of the server's `deployments`: Heat's *derived config* of a
 * deployment (a new one, with a new `id` and `creation_time`, for each
 * action the deployment runs), sorted by `name`.
 */
export interface DeploymentItem {
  /** The derived config's id (not the deployment's; that one is nowhere in the metadata). */
  id: string;
  /** The deployment's `name` property, else the source config's name (`<stack>-<config resource>-<random>`). */
  name: string;
  group: string;
  /** Whole seconds, UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
  creation_time: string;
  /** A string (SoftwareConfig) or an object (StructuredConfig). */
  config: unknown;
  inputs: DeploymentInput[];
  outputs: DeploymentOutput[];
  /** `{}` when the config has none. */
  options: Record<string, unknown> | null;
}

/** The `cfn` collector block: everything needed to poll DescribeStackResource. */
export interface CfnCollector {
  /** heat-api-cfn's base, `http://127.0.0.1:PORT/v1/` (with the trailing slash). */
  metadata_url: string;
  access_key_id: string;
  secret_access_key: string;
  stack_name: string;
  /** `<server resource name>.Metadata`. */
  path: string;
}

export interface ServerMetadata {
  deployments: DeploymentItem[];
  'os-collect-config': {
    /** `['cfn', 'local']` for POLL_SERVER_CFN. */
    collectors: string[];
    cfn?: CfnCollector;
    [collector: string]: unknown;
  };
  [key: string]: unknown;
}

/** What a deployment's signal carries: the three standard keys plus the config's outputs by name. */
export interface DeploymentSignal {
  deploy_stdout?: string;
  deploy_stderr?: string;
  /** Anything but 0 / '0' / absent / null / '' fails the deployment. */
  deploy_status_code?: number | string;
  [output: string]: unknown;
}

/** The inputs of an item as name -> value. */
export function inputValues(item: DeploymentItem): Record<string, unknown> {
  return Object.fromEntries(item.inputs.map((i) => [i.name, i.value]));
}

function inputString(item: DeploymentItem, name: string): string {
  const v = inputValues(item)[name];
  if (typeof v !== 'string' || v === '') throw new Error(`deployment ${item.name}: input ${name} is ${JSON.stringify(v)}`);
  return v;
}

/** The `cfn` collector block of the metadata, checked to point at loopback. */
export function cfnCredentials(metadata: unknown): CfnCollector {
  const occ = (metadata as Partial<ServerMetadata> | undefined)?.['os-collect-config'];
  const cfn = occ?.cfn;
  if (!cfn || typeof cfn.access_key_id !== 'string' || typeof cfn.secret_access_key !== 'string' || typeof cfn.metadata_url !== 'string') {
    throw new Error(`the server's metadata has no os-collect-config.cfn block: ${JSON.stringify(occ)}`);
  }
  assertLoopback(cfn.metadata_url);
  return cfn;
}

/** The resource named by the collector's `path` ("server.Metadata" -> "server"). */
export function resourceOfPath(cfn: CfnCollector): string {
  const m = /^([^.]+)\.Metadata$/.exec(cfn.path);
  if (!m) throw new Error(`os-collect-config.cfn.path is ${JSON.stringify(cfn.path)}, expected <resource>.Metadata`);
  return m[1];
}

// ---------------------------------------------------------------- the rig's sqlite ids

const guarded = new Set<string>();

/**
 * Make heat's sqlite database stop reusing `resource_properties_data` ids
 * (what MySQL's AUTO_INCREMENT and PostgreSQL's sequences do anyway): when
 * the row with the highest id is deleted, a trigger puts an empty row back
 * under that id, so the next insert gets a new one. Heat keeps the id of a
 * resource's cached attributes after deleting that row at the start of an
 * update, creates the updated properties (on sqlite: under the same id) and
 * then writes the attributes to, or deletes, the row under the stale id,
 * i.e. the deployment's own properties. An empty row that the stale id
 * reaches instead is harmless. Idempotent; once per rig and process.
 * (The place for this is setup.sh, next to its resource_data trigger.)
 */
export function preventPropertiesDataIdReuse(rig: RealHeat): void {
  const db = path.join(rig.env.REAL_HEAT_BASE || rig.base, 'data', 'heat.db');
  if (guarded.has(db)) return;
  if (!fs.existsSync(db)) throw new Error(`real-heat rig: no heat database at ${db}`);
  const py = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=30)',
    'db.execute("CREATE TRIGGER IF NOT EXISTS cfntools_rpd_no_id_reuse AFTER DELETE ON resource_properties_data "',
    '           "FOR EACH ROW WHEN OLD.id > IFNULL((SELECT MAX(id) FROM resource_properties_data), 0) BEGIN "',
    '           "INSERT INTO resource_properties_data (id, data, encrypted, created_at) VALUES (OLD.id, NULL, 0, OLD.created_at); END")',
    'db.commit()',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', py, db], { encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin' } });
  if (r.status !== 0) throw new Error(`real-heat rig: could not add the resource_properties_data trigger to ${db}: ${r.stderr || r.error?.message}`);
  guarded.add(db);
}

// ---------------------------------------------------------------- stacks

/** Create a stack from one of the templates; returns at once (the deployments wait for signals). */
export async function createDeploymentStack(rig: RealHeat, prefix: string, template: string, parameters: Record<string, unknown> = {}): Promise<StackRef> {
  preventPropertiesDataIdReuse(rig);
  return rig.heat.createStack(uniqueStackName(prefix), readTemplate(template), parameters);
}

export interface DeploymentStack {
  rig: RealHeat;
  ref: StackRef;
}

/**
 * One deployment stack for the current `describe` (useStack): created
 * without waiting, since its deployments stay IN_PROGRESS until signalled;
 * deleted after, also after failures.
 */
export function useDeploymentStack(prefix: string, template: string = TEMPLATES.single, parameters: Record<string, unknown> = {}): () => DeploymentStack {
  return useStack(`deployment stack ${prefix}`, async (rig, created) => {
    const ref = await createDeploymentStack(rig, prefix, template, parameters);
    created(ref);
    return { rig, ref };
  });
}

export async function resource(rig: RealHeat, ref: StackRef, name: string): Promise<ResourceInfo> {
  return (await rig.heat.call<{ resource: ResourceInfo }>('GET', `/stacks/${ref.name}/${ref.id}/resources/${name}`)).data.resource;
}

/** Poll one resource until `done` accepts it; a *_FAILED status it does not accept ends the wait. */
export async function waitForResource(rig: RealHeat, ref: StackRef, name: string, done: (r: ResourceInfo) => boolean, timeoutMs = 2 * MINUTE): Promise<ResourceInfo> {
  return pollUntil(`resource ${name} of ${ref.name}`, timeoutMs, async () => {
    const r = await resource(rig, ref, name);
    if (done(r)) return r;
    if (r.resource_status.endsWith('_FAILED')) throw new FatalPollError(`resource ${name} of ${ref.name} is ${r.resource_status}: ${r.resource_status_reason ?? ''}`);
    return undefined;
  }, 250);
}

/** Poll the stack until it leaves *_IN_PROGRESS (finer-grained than HeatApi.waitForStack). */
export async function settledStack(rig: RealHeat, ref: StackRef, timeoutMs = 2 * MINUTE): Promise<StackInfo> {
  return pollUntil(`stack ${ref.name} to leave *_IN_PROGRESS`, timeoutMs, async () => {
    const s = await rig.heat.stack(ref);
    return s.stack_status.endsWith('_IN_PROGRESS') ? undefined : s;
  }, 250);
}

/** Outputs by key, null where Heat has no value yet (no throwing on output_error). */
export async function stackOutputs(rig: RealHeat, ref: StackRef): Promise<Record<string, unknown>> {
  const s = await rig.heat.stack(ref);
  return Object.fromEntries((s.outputs ?? []).map((o) => [o.output_key, o.output_error ? { output_error: o.output_error } : o.output_value]));
}

// ---------------------------------------------------------------- reading the metadata

/** The server resource's metadata through heat-api as the rig's admin user (how the test gets the first credentials). */
export async function serverMetadataViaHeatApi(rig: RealHeat, ref: StackRef, server = 'server'): Promise<ServerMetadata> {
  const { data } = await rig.heat.call<{ metadata: ServerMetadata }>('GET', `/stacks/${ref.name}/${ref.id}/resources/${server}/metadata`);
  return data.metadata;
}

/** The metadata as the agent gets it: DescribeStackResource on `metadata_url`, SigV4 with the collector's keys. */
export async function describeServerMetadata(cfn: CfnCollector): Promise<ServerMetadata> {
  const http = new HttpClient({
    timeoutMs: 20_000,
    retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
    // Loopback only: never through a proxy from the environment.
    transport: { env: {}, httpProxy: '', httpsProxy: '' },
  });
  try {
    const query = new QueryClient({
      endpoint: resolveEndpoint({ service: 'cloudformation', url: cfn.metadata_url, env: {} }),
      credentials: credentialProvider({ accessKey: cfn.access_key_id, secretKey: cfn.secret_access_key, env: {} }),
      http,
      apiVersion: CFN_API_VERSION,
      signatureVersion: 4,
      method: 'GET',
    });
    const detail = await describeStackResource(query, cfn.stack_name, resourceOfPath(cfn));
    return detail.metadata as ServerMetadata;
  } finally {
    http.close();
  }
}

/**
 * The server's credentials (admin view, once the server resource has
 * written them), then DescribeStackResource until `deployments` has at
 * least `count` items and `until` (if given) accepts the metadata. A
 * deployment resource is CREATE_IN_PROGRESS slightly before its item is in
 * the metadata, so an agent-side test must wait on the metadata itself.
 */
export async function waitForDeployments(
  rig: RealHeat,
  ref: StackRef,
  opts: { count?: number; until?: (m: ServerMetadata) => boolean; server?: string; timeoutMs?: number } = {},
): Promise<{ metadata: ServerMetadata; cfn: CfnCollector }> {
  const count = opts.count ?? 1;
  let cfn: CfnCollector | undefined;
  return pollUntil(`${count} deployment(s) in the metadata of ${ref.name}/${opts.server ?? 'server'}`, opts.timeoutMs ?? 2 * MINUTE, async () => {
    if (!cfn) {
      const stack = await rig.heat.stack(ref);
      if (stack.stack_status.endsWith('_FAILED')) throw new FatalPollError(`stack ${ref.name} is ${stack.stack_status}: ${stack.stack_status_reason ?? ''}`);
      const adminView = await serverMetadataViaHeatApi(rig, ref, opts.server).catch(() => undefined);
      if (!adminView?.['os-collect-config']?.cfn) return undefined;
      cfn = cfnCredentials(adminView);
    }
    const metadata = await describeServerMetadata(cfn);
    if (!Array.isArray(metadata?.deployments) || metadata.deployments.length < count) return undefined;
    if (opts.until && !opts.until(metadata)) return undefined;
    return { metadata, cfn };
  }, 300);
}

/** The item of a deployment resource (`deploy_resource_name`), or undefined. */
export function itemOf(metadata: ServerMetadata, deploymentResource: string): DeploymentItem | undefined {
  return metadata.deployments.find((d) => inputValues(d).deploy_resource_name === deploymentResource);
}

// ---------------------------------------------------------------- the deployment itself (heat-api)

export interface SoftwareDeploymentInfo {
  id: string;
  server_id: string;
  config_id: string;
  action: string;
  /** IN_PROGRESS, COMPLETE, FAILED. */
  status: string;
  status_reason: string;
  input_values: Record<string, unknown> | null;
  output_values: Record<string, unknown> | null;
  creation_time: string;
  updated_time?: string;
}

/** `GET /software_deployments/{id}` (the deployment resource's physical id) as the admin user. */
export async function softwareDeployment(rig: RealHeat, deploymentId: string): Promise<SoftwareDeploymentInfo> {
  return (await rig.heat.call<{ software_deployment: SoftwareDeploymentInfo }>('GET', `/software_deployments/${deploymentId}`)).data.software_deployment;
}

/** Poll the deployment until its status is no longer IN_PROGRESS. */
export async function waitForDeploymentStatus(rig: RealHeat, deploymentId: string, timeoutMs = MINUTE): Promise<SoftwareDeploymentInfo> {
  return pollUntil(`software deployment ${deploymentId} to leave IN_PROGRESS`, timeoutMs, async () => {
    const sd = await softwareDeployment(rig, deploymentId);
    return sd.status === 'IN_PROGRESS' ? undefined : sd;
  }, 250);
}

// ---------------------------------------------------------------- signals

/**
 * CFN_SIGNAL: the body (JSON text, sent as given when a string) to the
 * pre-signed `deploy_signal_id` with `deploy_signal_verb` (POST; the URL is
 * signed SigV2 for that verb, another verb is a 403). Content-Type
 * application/json unless `contentType` says otherwise (null: no header;
 * heat takes none and text/plain as JSON too; a form type makes heat's
 * ec2token read the body as parameters: 403). heat-api-cfn answers 200 with
 * an empty text/html body. The body must start with `{`: anything else is
 * taken as no body at all, which completes the deployment with no outputs.
 */
export async function signalCfn(item: DeploymentItem, body: DeploymentSignal | string, opts: { contentType?: string | null; verb?: string } = {}): Promise<RawResponse> {
  const url = inputString(item, 'deploy_signal_id');
  const verb = opts.verb ?? (inputValues(item).deploy_signal_verb as string | undefined) ?? 'POST';
  const contentType = opts.contentType === undefined ? 'application/json' : opts.contentType;
  return rawRequest(verb, url, {
    headers: contentType === null ? {} : { 'Content-Type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface HeatSignalAuth {
  token: string;
  /** The catalog's public orchestration URL, `http://127.0.0.1:PORT/v1/<stack user project id>`. */
  orchestrationUrl: string;
  /** `<orchestrationUrl>/stacks/<deploy_stack_id>/resources/<deploy_resource_name>/signal`. */
  signalUrl: string;
  /** The token's body (user, project, roles: heat_stack_user; catalog). */
  tokenBody: Record<string, unknown>;
}

/**
 * HEAT_SIGNAL, step 1: keystone v3 password auth as the deployment's stack
 * user (`deploy_user_id` + `deploy_password`, scoped to `deploy_project_id`,
 * at `deploy_auth_url`, which ends in `/v3/`), the orchestration endpoint
 * from the token's catalog (region `deploy_region_name`), and the signal URL.
 */
export async function heatSignalAuth(item: DeploymentItem): Promise<HeatSignalAuth> {
  const iv = inputValues(item);
  const authUrl = inputString(item, 'deploy_auth_url');
  const res = await rawRequest('POST', `${authUrl.replace(/\/+$/, '')}/auth/tokens`, {
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { id: inputString(item, 'deploy_user_id'), password: inputString(item, 'deploy_password') } } },
        scope: { project: { id: inputString(item, 'deploy_project_id') } },
      },
    }),
  });
  const token = res.headers['x-subject-token'];
  if (res.status !== 201 || typeof token !== 'string') throw new Error(`keystone (deployment's stack user): HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  const tokenBody = (JSON.parse(res.body) as { token: Record<string, unknown> }).token;
  const catalog = (tokenBody.catalog ?? []) as Array<{ type: string; endpoints: Array<{ interface: string; url: string; region?: string; region_id?: string }> }>;
  const region = iv.deploy_region_name as string | undefined;
  const endpoint = catalog
    .find((s) => s.type === 'orchestration')
    ?.endpoints.find((e) => e.interface === 'public' && (!region || e.region === region || e.region_id === region));
  if (!endpoint) throw new Error(`keystone catalog of the deployment's stack user has no public orchestration endpoint${region ? ` in ${region}` : ''}`);
  const orchestrationUrl = assertLoopback(endpoint.url).href.replace(/\/+$/, '');
  const signalUrl = `${orchestrationUrl}/stacks/${inputString(item, 'deploy_stack_id')}/resources/${encodeURIComponent(inputString(item, 'deploy_resource_name'))}/signal`;
  return { token, orchestrationUrl, signalUrl, tokenBody };
}

/**
 * HEAT_SIGNAL, step 2: POST the JSON body with X-Auth-Token to the resource
 * signal URL. heat-api answers 200 `null` (application/json).
 */
export async function signalHeat(item: DeploymentItem, body: DeploymentSignal, auth?: HeatSignalAuth): Promise<RawResponse> {
  const a = auth ?? (await heatSignalAuth(item));
  return rawRequest('POST', a.signalUrl, {
    headers: { 'X-Auth-Token': a.token, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Signal the way the item's `deploy_signal_transport` requires; a NO_SIGNAL item is an error. */
export async function signalDeployment(item: DeploymentItem, body: DeploymentSignal): Promise<RawResponse> {
  const transport = inputValues(item).deploy_signal_transport;
  switch (transport) {
    case 'CFN_SIGNAL':
      return signalCfn(item, body);
    case 'HEAT_SIGNAL':
      return signalHeat(item, body);
    default:
      throw new Error(`deployment ${item.name}: cannot signal transport ${JSON.stringify(transport)}`);
  }
}

// ---------------------------------------------------------------- fixtures

/** setup.sh's default ports: fixtures show these whatever ports the recording rig had. */
export const FIXTURE_PORTS = { KS: 25000, HEAT: 28004, CFN: 28000 } as const;

/** The metadata with the rig's ports replaced by the default ones (hosts are 127.0.0.1 anyway). */
export function normaliseFixture<T>(value: T, rig: RealHeat): T {
  const map: Array<[string | undefined, number]> = [
    [rig.env.REAL_HEAT_KS_PORT, FIXTURE_PORTS.KS],
    [rig.env.REAL_HEAT_HEAT_PORT, FIXTURE_PORTS.HEAT],
    [rig.env.REAL_HEAT_CFN_PORT, FIXTURE_PORTS.CFN],
  ];
  let text = JSON.stringify(value);
  for (const [port, to] of map) {
    if (port && port !== String(to)) text = text.split(`127.0.0.1:${port}`).join(`127.0.0.1:${to}`);
  }
  return JSON.parse(text) as T;
}

export function fixtureDir(): string {
  return path.join(repoRoot(), 'test', 'fixtures', 'heat-deployments');
}

export function readFixture<T = ServerMetadata>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir(), name), 'utf8')) as T;
}
