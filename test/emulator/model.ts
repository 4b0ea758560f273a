/**
 * The running state behind the API: stacks and resources with their
 * metadata, who may read or signal what, wait-condition signals and the
 * status they imply, software deployments (deployments.ts), and the metrics
 * pushed. Signal validation and the completion rules are Heat's, for its
 * native and its AWS wait conditions.
 */
import { type Endpoints, type MetadataEnv, serverMetadata } from './deployment-metadata';
import { physicalName, Software, stackUserProject } from './deployments';
import { HeatErrors, percentDecode, pyJsonDumps, pyStr } from './heat-format';
import { hexId, openstackPassword } from './heat-ids';
import type { KeystoneUser } from './keystone';
import { stackArn, type StackRef } from './presign';
import type { KeyInfo } from './sigverify';
import { isoSeconds } from './signing';
import { randomKeyPair, stableUuid, type StackFile, type StackSpec, WAIT_CONDITION, WAIT_HANDLE } from './stackfile';
import { type Ec2Settings, stableInstanceId } from './stackfile-ec2';
import { type ConfigTransport, DEPLOYMENT_TYPES, type DeploymentProperties, SERVER_TYPES, type ServerProperties } from './stackfile-software';

export type SignalStatus = 'SUCCESS' | 'FAILURE';

export interface SignalRecord {
  uniqueId: string;
  status: SignalStatus;
  reason: string;
  data: unknown;
  receivedAt: string;
  via: 'waitcondition' | 'SignalResource';
  accessKey?: string;
  /** EC2 mode: the instance that signalled with its instance identity (CFN_V1). */
  instanceId?: string;
  /** What Heat stores in the handle's metadata under the UniqueId: the body without UniqueId, keys in the order sent. */
  entry: Record<string, unknown>;
}

/** Who holds a key decides what it may touch (Heat: project member, stack user, handle user). */
export type CredentialScope =
  | { kind: 'project' }
  | { kind: 'stack'; stack: string; resources?: ReadonlySet<string> }
  | { kind: 'handle'; stack: string; resource: string }
  /** EC2 mode: an instance role without CloudFormation permissions; a valid key that may do nothing. */
  | { kind: 'none'; role: string };

export interface Credential extends KeyInfo {
  accessKey: string;
  scope: CredentialScope;
}

export interface Completion {
  count: number;
  timeoutSeconds?: number;
  /** WaitCondition: the handle whose signals count. */
  handle?: string;
  /** Status frozen once reached (complete, timed out), like Heat's resource state. */
  final?: { status: string; reason: string };
  /** A FAILURE arrived: failed for good. */
  failed?: boolean;
}

export interface ResourceState {
  name: string;
  type: string;
  metadata: unknown;
  status: string;
  statusReason: string;
  physicalId: string;
  description: string;
  lastUpdated: string;
  /** Signals received by this resource, keyed by UniqueId; a repeated id overwrites in place. */
  signals: Map<string, SignalRecord>;
  completion?: Completion;
  /** Wait-condition handles: the key pair their URLs are signed with. */
  handleKeys?: { accessKey: string; secretKey: string };
  /**
   * Servers with a key pair: it reads only this resource (Heat's server
   * stack user). `composed` when deployments target the server: its
   * Metadata is then composed with theirs (deployment-metadata.ts).
   */
  server?: ServerState;
}

/** What Heat makes for a server's agent to read its metadata by, per `software_config_transport`. */
export interface ServerState {
  keys: { accessKey: string; secretKey: string };
  composed: boolean;
  transport: ConfigTransport;
  /** `<stack>-<server>-<short id>`: POLL_TEMP_URL's container, ZAQAR_MESSAGE's queue, the user's name. */
  physicalName: string;
  /** POLL_SERVER_HEAT, ZAQAR_MESSAGE: the server's own stack-domain user. */
  user?: KeystoneUser;
  /** POLL_TEMP_URL: the object (a uuid4) Heat PUTs the metadata to. */
  objectName?: string;
  /** When Heat made its credentials (a temp URL's expiry is computed from it). */
  madeAt: number;
}

export interface StackState extends StackRef {
  arn: string;
  resources: Map<string, ResourceState>;
}

export interface Datapoint {
  receivedAt: string;
  accessKey: string;
  /** A stack user's key: its stack (a project member's key belongs to none). */
  stack?: string;
  namespace: string;
  metricName?: string;
  value?: number | string;
  unit?: string;
  timestamp?: string;
  dimensions: Array<{ name: string; value: string }>;
  /** Other member fields (StatisticValues.*, StorageResolution...), as sent. */
  extra: Record<string, string>;
}

