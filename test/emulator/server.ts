/**
 * The endpoint emulator: one loopback HTTP server that plays heat-api-cfn
 * (and the old heat-api-cloudwatch) for the tools, plus what software
 * deployments signal through (keystone, heat-api's resource signal, Swift
 * temp URLs), with fault injection, a request log, an admin API under
 * /_emulator/ and a status page at `/`. In EC2 mode a second one plays the
 * instance metadata service, and the first answers the CloudFormation
 * actions the tools call as AWS does, instance identities included.
 * `startEmulator` is the programmatic entry point for tests and the demo.
 */
import * as http from 'node:http';
import { handleApi } from './api';
import { AWS_ACTIONS, handleAwsApi } from './aws-api';
import { AwsError } from './aws-format';
import { isCfnV1, verifyCfnV1 } from './cfn-v1';
import { deploymentView } from './deployment-view';
import { DeploymentError } from './deployments';
import { type Ec2Change, Ec2Mode, Ec2ModeError, type Ec2View } from './ec2-mode';
import { awsFaultReply, Faults, faultReply, type FaultAction, type FaultConfig, FaultConfigError, validateFaults } from './faults';
import { serveFile } from './files';
import { type HeatApiError, HeatErrors, type Reply, webobPlain, XmlIncompatibleError } from './heat-format';
import { renderStatusPage } from './html';
import { type Imds, type ImdsLogEntry, startImds } from './imds';
import { Keystone } from './keystone';
import { MetadataPush } from './metadata-push';
import { MetricGate, type MetricPolicy, MetricPolicyError, type MetricRate, type MetricValidation, validateMetricPolicy } from './metric-policy';
import { signalEndpoint } from './signal-endpoints';
import type { DeploymentView, EmulatorState, HandleUrls, RequestLogEntry, ResourceView } from './state-view';
import { type Credential, type CredentialScope, Model } from './model';
import { heatSignedUrl, sigV4PresignedUrl } from './presign';
import { isoSeconds } from './signing';
import { type SignedRequest, verifySignature } from './sigverify';
import { type CredentialSpec, type FilesSpec, loadStackFile, type StackFile, type StackSpec, validateStackFile } from './stackfile';
import { type Ec2Settings, type Ec2Source, type Ec2Spec, resolveEc2 } from './stackfile-ec2';
import { newTempUrlKey } from './swift-tempurl';
import { listenLocal } from './listen';
import { ZaqarQueues } from './zaqar';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. The emulator only ever listens on 127.0.0.1. */
  port?: number;
  /** Stack specs, or paths of stack files (each may hold several stacks, keys and files). */
  stacks?: Array<StackSpec | string>;
  /** Project-wide keys for the `stacks` specs given inline. */
  credentials?: CredentialSpec[];
  /** Files for the `stacks` specs given inline. */
  files?: FilesSpec;
  /** More directories served under /files/. */
  fileDirs?: string[];
  faults?: FaultConfig;
  /** The emulator's base clock in ms (fault skew is added on top); default Date.now. */
  now?: () => number;
  /** `heat_waitcondition_server_url`: base of the handle URLs; default `<url>/v1/waitcondition`. */
  signalBaseUrl?: string;
  /** Called after each logged request (the CLI prints a line). */
  onRequest?: (entry: RequestLogEntry) => void;
  /** PutMetricData requests per access key; default null, unlimited. */
  metricRate?: MetricRate | null;
  /** How strictly PutMetricData is checked: 'heat' (default, as Heat took it) or 'aws' (CloudWatch's limits). */
  metricValidation?: MetricValidation;
  /** The Swift account's Temp-URL-Key that TEMP_URL_SIGNAL URLs are signed with; default generated. */
  tempUrlKey?: string;
  /** EC2 mode (stackfile-ec2.ts); its keys win over a stack file's `ec2:` section, `{}` turns the mode on. */
  ec2?: Ec2Spec;
  /** EC2 mode: the metadata service's port on 127.0.0.1; 0 (default) picks a free one. */
  imdsPort?: number;
  /**
   * The URL clients reach it at when something stands in front of it (a
   * test's proxy on another loopback port): the base of every URL it hands
   * out (catalogs, signal URLs, temp URLs) and the host signatures are
   * checked against when a request has none. Default: its own.
   */
  publicUrl?: string;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`, or the `publicUrl` given */
  readonly url: string;
  /** The port it listens on itself (behind a `publicUrl`, the one to forward to). */
  readonly port: number;
  /** `http://127.0.0.1:PORT/v1/`, the heat-api-cfn URL (cfn-metadata-server). */
  readonly apiUrl: string;
  readonly model: Model;
  /** Live, oldest first; bounded to the last 5000 requests. */
  readonly requestLog: RequestLogEntry[];
  /** The emulator clock (base clock + skew), ms. */
  now(): number;
  state(): EmulatorState;
  setMetadata(stack: string, resource: string, metadata: unknown): void;
  setResourceStatus(stack: string, resource: string, change: { status: string; physicalId?: string }): void;
  setFaults(faults: FaultConfig): void;
  faults(): FaultConfig;
  /** Replaces the whole policy (a key left out takes its default) and refills every key's bucket. */
  setMetricPolicy(policy: Partial<MetricPolicy>): void;
  metricPolicy(): MetricPolicy;
  clearRequestLog(): void;
  /** Fresh pre-signed URLs of a wait-condition handle, signed at the emulator clock. */
  signalUrls(stack: string, handle: string): HandleUrls;
  /** A resource as the state shows it (wait-condition status, signals, Data). */
  resource(stack: string, name: string): ResourceView;
  /** An OS::Heat::SoftwareDeployment as the state shows it (deleted ones too). */
  deployment(stack: string, name: string): DeploymentView;
  /**
   * A stack update giving the deployment new `input_values`: its UPDATE action
   * runs (a new config in the server's metadata, deploy_action UPDATE, the
   * resource UPDATE_IN_PROGRESS until signalled) if listed in its actions. A
   * failed deployment is replaced instead, as Heat replaces it; while an
   * action waits for its signal the update is queued until it is over.
   */
  updateDeployment(stack: string, name: string, inputValues: Record<string, unknown>): DeploymentView;
  /**
   * A stack update without the deployment: with DELETE in its actions its
   * metadata item becomes a DELETE config until signalled, else it goes at once.
   */
  deleteDeployment(stack: string, name: string): DeploymentView;
  /**
   * Back to the stack files: signals, deployment changes, tokens, metrics,
   * metadata changes, throttle counts and the log dropped, and in EC2 mode
   * the instance played, the token mode and the IMDSv2 tokens; faults and
   * the metric policy stay.
   */
  reset(): void;
  /** EC2 mode: the metadata service, `http://127.0.0.1:PORT` (AWS_EC2_METADATA_SERVICE_ENDPOINT); undefined otherwise. */
  readonly imdsUrl?: string;
  /** EC2 mode: the public key (SPKI PEM) the identity documents' `/signature` verifies with; undefined otherwise. */
  readonly identityPublicKeyPem?: string;
  /** EC2 mode: its settings and state (GET /_emulator/ec2); throws when the mode is off. */
  ec2(): Ec2View;
  /** EC2 mode: play another instance, require or stop requiring IMDSv2 tokens (PUT /_emulator/ec2). */
  setEc2(change: Ec2Change): Ec2View;
  stop(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;
const MAX_LOG = 5000;
const RECENT = 200;
/** Of a PutMetricData body the log keeps this much... */
const MAX_LOGGED_BODY = 2 * 1024 * 1024;
/** ...and of all bodies together this much (in characters); the oldest give theirs up first. */
const MAX_LOGGED_BODIES = 64 * 1024 * 1024;

const EC2_OFF = "EC2 mode is off (a stack file's ec2: section or the emulator's --ec2 turns it on)";

const SECRET_PARAMS = 'Signature|X-Amz-Signature|X-Amz-Security-Token|SecurityToken';

/** Signature and token values never reach the log or the page. */
export function redactTarget(target: string): string {
  return target.replace(new RegExp(`([?&;])(${SECRET_PARAMS})=[^&]*`, 'gi'), '$1$2=<redacted>');
}

/** The same for a form body (a SigV2 POST carries its signature there). */
function redactForm(body: string): string {
  return body.replace(new RegExp(`(^|&)(${SECRET_PARAMS})=[^&]*`, 'gi'), '$1$2=<redacted>');
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerMap(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * webob's `req.params` as Heat's ec2token copies it: the query, plus the
 * form body of a POST (no or form Content-Type) or of a PUT/PATCH with a form
 * Content-Type. The query wins on a name in both; the last duplicate wins.
 */
export function requestParams(method: string, rawQuery: string, contentType: string | undefined, body: Buffer): Record<string, string> {
  const params: Record<string, string> = Object.fromEntries(new URLSearchParams(rawQuery));
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const m = method.toUpperCase();
  const form = (m === 'POST' && (type === '' || type === 'application/x-www-form-urlencoded')) || ((m === 'PUT' || m === 'PATCH') && type === 'application/x-www-form-urlencoded');
  if (form && body.length) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) if (!Object.hasOwn(params, k)) params[k] = v;
  }
  return params;
}

function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: { 'Content-Type': 'application/json' }, body: `${JSON.stringify(value, null, 2)}\n` };
}