const MAX_METRICS = 10_000;

export const EC2_INSTANCE = 'AWS::EC2::Instance';

/** Who sent a SignalResource: a key, or (EC2 mode) an instance by its identity. */
export type Signaller = { accessKey: string } | { instanceId: string };

/** Where the deployments' signals go, for the URLs and credentials they are handed. */
export interface SoftwareEnv {
  endpoints: () => Endpoints;
  /** The Swift account's Temp-URL-Key. */
  tempUrlKey: string;
}

export class Model {
  readonly stacks = new Map<string, StackState>();
  readonly credentials = new Map<string, Credential>();
  readonly metrics: Datapoint[] = [];
  private startedAt: number;
  /** Generated key pairs and passwords survive reset(): URLs and credentials handed out before stay valid. */
  private readonly generated = new Map<string, unknown>();
  private deployments!: Software;

  /** A settled resource's reason, and a resource's that waits for its signals: Heat's, or (EC2 mode) AWS's. */
  private readonly reasons: { settled: string; waiting: string };

  constructor(
    private readonly files: StackFile[],
    private readonly now: () => number,
    private readonly env: SoftwareEnv,
    /** EC2 mode: instances get `i-` physical ids, reasons are AWS's, the role's key is loaded. */
    private readonly ec2?: Ec2Settings,
  ) {
    this.startedAt = now();
    this.reasons = ec2 ? { settled: '', waiting: 'Resource creation Initiated' } : { settled: 'state changed', waiting: 'state changed' };
    this.load();
  }

  /** The software deployments of every stack, as loaded (and recreated by reset()). */
  get software(): Software {
    return this.deployments;
  }

  /** What the deployments' metadata is composed with: where the emulator listens, the Swift key. */
  metadataEnv(): MetadataEnv {
    return { endpoints: this.env.endpoints(), tempUrlKey: this.env.tempUrlKey };
  }

  private secret<T>(id: string, make: () => T): T {
    if (!this.generated.has(id)) this.generated.set(id, make());
    return this.generated.get(id) as T;
  }

  /** Back to the stack files' state: signals, metrics and metadata changes dropped, timeouts restarted. */
  reset(): void {
    this.stacks.clear();
    this.credentials.clear();
    this.metrics.length = 0;
    this.startedAt = this.now();
    this.load();
  }

  private load(): void {
    this.deployments = new Software({
      now: this.now,
      secret: (id, make) => this.secret(id, make),
      addKey: (accessKey, secretKey, scope) => this.addKey(accessKey, secretKey, undefined, scope),
      removeKey: (accessKey) => this.credentials.delete(accessKey),
    });
    for (const file of this.files) {
      for (const c of file.credentials ?? []) this.addKey(c.accessKey, c.secretKey, c.sessionToken, { kind: 'project' });
      for (const spec of file.stacks) this.loadStack(spec);
    }
    const role = this.ec2?.role;
    if (role) this.addKey(role.accessKey, role.secretKey, role.sessionToken, role.scope === 'project' ? { kind: 'project' } : { kind: 'none', role: role.name });
  }

  private addKey(accessKey: string, secretKey: string, sessionToken: string | undefined, scope: CredentialScope): void {
    const cred: Credential = { accessKey, secretKey, scope };
    if (sessionToken !== undefined) cred.sessionToken = sessionToken;
    this.credentials.set(accessKey, cred);
  }

  private loadStack(spec: StackSpec): void {
    const ref: StackRef = { tenant: spec.tenant ?? 'tenant0', stackName: spec.name, stackId: spec.id ?? stableUuid(spec.name) };
    const stack: StackState = { ...ref, arn: stackArn(ref), resources: new Map() };
    const targeted = new Set(Object.values(spec.resources).flatMap((r) => (DEPLOYMENT_TYPES.includes(r.type) ? [(r.properties as DeploymentProperties).server] : [])));
    for (const [name, r] of Object.entries(spec.resources)) {
      const res: ResourceState = {
        name,
        type: r.type,
        metadata: r.metadata ?? {},
        status: r.status ?? 'CREATE_COMPLETE',
        statusReason: r.statusReason ?? this.reasons.settled,
        physicalId: r.physicalId ?? (this.ec2 && r.type === EC2_INSTANCE ? stableInstanceId(`${ref.stackId}/${name}`) : stableUuid(`${ref.stackId}/${name}`)),
        description: r.description ?? '',
        lastUpdated: r.lastUpdated ? isoSeconds(Date.parse(r.lastUpdated)) : isoSeconds(this.startedAt),
        signals: new Map(),
      };
      const keys = () => (r.accessKey && r.secretKey ? { accessKey: r.accessKey, secretKey: r.secretKey } : this.secret(`keys/${spec.name}/${name}`, randomKeyPair));
      if (r.type === WAIT_HANDLE) {
        res.handleKeys = keys();
        this.addKey(res.handleKeys.accessKey, res.handleKeys.secretKey, undefined, { kind: 'handle', stack: spec.name, resource: name });
      }
      if (SERVER_TYPES.includes(r.type) && (targeted.has(name) || r.accessKey || r.properties)) {
        res.server = this.serverState(stack, name, (r.properties as ServerProperties | undefined)?.software_config_transport ?? 'POLL_SERVER_CFN', keys(), targeted.has(name));
        this.addKey(res.server.keys.accessKey, res.server.keys.secretKey, undefined, { kind: 'stack', stack: spec.name, resources: new Set([name]) });
      }
      if (r.type === WAIT_CONDITION) res.completion = { count: r.count ?? 1, timeoutSeconds: r.timeout, handle: r.handle };
      else if (r.creationPolicy) res.completion = { count: r.creationPolicy.count ?? 1, timeoutSeconds: r.creationPolicy.timeout };
      if (res.completion && r.status === undefined) {
        res.status = 'CREATE_IN_PROGRESS';
        if (r.statusReason === undefined) res.statusReason = this.reasons.waiting;
      }
      stack.resources.set(name, res);
    }
    for (const c of spec.credentials ?? []) {
      this.addKey(c.accessKey, c.secretKey, c.sessionToken, { kind: 'stack', stack: spec.name, resources: c.resources ? new Set(c.resources) : undefined });
    }
    this.stacks.set(spec.name, stack);
    this.deployments.load(stack, spec);
  }

  /** Heat's `_create_transport_credentials`: a user for POLL_SERVER_HEAT and ZAQAR_MESSAGE, an object name for POLL_TEMP_URL. */
  private serverState(stack: StackState, name: string, transport: ConfigTransport, keys: { accessKey: string; secretKey: string }, composed: boolean): ServerState {
    const server: ServerState = { keys, composed, transport, physicalName: physicalName(stack, name, 0), madeAt: this.now() };
    if (transport === 'POLL_SERVER_HEAT' || transport === 'ZAQAR_MESSAGE') {
      server.user = {
        id: hexId(`user/${stack.stackId}/server/${name}`),
        name: server.physicalName,
        password: this.secret(`server-password/${stack.stackName}/${name}`, openstackPassword),
        projectId: stackUserProject(stack),
        projectName: `${stack.tenant}-${stack.stackId}`.slice(0, 64),
      };
    }
    if (transport === 'POLL_TEMP_URL') server.objectName = stableUuid(`metadata-object/${stack.stackId}/${name}`);
    return server;
  }

  /** A stack-domain user keystone knows: a deployment's or a server's. */
  keystoneUser(id: string): KeystoneUser | undefined {
    const fromDeployment = this.deployments.user(id);
    if (fromDeployment) return fromDeployment;
    for (const stack of this.stacks.values()) for (const r of stack.resources.values()) if (r.server?.user?.id === id) return r.server.user;
    return undefined;
  }

  /** Composed servers, with their stack. */
  servers(): Array<{ stack: StackState; res: ResourceState; server: ServerState }> {
    const out: Array<{ stack: StackState; res: ResourceState; server: ServerState }> = [];
    for (const stack of this.stacks.values()) for (const res of stack.resources.values()) if (res.server?.composed) out.push({ stack, res, server: res.server });
    return out;
  }

  key(accessKey: string): Credential | undefined {
    return this.credentials.get(accessKey);
  }