function scopeText(scope: CredentialScope): string {
  switch (scope.kind) {
    case 'project':
      return 'project';
    case 'stack':
      return `stack ${scope.stack}${scope.resources ? ` (${[...scope.resources].join(', ')})` : ''}`;
    case 'handle':
      return `handle ${scope.stack}/${scope.resource}`;
    case 'none':
      return `role ${scope.role}, no permissions`;
  }
}

function describeFault(f: FaultAction): string {
  return f.kind === 'error' || f.kind === 'throttle' ? `${f.kind} ${f.status}` : f.kind;
}

/**
 * Everything from option specs and files, checked together so that
 * duplicates across them are found; the EC2 settings from the files'
 * sections and the options.
 */
function loadAll(opts: EmulatorOptions): { files: StackFile[]; ec2?: Ec2Settings } {
  const files: StackFile[] = [];
  const sources = new Map<StackFile, string>();
  const specs: StackSpec[] = [];
  for (const s of opts.stacks ?? []) {
    if (typeof s === 'string') {
      files.push(loadStackFile(s, files));
      sources.set(files.at(-1)!, s);
    } else specs.push(s);
  }
  if (specs.length || opts.credentials || opts.files) {
    const doc: Record<string, unknown> = { stacks: specs };
    if (opts.credentials) doc.credentials = opts.credentials;
    if (opts.files) doc.files = opts.files;
    files.push(validateStackFile(JSON.parse(JSON.stringify(doc)), '<startEmulator options>', process.cwd(), files));
  }
  for (const dir of opts.fileDirs ?? []) files.push(validateStackFile({ stacks: [], files: { dir } }, `<file dir ${dir}>`, process.cwd(), files));
  const fromFiles: Ec2Source[] = files.flatMap((f) => (f.ec2 ? [{ spec: f.ec2, source: sources.get(f) ?? '<startEmulator options>' }] : []));
  let fromOptions: Ec2Source | undefined;
  if (opts.ec2) {
    const source = '<startEmulator options: ec2>';
    fromOptions = { spec: validateStackFile(JSON.parse(JSON.stringify({ stacks: [], ec2: opts.ec2 })), source, process.cwd(), files).ec2!, source };
  }
  const stackNames = new Set(files.flatMap((f) => f.stacks.map((s) => s.name)));
  return { files, ec2: resolveEc2(fromFiles, fromOptions, stackNames) };
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const baseClock = opts.now ?? Date.now;
  const faults = new Faults(opts.faults ?? {});
  const now = () => baseClock() + faults.skewMs;
  const { files, ec2: ec2Settings } = loadAll(opts);
  let url = '';
  const signalBase = () => opts.signalBaseUrl ?? `${url}/v1/waitcondition`;
  const tempUrlKey = opts.tempUrlKey ?? newTempUrlKey();
  const model = new Model(files, now, { endpoints: () => ({ url, signalBase: signalBase() }), tempUrlKey }, ec2Settings);
  const launchedAt = now();
  const ec2 = ec2Settings ? new Ec2Mode(ec2Settings, model, launchedAt) : undefined;
  let imds: Imds | undefined;
  const keystone = new Keystone((id) => model.keystoneUser(id), now);
  const queues = new ZaqarQueues(now);
  const push = new MetadataPush(model, queues, now, () => model.metadataEnv());
  const metricGate = new MetricGate(validateMetricPolicy({ rate: opts.metricRate ?? null, validation: opts.metricValidation }, 'startEmulator options'));
  const fileSpecs = files.flatMap((f) => (f.files ? [f.files] : []));
  const requestLog: RequestLogEntry[] = [];
  let loggedBodyChars = 0;
  let nextId = 1;

  function appendLog(entry: RequestLogEntry): void {
    requestLog.push(entry);
    loggedBodyChars += entry.body?.length ?? 0;
    if (requestLog.length > MAX_LOG) {
      for (const old of requestLog.splice(0, requestLog.length - MAX_LOG)) loggedBodyChars -= old.body?.length ?? 0;
    }
    for (let i = 0; loggedBodyChars > MAX_LOGGED_BODIES && i < requestLog.length; i++) {
      const old = requestLog[i];
      if (old.body === undefined) continue;
      loggedBodyChars -= old.body.length;
      delete old.body;
    }
  }

  function clearLog(): void {
    requestLog.length = 0;
    loggedBodyChars = 0;
  }

  /**
   * A ZAQAR_SIGNAL deployment's queue (its physical name, in its user's
   * project): heat-engine pops it while the deployment waits, and each body
   * is a signal; here it is taken as it is posted.
   */
  function zaqarSignal(project: string, queue: string, bodies: unknown[]): boolean {
    const d = model.software.all().find((x) => !x.deleted && x.transport === 'ZAQAR_SIGNAL' && x.incarnation.physicalName === queue && x.incarnation.user?.projectId === project);
    if (!d) return false;
    for (const body of bodies) model.software.signal(d, body, 'ZAQAR_SIGNAL');
    return true;
  }

  /** Signals, deployment changes, tokens, queues, metrics, metadata changes, throttle counts and the log dropped; faults and the metric policy stay. */
  function reset(): void {
    model.reset();
    keystone.clear();
    queues.clear();
    push.clear();
    metricGate.clear();
    clearLog();
    ec2?.reset();
    imds?.clearTokens();
    push.publish();
  }

  function ec2View(): Ec2View {
    if (!ec2 || !imds) throw new Ec2ModeError(EC2_OFF);
    return ec2.view(imds.url);
  }

  function setEc2(change: Ec2Change): Ec2View {
    ec2View();
    ec2!.change(change);
    return ec2View();
  }

  function signalUrls(stackName: string, handle: string): HandleUrls {
    const stack = model.stacks.get(stackName);
    const res = stack?.resources.get(handle);
    if (!stack || !res?.handleKeys) throw new Error(`no wait-condition handle ${stackName}/${handle}`);
    const t = now();
    const input = { signalBaseUrl: signalBase(), ref: stack, resource: handle, time: t, ...res.handleKeys };
    return { accessKey: res.handleKeys.accessKey, sigv2: heatSignedUrl(input), sigv4: sigV4PresignedUrl(input), generatedAt: isoSeconds(t) };
  }

  function resourceView(stackName: string, name: string): ResourceView {
    const stack = model.stacks.get(stackName);
    const r = stack?.resources.get(name);
    if (!stack || !r) throw new Error(`no resource ${stackName}/${name}`);
    const { status, reason } = model.completionOf(stack, r);
    const view: ResourceView = {
      name: r.name,
      type: r.type,
      status,
      statusReason: reason,
      physicalId: r.physicalId,
      description: r.description,
      lastUpdated: r.lastUpdated,
      metadata: model.metadataOf(stack, r),
      signals: model.signalsFor(stack, r),
    };
    if (r.completion) {
      const { data, text } = model.waitConditionData(stack, r);
      view.waitCondition = { count: r.completion.count, received: view.signals.length, data, dataAttribute: text };
      if (r.completion.handle) view.waitCondition.handle = r.completion.handle;
      if (r.completion.timeoutSeconds !== undefined) view.waitCondition.timeoutSeconds = r.completion.timeoutSeconds;
    }
    if (r.handleKeys) view.handle = signalUrls(stackName, name);
    return view;
  }

  function deployment(stackName: string, name: string): DeploymentView {
    return deploymentView(model.software.find(stackName, name), model.metadataEnv());
  }

  /** A copy of the input values, which must be a mapping. */
  function inputValuesOf(v: unknown, what: string): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SyntaxError(`${what}: expected a mapping of input values`);
    return JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
  }

  function setMetadata(stack: string, resource: string, metadata: unknown): void {
    model.setMetadata(stack, resource, metadata);
    push.publish();
  }

  function updateDeployment(stackName: string, name: string, inputValues: Record<string, unknown>): DeploymentView {
    model.software.update(model.software.find(stackName, name), inputValuesOf(inputValues, 'input_values'));
    push.publish();
    return deployment(stackName, name);
  }

  function deleteDeployment(stackName: string, name: string): DeploymentView {
    model.software.delete(model.software.find(stackName, name));
    push.publish();
    return deployment(stackName, name);
  }

  function state(): EmulatorState {
    return {
      url,
      now: new Date(now()).toISOString(),
      clockSkewSeconds: faults.skewMs / 1000,
      faults: faults.get(),
      stacks: [...model.stacks.values()].map((s) => ({
        name: s.stackName,
        id: s.stackId,
        tenant: s.tenant,
        arn: s.arn,
        resources: [...s.resources.keys()].map((r) => resourceView(s.stackName, r)),
        deployments: model.software
          .all()
          .filter((d) => d.stack === s)
          .map((d) => deploymentView(d, model.metadataEnv())),
      })),
      credentials: [...model.credentials.values()].map((c) => ({
        accessKey: c.accessKey,
        scope: scopeText(c.scope),
        sessionToken: c.sessionToken !== undefined,
      })),
      metrics: model.metrics.slice(-RECENT),
      metricPolicy: metricGate.get(),
      metricThrottled: metricGate.throttledCounts(),
      requests: requestLog.slice(-RECENT),
      ...(ec2 && imds ? { ec2: ec2.view(imds.url) } : {}),
    };
  }

  function admin(method: string, route: string, body: Buffer): Reply {
    const parts = route.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    const parseBody = (): unknown => JSON.parse(body.toString('utf8') || 'null');
    const key = `${method} ${parts[0] ?? ''}`;
    try {
      switch (key) {
        case 'GET state':
          return jsonReply(200, state());
        case 'GET requests':
          return jsonReply(200, requestLog);
        case 'DELETE requests':
          clearLog();
          return jsonReply(200, { cleared: true });
        case 'GET faults':
          return jsonReply(200, faults.get());
        case 'PUT faults':
          faults.set(validateFaults(parseBody(), 'PUT /_emulator/faults'));
          return jsonReply(200, faults.get());
        case 'DELETE faults':
          faults.set({});
          return jsonReply(200, faults.get());
        case 'GET metrics':
          return jsonReply(200, model.metrics);
        case 'DELETE metrics':
          model.metrics.length = 0;
          metricGate.clear();
          return jsonReply(200, { cleared: true });
        case 'GET metric-policy':
          return jsonReply(200, metricGate.get());
        case 'PUT metric-policy':
          metricGate.set(validateMetricPolicy(parseBody(), 'PUT /_emulator/metric-policy'));
          return jsonReply(200, metricGate.get());
        case 'PUT metadata':
          if (parts.length !== 3) return jsonReply(404, { error: 'use PUT /_emulator/metadata/<stack>/<resource>' });
          setMetadata(parts[1], parts[2], parseBody());
          return jsonReply(200, resourceView(parts[1], parts[2]));
        case 'PUT status':
          if (parts.length !== 3) return jsonReply(404, { error: 'use PUT /_emulator/status/<stack>/<resource>' });
          model.setResourceStatus(parts[1], parts[2], parseBody() as { status: string; physicalId?: string });
          return jsonReply(200, resourceView(parts[1], parts[2]));
        case 'GET resources':
          if (parts.length !== 3) return jsonReply(404, { error: 'use GET /_emulator/resources/<stack>/<resource>' });
          return jsonReply(200, resourceView(parts[1], parts[2]));
        case 'GET deployments':
        case 'PUT deployments':
        case 'DELETE deployments': {
          if (parts.length !== 3) return jsonReply(404, { error: `use ${method} /_emulator/deployments/<stack>/<deployment>` });
          if (method === 'GET') return jsonReply(200, deployment(parts[1], parts[2]));
          if (method === 'DELETE') return jsonReply(200, deleteDeployment(parts[1], parts[2]));
          const change = parseBody();
          if (change === null || typeof change !== 'object' || Array.isArray(change) || Object.keys(change).some((k) => k !== 'input_values')) {
            throw new SyntaxError('expected {"input_values": {...}}');
          }
          // updateDeployment checks the values: a mapping, or a 400.
          return jsonReply(200, updateDeployment(parts[1], parts[2], (change as { input_values: Record<string, unknown> }).input_values));
        }
        case 'GET signal-urls':
          if (parts.length !== 3) return jsonReply(404, { error: 'use GET /_emulator/signal-urls/<stack>/<handle>' });
          return jsonReply(200, signalUrls(parts[1], parts[2]));
        case 'POST reset':
          reset();
          return jsonReply(200, { reset: true });
        case 'GET ec2':
        case 'PUT ec2':
          if (parts.length !== 1) return jsonReply(404, { error: `use ${method} /_emulator/ec2` });
          if (!ec2) return jsonReply(404, { error: EC2_OFF });
          return jsonReply(200, method === 'GET' ? ec2View() : setEc2(parseBody() as Ec2Change));
        default:
          return jsonReply(404, { error: `no admin route ${method} /_emulator/${parts.join('/')}` });
      }
    } catch (err) {
      if (err instanceof SyntaxError || err instanceof URIError || err instanceof FaultConfigError || err instanceof MetricPolicyError || err instanceof Ec2ModeError) {
        return jsonReply(400, { error: err.message });
      }
      if (err instanceof DeploymentError) return jsonReply(err.status, { error: err.message });
      if (err instanceof Error && /^no (resource|wait-condition handle) /.test(err.message)) return jsonReply(404, { error: err.message });
      throw err;
    }
  }

  function send(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply, truncate: boolean): void {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    const headers: Record<string, string> = {
      // From the emulator clock, so that injected skew reaches clients that correct from Date.
      Date: new Date(now()).toUTCString(),
      Server: 'cfntools-emulator',
      ...reply.headers,
      'Content-Length': String(truncate ? Math.max(body.length, 1) : body.length),
    };
    res.writeHead(reply.status, reply.reason, headers);
    if (req.method === 'HEAD') res.end();
    else if (truncate) res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
    else res.end(body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q >= 0 ? target.slice(0, q) : target;
    const rawQuery = q >= 0 ? target.slice(q + 1) : '';
    const body = await readBody(req);
    if (rawPath === '/_emulator' || rawPath.startsWith('/_emulator/')) {
      send(req, res, body ? admin(method, rawPath.slice('/_emulator'.length), body) : webobPlain(413), false);
      return;
    }
    const headers = headerMap(req);
    const params = body ? requestParams(method, rawQuery, headers['content-type'], body) : {};
    const isApiPath = rawPath === '/v1' || rawPath.startsWith('/v1/');
    const isRootApi =
      rawPath === '/' && ((method !== 'GET' && method !== 'HEAD') || params.Action !== undefined || headers.authorization !== undefined || !!params.Signature || !!params['X-Amz-Signature']);
    const entry: RequestLogEntry = { id: nextId++, time: isoSeconds(now()), method, path: redactTarget(target), signature: 'none', status: 0, ms: 0 };
    if (isApiPath || isRootApi) entry.action = params.Action;
    // Kept whatever the answer: a test can re-decode what a client sent, refused or not.
    if (entry.action === 'PutMetricData' && body?.length) {
      entry.body = redactForm(body.subarray(0, MAX_LOGGED_BODY).toString('utf8'));
      entry.bodyBytes = body.length;
    }
    const log = (status: number | 'reset') => {
      entry.status = status;
      entry.ms = Date.now() - started;
      appendLog(entry);
      opts.onRequest?.(entry);
    };

    // EC2 mode's CloudFormation requests are answered in AWS's form, faults included.
    const aws = (isApiPath || isRootApi) && playsAws(rawPath, params, headers);
    const fault = faults.pick({ method, path: rawPath, action: entry.action });
    if (fault) entry.fault = describeFault(fault);
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (fault?.kind === 'reset') {
      log('reset');
      req.socket.resetAndDestroy();
      return;
    }

    let reply: Reply;
    if (!body) reply = webobPlain(413);
    else if (fault?.kind === 'error' || fault?.kind === 'throttle') reply = aws ? awsFaultReply(fault, params.ContentType === 'JSON') : faultReply(fault);
    else if (rawPath.startsWith('/files/')) reply = serveFile(fileSpecs, rawPath, headers.authorization);
    else if (rawPath === '/' && !isRootApi) reply = { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: renderStatusPage(state()) };
    else {
      const signalled = signalEndpoint({ method, rawPath, rawQuery, headers, body }, { model, keystone, url, tempUrlKey, now, push, queues, zaqarSignal }, entry);
      if (signalled) reply = signalled;
      else if (isApiPath || isRootApi) reply = aws ? awsApi(method, rawPath, params, headers, body, entry) : api(method, rawPath, params, headers, body, entry);
      else reply = webobPlain(404);
    }
    // What the request changed (a signal, a deletion) reaches the servers' objects and queues before the next one.
    push.publish();
    send(req, res, reply, fault?.kind === 'truncate');
    log(reply.status);
  }

  /** The Query API's route below `/v1` (or at `/`). */
  function apiRoute(rawPath: string): string {
    return rawPath === '/' ? '/' : rawPath.slice('/v1'.length) || '/';
  }

  /** EC2 mode and a request of CloudFormation's: one of the actions it answers, or any with an instance identity. */
  function playsAws(rawPath: string, params: Record<string, string>, headers: Record<string, string>): boolean {
    return ec2 !== undefined && apiRoute(rawPath) === '/' && (AWS_ACTIONS.has(params.Action ?? '') || isCfnV1(headers.authorization));
  }

  /** EC2 mode's CloudFormation: an instance identity, or a key checked as in Heat mode; AWS's answers and refusals. */
  function awsApi(method: string, rawPath: string, params: Record<string, string>, headers: Record<string, string>, body: Buffer, entry: RequestLogEntry): Reply {
    const json = params.ContentType === 'JSON';
    const ctx = { model, ec2: ec2! };
    if (isCfnV1(headers.authorization)) {
      entry.signature = 'cfn-v1';
      const verdict = verifyCfnV1(headers.authorization!, ec2!.signer, ec2!.settings);
      if (!verdict.ok) {
        entry.verified = `${verdict.error.code}: ${verdict.reason}`;
        return verdict.error.toReply(json);
      }
      entry.verified = 'ok';
      entry.instanceId = verdict.identity.instanceId;
      return handleAwsApi(params, { kind: 'instance', instanceId: verdict.identity.instanceId }, ctx);
    }
    const checked = checkKey({ method, rawPath, params, headers, body, host: headers.host ?? url.replace(/^http:\/\//, '') }, entry);
    if ('refused' in checked) return AwsError.fromHeat(checked.refused).toReply(json);
    return handleAwsApi(params, { kind: 'key', cred: checked.cred }, ctx);
  }

  /** A key's signature checked as keystone checks it, the outcome written into the log entry. */
  function checkKey(signed: SignedRequest, entry: RequestLogEntry): { cred: Credential } | { refused: HeatApiError } {
    const verdict = verifySignature(signed, (ak) => model.key(ak), now());
    if (verdict.kind) entry.signature = verdict.kind;
    if (verdict.accessKey) entry.accessKey = verdict.accessKey;
    if (!verdict.ok) {
      entry.verified = `${verdict.error.code}: ${verdict.reason}`;
      return { refused: verdict.error };
    }
    entry.verified = 'ok';
    return { cred: model.key(verdict.accessKey)! };
  }

  function api(method: string, rawPath: string, params: Record<string, string>, headers: Record<string, string>, body: Buffer, entry: RequestLogEntry): Reply {
    const signed: SignedRequest = { method, rawPath, params, headers, body, host: headers.host ?? url.replace(/^http:\/\//, '') };
    const checked = checkKey(signed, entry);
    if ('refused' in checked) return checked.refused.toXmlReply();
    const { cred } = checked;
    const route = apiRoute(rawPath);
    try {
      return handleApi({ ...signed, route, cred }, { model, now, metricGate });
    } catch (err) {
      // lxml cannot carry control characters; in Heat that ends as a 500.
      if (err instanceof XmlIncompatibleError) return HeatErrors.internalFailure().toXmlReply();
      throw err;
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error(`emulator: ${req.method} ${redactTarget(req.url ?? '')}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) send(req, res, HeatErrors.internalFailure().toXmlReply(), false);
      else res.destroy();
    });
  });
  const port = await listenLocal(server, opts.port);
  url = opts.publicUrl ?? `http://127.0.0.1:${port}`;
  // The stacks' creation, once the URLs the metadata carries are known.
  push.publish();
  if (ec2) {
    try {
      imds = await startImds(
        { tokens: () => ec2.tokens, instance: () => ec2.instance, identity: () => ec2.identity(), role: () => ec2.settings.role, now, launchedAt },
        { port: opts.imdsPort, onRequest: logImds },
      );
    } catch (err) {
      server.close();
      throw err;
    }
  }

  function logImds(e: ImdsLogEntry): void {
    const entry: RequestLogEntry = { id: nextId++, time: isoSeconds(now()), service: 'imds', method: e.method, path: e.path, signature: e.token === 'none' ? 'none' : 'imds-token', status: e.status, ms: e.ms };
    if (e.token === 'invalid') entry.verified = 'unknown or expired token';
    appendLog(entry);
    opts.onRequest?.(entry);
  }

  return {
    url,
    port,
    apiUrl: `${url}/v1/`,
    model,
    requestLog,
    now,
    state,
    setMetadata,
    setResourceStatus: (stack, resource, change) => model.setResourceStatus(stack, resource, change),
    setFaults: (f) => faults.set(f),
    faults: () => faults.get(),
    setMetricPolicy: (p) => metricGate.set(validateMetricPolicy(p, 'setMetricPolicy')),
    metricPolicy: () => metricGate.get(),
    clearRequestLog: clearLog,
    signalUrls,
    resource: resourceView,
    deployment,
    updateDeployment,
    deleteDeployment,
    reset,
    imdsUrl: imds?.url,
    identityPublicKeyPem: ec2?.signer.publicKeyPem,
    ec2: ec2View,
    setEc2,
    stop: async () => {
      await imds?.stop();
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