  /**
   * `StackName` as Heat's `_get_identity` takes it: a stack ARN, a name or an
   * id. Stack and handle users see only their own stack (the rest is "not
   * found", as in their Heat stack-domain project).
   */
  findStack(nameOrArn: string, cred?: Credential): StackState | undefined {
    let stack: StackState | undefined;
    const arn = /^arn:openstack:heat::([^:]*):stacks\/([^/]+)\/([^/]+)(\/.*)?$/.exec(nameOrArn);
    if (arn) {
      const [, tenant, name, id] = arn.map((p) => (p === undefined ? p : percentDecode(p).toString('utf8')));
      stack = [...this.stacks.values()].find((s) => s.tenant === tenant && s.stackName === name && s.stackId === id);
    } else {
      stack = this.stacks.get(nameOrArn) ?? [...this.stacks.values()].find((s) => s.stackId === nameOrArn);
    }
    if (!stack || !cred || cred.scope.kind === 'project') return stack;
    return cred.scope.kind !== 'none' && cred.scope.stack === stack.stackName ? stack : undefined;
  }

  /** Heat's `_authorize_stack_user` for DescribeStackResource. */
  mayDescribe(cred: Credential, stack: StackState, resource: string): boolean {
    const s = cred.scope;
    if (s.kind === 'project') return true;
    if (s.kind === 'handle' || s.kind === 'none') return false;
    return s.stack === stack.stackName && (!s.resources || s.resources.has(resource));
  }

  maySignal(cred: Credential, stack: StackState, resource: string): boolean {
    const s = cred.scope;
    if (s.kind === 'project') return true;
    if (s.kind === 'none') return false;
    if (s.kind === 'handle') return s.stack === stack.stackName && s.resource === resource;
    return s.stack === stack.stackName && (!s.resources || s.resources.has(resource));
  }

  /**
   * PutMetricData as Heat scopes its users: project members put anything,
   * handle users nothing, and a stack user only datapoints whose AlarmName
   * dimensions name resources of its own stack (by logical name or physical
   * id, as a template's Ref hands the alarm to the instance), so that a
   * compromised instance can feed no other stack's alarms.
   */
  mayPutMetrics(cred: Credential, alarmNames: string[]): boolean {
    const s = cred.scope;
    if (s.kind === 'project') return true;
    if (s.kind === 'handle' || s.kind === 'none') return false;
    const own = [...(this.stacks.get(s.stack)?.resources.values() ?? [])];
    return alarmNames.every((a) => own.some((r) => r.name === a || r.physicalId === a));
  }

  /**
   * A resource's status (UPDATE_IN_PROGRESS, ...) and, optionally, its
   * physical id, as a stack update would leave them. On a resource completed
   * by signals (wait condition, creation policy) the status is pinned: it
   * stays until the next change, whatever signals come.
   */
  setResourceStatus(stackName: string, resource: string, change: { status: string; physicalId?: string }): void {
    const res = this.stacks.get(stackName)?.resources.get(resource);
    if (!res) throw new Error(`no resource ${stackName}/${resource}`);
    if (typeof change.status !== 'string' || !/^[A-Z_]+$/.test(change.status)) throw new SyntaxError('status: expected a resource status such as UPDATE_IN_PROGRESS');
    res.status = change.status;
    if (res.completion) res.completion.final = { status: res.status, reason: res.statusReason };
    if (change.physicalId !== undefined) res.physicalId = String(change.physicalId);
    res.lastUpdated = isoSeconds(this.now());
  }

  setMetadata(stackName: string, resource: string, metadata: unknown): void {
    const res = this.stacks.get(stackName)?.resources.get(resource);
    if (!res) throw new Error(`no resource ${stackName}/${resource}`);
    // A round trip through JSON: callers must not be able to change it behind the emulator's back.
    res.metadata = JSON.parse(JSON.stringify(metadata ?? {}));
  }

  /**
   * The Metadata Heat serves: a handle's is its signals,
   * `{UniqueId: {Status, Reason, Data}}` in the key order sent; a server with
   * deployments has theirs composed into its own.
   */
  metadataOf(stack: StackState, res: ResourceState): unknown {
    if (res.server?.composed) return serverMetadata(stack, res, this.deployments.all(), this.metadataEnv());
    if (res.type !== WAIT_HANDLE) return res.metadata;
    const out: Record<string, unknown> = {};
    for (const s of res.signals.values()) out[s.uniqueId] = s.entry;
    return out;
  }

  /**
   * PUT to a handle URL (cfn-signal). `body` is the parsed JSON; Heat
   * requires exactly Status, Reason, UniqueId and Data with Status SUCCESS or
   * FAILURE, else the engine's ValueError becomes 500 InternalFailure.
   */
  signalHandle(stack: StackState, handle: ResourceState, body: unknown, accessKey: string): void {
    if (handle.type !== WAIT_HANDLE) throw HeatErrors.invalidParameterValue();
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw HeatErrors.internalFailure();
    const b = body as Record<string, unknown>;
    const keys = Object.keys(b).sort().join(',');
    if (keys !== 'Data,Reason,Status,UniqueId' || (b.Status !== 'SUCCESS' && b.Status !== 'FAILURE')) throw HeatErrors.internalFailure();
    const entry = Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'UniqueId'));
    // Heat keys the entry with str(UniqueId): 1 -> "1", null -> "None".
    this.record(stack, handle, { uniqueId: pyStr(b.UniqueId), status: b.Status, reason: pyStr(b.Reason), data: b.Data, via: 'waitcondition', accessKey, entry });
  }

  /** SignalResource: on a WaitCondition it counts like a handle signal; on other resources like a CreationPolicy signal. */
  signalResource(stack: StackState, res: ResourceState, uniqueId: string, status: SignalStatus, by: Signaller): void {
    const target = res.completion?.handle ? stack.resources.get(res.completion.handle) : undefined;
    const reason = `Signal ${status} received via SignalResource`;
    const entry = { Status: status, Reason: reason, Data: null };
    this.record(stack, target ?? res, { uniqueId, status, reason, data: null, via: 'SignalResource', ...by, entry });
  }

  private record(stack: StackState, res: ResourceState, s: Omit<SignalRecord, 'receivedAt'>): void {
    const rec: SignalRecord = { ...s, receivedAt: isoSeconds(this.now()) };
    res.signals.set(rec.uniqueId, rec);
    for (const r of stack.resources.values()) this.completionOf(stack, r);
  }

  /** Signals that count for `res`: its handle's for a WaitCondition, its own otherwise. */
  signalsFor(stack: StackState, res: ResourceState): SignalRecord[] {
    const from = res.completion?.handle ? stack.resources.get(res.completion.handle) : res;
    return [...(from?.signals.values() ?? [])];
  }

  /**
   * Heat's WaitCondition `_wait`, evaluated now: timeout first, then any
   * FAILURE, then Count successes. A reached end state sticks.
   */
  completionOf(stack: StackState, res: ResourceState): { status: string; reason: string } {
    const c = res.completion;
    if (!c) return { status: res.status, reason: res.statusReason };
    if (c.final) return c.final;
    const signals = this.signalsFor(stack, res);
    const failures = signals.filter((s) => s.status !== 'SUCCESS');
    const label = res.type === WAIT_CONDITION ? 'WaitCondition' : 'ResourceSignal';
    if (!c.failed && c.timeoutSeconds !== undefined && this.now() - this.startedAt > c.timeoutSeconds * 1000) {
      const reasons = signals.filter((s) => s.status === 'SUCCESS').map((s) => s.reason);
      const text = `${reasons.length} of ${c.count} received${reasons.length ? ` - ${reasons.join(';')}` : ''}`;
      c.final = { status: 'CREATE_FAILED', reason: `${label}Timeout: resources.${res.name}: ${text}` };
    } else if (failures.length || c.failed) {
      // Failed for good, but Heat's reason lists every FAILURE it has seen when it looks (it polls).
      c.failed = true;
      if (failures.length) res.statusReason = `${label}Failure: resources.${res.name}: ${failures.map((s) => s.reason).join(';')}`;
      res.status = 'CREATE_FAILED';
      return { status: res.status, reason: res.statusReason };
    } else if (signals.length >= c.count) {
      c.final = { status: 'CREATE_COMPLETE', reason: this.reasons.settled };
    }
    if (c.final) {
      res.status = c.final.status;
      res.statusReason = c.final.reason;
      return c.final;
    }
    return { status: res.status, reason: res.statusReason };
  }

  /** The WaitCondition's `Data` attribute: `{UniqueId: Data}`, and Heat's `json.dumps` of it. */
  waitConditionData(stack: StackState, res: ResourceState): { data: Record<string, unknown>; text: string } {
    const data: Record<string, unknown> = {};
    for (const s of this.signalsFor(stack, res)) data[s.uniqueId] = s.data;
    return { data, text: pyJsonDumps(data) };
  }

  addMetrics(points: Datapoint[]): void {
    this.metrics.push(...points);
    if (this.metrics.length > MAX_METRICS) this.metrics.splice(0, this.metrics.length - MAX_METRICS);
  }
}
