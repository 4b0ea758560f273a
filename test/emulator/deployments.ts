/**
 * OS::Heat::SoftwareDeployment as Heat's engine runs it. Each action a
 * deployment takes part in (CREATE, UPDATE, DELETE, when listed in its
 * `actions`) derives a new config from its SoftwareConfig: a new id and
 * creation time, the config's inputs with their values, then Heat's
 * `deploy_*` inputs with what the server needs to signal back. The server's
 * metadata lists the current derived config of each of its deployments
 * (deployment-metadata.ts). A signal completes the action, or fails it, as
 * Heat's signal_software_deployment decides; a signal to a deployment that
 * waits for none is dropped, as Heat drops it. A failed deployment is
 * replaced on the next update (a new resource: new id, new credentials,
 * deploy_action CREATE), because Heat replaces a resource in a FAILED state.
 */
import { isMapping, pyStr, pyTruthy } from './heat-format';
import { hexId, openstackPassword, shortId } from './heat-ids';
import type { KeystoneUser } from './keystone';
import type { CredentialScope, ResourceState, StackState } from './model';
import { isoSeconds } from './signing';
import { storedInput, storedOutput } from './software-config';
import { randomKeyPair, stableUuid, type StackSpec } from './stackfile';
import {
  CONFIG_TYPES,
  type DeployAction,
  DEPLOYMENT_TYPES,
  type DeploymentProperties,
  type SignalTransport,
  type SoftwareConfigProperties,
  STRUCTURED_DEPLOYMENT,
} from './stackfile-software';

/** What the deployments need of the model that holds them. */
export interface SoftwareHost {
  now(): number;
  /** A generated secret that survives reset(), so that keys and URLs handed out before stay valid. */
  secret<T>(id: string, make: () => T): T;
  addKey(accessKey: string, secretKey: string, scope: CredentialScope): void;
  removeKey(accessKey: string): void;
}

export type RowStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

/** A derived config: what one action of a deployment puts into the server's metadata. */
export interface DerivedConfig {
  id: string;
  name: string;
  group: string;
  createdAt: number;
  /** A StructuredDeployment's is its source's, the inputs replaced as it is served (they include the deploy_* ones). */
  config: unknown;
  /** StructuredDeployment: the function replaced by an input's value in `config`. */
  inputKey?: string;
  /** The config's inputs with their values, then undeclared input values; the deploy_* inputs are added as it is served. */
  inputs: Array<Record<string, unknown>>;
  outputs: Array<Record<string, unknown>>;
  options: Record<string, unknown>;
  action: DeployAction;
}

/** Heat's software_deployment row: the state signals change. */
export interface DeploymentRow {
  id: string;
  createdAt: number;
  /** Rows made in the same millisecond keep their creation order. */
  seq: number;
  updatedAt?: number;
  action: DeployAction;
  status: RowStatus;
  statusReason: string;
  inputValues: Record<string, unknown>;
  outputValues: Record<string, unknown> | null;
  config: DerivedConfig;
}

/** What one incarnation of the resource owns; Heat makes all of it anew when it replaces the resource. */
export interface Incarnation {
  generation: number;
  /** `<stack>-<resource>-<short id>`: user name, Swift object, default config name. */
  physicalName: string;
  /** When its credentials were made (a temp URL's expiry is computed from it). */
  madeAt: number;
  /** CFN_SIGNAL: the stack user's key pair the signal URL is signed with. */
  keys?: { accessKey: string; secretKey: string };
  /** HEAT_SIGNAL, ZAQAR_SIGNAL: the stack-domain user. */
  user?: KeystoneUser;
}

export type SignalVia = 'CFN_SIGNAL' | 'TEMP_URL_SIGNAL' | 'HEAT_SIGNAL' | 'ZAQAR_SIGNAL';

export interface DeploymentSignal {
  receivedAt: string;
  via: SignalVia;
  /** The action the deployment was running when it arrived. */
  action?: DeployAction;
  /** Whether it settled the deployment. */
  applied: boolean;
  /** Why it was dropped. */
  note?: string;
  body: unknown;
}

export interface Deployment {
  readonly name: string;
  readonly stack: StackState;
  readonly res: ResourceState;
  readonly server: string;
  readonly configName?: string;
  readonly transport: SignalTransport;
  readonly actions: readonly DeployAction[];
  /** The `name` property, which names (and so orders) its configs in the metadata. */
  readonly derivedName?: string;
  /** StructuredDeployment: the function replaced by an input's value (`input_key`, default get_input). */
  readonly inputKey?: string;
  inputValues: Record<string, unknown>;
  incarnation: Incarnation;
  /** None until an action it takes part in has run, and again once it is deleted. */
  row?: DeploymentRow;
  signals: DeploymentSignal[];
  deleted: boolean;
  /** Derived configs made so far; seeds their ids. */
  configs: number;
  /** A stack update that came while an action waited for its signal: Heat runs it once that action is over. The latest wins. */
  queued?: { inputValues: Record<string, unknown> } | 'delete';
}

/** A request the current state refuses: 404 (no such deployment) or 409 (deleted, being deleted). */
export class DeploymentError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'DeploymentError';
  }
}

/** A copy the caller cannot change behind the emulator's back. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Equal as Python compares dicts: key order does not matter. */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (isMapping(v)) return Object.keys(v).sort().map((k) => [k, canonical(v[k])]);
    return v;
  };
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The stack's stack-user project (keystone's id of `<owner project>-<stack id>` in the heat domain). */
export function stackUserProject(stack: StackState): string {
  return hexId(`stack-user-project/${stack.stackId}`);
}

/** Heat's physical_resource_name of one incarnation of a resource. */
export function physicalName(stack: StackState, name: string, generation: number): string {
  return `${stack.stackName}-${name}-${shortId(stableUuid(`resource/${stack.stackId}/${name}#${generation}`))}`;
}

export class Software {
  private readonly deployments = new Map<string, Deployment>();
  private readonly configs = new Map<string, { props: SoftwareConfigProperties; physicalName: string }>();
  private seq = 0;

  constructor(private readonly host: SoftwareHost) {}

  /** A stack being created: its configs, then each deployment's CREATE, in file order. */
  load(stack: StackState, spec: StackSpec): void {
    for (const [name, r] of Object.entries(spec.resources)) {
      if (CONFIG_TYPES.includes(r.type)) this.configs.set(`${stack.stackName}/${name}`, { props: (r.properties ?? {}) as SoftwareConfigProperties, physicalName: physicalName(stack, name, 0) });
    }
    for (const [name, r] of Object.entries(spec.resources)) {
      if (!DEPLOYMENT_TYPES.includes(r.type)) continue;
      const p = r.properties as DeploymentProperties;
      const transport = p.signal_transport ?? 'CFN_SIGNAL';
      const d: Deployment = {
        name,
        stack,
        res: stack.resources.get(name)!,
        server: p.server,
        transport,
        actions: p.actions ?? ['CREATE', 'UPDATE'],
        inputValues: clone(p.input_values ?? {}),
        incarnation: this.incarnation(stack, name, 0, transport),
        signals: [],
        deleted: false,
        configs: 0,
        ...(p.config === undefined ? {} : { configName: p.config }),
        ...(p.name === undefined ? {} : { derivedName: p.name }),
        ...(r.type === STRUCTURED_DEPLOYMENT ? { inputKey: p.input_key ?? 'get_input' } : {}),
      };
      this.deployments.set(`${stack.stackName}/${name}`, d);
      this.setState(d, 'CREATE', this.run(d, 'CREATE') ? 'IN_PROGRESS' : 'COMPLETE');
    }
  }

  all(): Deployment[] {
    return [...this.deployments.values()];
  }

  /** The deployment named so, deleted or not; DeploymentError 404 when there is none. */
  find(stack: string, name: string): Deployment {
    const d = this.deployments.get(`${stack}/${name}`);
    if (!d) throw new DeploymentError(404, `no deployment ${stack}/${name}`);
    return d;
  }

  /** The live deployment behind a resource of a stack, if it is one. */
  of(stack: StackState, resource: string): Deployment | undefined {
    const d = this.deployments.get(`${stack.stackName}/${resource}`);
    return d && !d.deleted && d.stack === stack ? d : undefined;
  }

  /** The stack-domain users of live deployments, for keystone. */
  user(id: string): KeystoneUser | undefined {
    return this.all().find((d) => !d.deleted && d.incarnation.user?.id === id)?.incarnation.user;
  }

  private incarnation(stack: StackState, name: string, generation: number, transport: SignalTransport): Incarnation {
    const seed = `${stack.stackName}/${name}#${generation}`;
    const inc: Incarnation = { generation, physicalName: physicalName(stack, name, generation), madeAt: this.host.now() };
    if (transport === 'CFN_SIGNAL') {
      inc.keys = this.host.secret(`deployment-keys/${seed}`, randomKeyPair);
      this.host.addKey(inc.keys.accessKey, inc.keys.secretKey, { kind: 'handle', stack: stack.stackName, resource: name });
    }
    if (transport === 'HEAT_SIGNAL' || transport === 'ZAQAR_SIGNAL') {
      inc.user = {
        id: hexId(`user/${stack.stackId}/${seed}`),
        name: inc.physicalName,
        password: this.host.secret(`deployment-password/${seed}`, openstackPassword),
        projectId: stackUserProject(stack),
        projectName: `${stack.tenant}-${stack.stackId}`.slice(0, 64),
      };
    }
    return inc;
  }

  /** The incarnation's credentials die with it (Heat deletes the stack user and its key pair). */
  private retire(d: Deployment): void {
    if (d.incarnation.keys) this.host.removeKey(d.incarnation.keys.accessKey);
  }

  private setState(d: Deployment, action: DeployAction, status: 'IN_PROGRESS' | 'COMPLETE' | 'FAILED', reason = 'state changed'): void {
    d.res.status = `${action}_${status}`;
    d.res.statusReason = reason;
    d.res.lastUpdated = isoSeconds(this.host.now());
  }

  /** Heat's `_handle_action`: nothing unless the action is one of `actions`; else a new derived config. Whether it now waits for a signal. */
  private run(d: Deployment, action: DeployAction): boolean {
    if (!d.actions.includes(action)) return false;
    const now = this.host.now();
    const config = this.derive(d, action, now);
    const waits = d.transport !== 'NO_SIGNAL';
    const state = waits ? { status: 'IN_PROGRESS' as const, statusReason: 'Deploy data available' } : { status: 'COMPLETE' as const, statusReason: 'Not waiting for outputs signal' };
    const fields = { action, ...state, config, inputValues: clone(d.inputValues) };
    d.row = d.row ? { ...d.row, ...fields, updatedAt: now } : { id: d.res.physicalId, createdAt: now, seq: this.seq++, outputValues: null, ...fields };
    return waits;
  }

  /** `_build_derived_config_params` without the deploy_* inputs, which depend on where the emulator listens. */
  private derive(d: Deployment, action: DeployAction, now: number): DerivedConfig {
    const source = d.configName === undefined ? undefined : this.configs.get(`${d.stack.stackName}/${d.configName}`);
    const props = source?.props ?? {};
    const values = { ...d.inputValues };
    const inputs: Array<Record<string, unknown>> = (props.inputs ?? []).map((spec) => {
      const stored = storedInput(spec);
      const value = Object.hasOwn(values, spec.name) ? values[spec.name] : stored.default;
      delete values[spec.name];
      return { ...stored, value };
    });
    for (const [name, value] of Object.entries(values)) inputs.push({ name, type: 'String', value });
    const derived: DerivedConfig = {
      id: stableUuid(`config/${d.stack.stackId}/${d.name}/${d.configs++}`),
      name: d.derivedName ?? source?.physicalName ?? d.incarnation.physicalName,
      group: props.group ?? 'Heat::Ungrouped',
      createdAt: now,
      // A SoftwareDeployment's empty config is '' (its empty_config).
      config: d.inputKey !== undefined ? clone(props.config ?? null) : pyTruthy(props.config) ? clone(props.config) : '',
      inputs: clone(inputs),
      outputs: (props.outputs ?? []).map(storedOutput),
      options: clone(props.options ?? {}),
      action,
    };
    if (d.inputKey !== undefined) derived.inputKey = d.inputKey;
    return derived;
  }

  /** A refusal unless the deployment is still in the stack. */
  private alive(d: Deployment): void {
    if (d.deleted) throw new DeploymentError(409, `deployment ${d.stack.stackName}/${d.name} was deleted`);
    if (d.res.status === 'DELETE_IN_PROGRESS') throw new DeploymentError(409, `deployment ${d.stack.stackName}/${d.name} is being deleted (it waits for its DELETE signal)`);
  }

  /** An action still waits for its signal: a stack update has to wait for it. */
  private busy(d: Deployment): boolean {
    return d.res.status.endsWith('_IN_PROGRESS');
  }

  /** A stack update giving the deployment these input values. Unchanged values of a healthy deployment change nothing, as in Heat. */
  update(d: Deployment, inputValues: Record<string, unknown>): void {
    this.alive(d);
    if (this.busy(d)) {
      d.queued = { inputValues: clone(inputValues) };
      return;
    }
    if (d.res.status.endsWith('_FAILED')) return this.replace(d, inputValues);
    if (sameJson(inputValues, d.inputValues)) return;
    d.inputValues = clone(inputValues);
    this.setState(d, 'UPDATE', this.run(d, 'UPDATE') ? 'IN_PROGRESS' : 'COMPLETE');
  }

  /** Heat's UpdateReplace of a failed resource: a new incarnation created, the old one dropped with its credentials. */
  private replace(d: Deployment, inputValues: Record<string, unknown>): void {
    this.retire(d);
    const generation = d.incarnation.generation + 1;
    d.res.physicalId = stableUuid(`${d.stack.stackId}/${d.name}#${generation}`);
    d.incarnation = this.incarnation(d.stack, d.name, generation, d.transport);
    d.row = undefined;
    d.inputValues = clone(inputValues);
    this.setState(d, 'CREATE', this.run(d, 'CREATE') ? 'IN_PROGRESS' : 'COMPLETE');
  }

  /** A stack update without the deployment: its DELETE action runs if listed, else it goes at once. */
  delete(d: Deployment): void {
    this.alive(d);
    if (this.busy(d)) {
      d.queued = 'delete';
      return;
    }
    if (this.run(d, 'DELETE')) this.setState(d, 'DELETE', 'IN_PROGRESS');
    else this.remove(d);
  }

  /** Heat's `_delete_resource`: the row (so the metadata item), the stack user, the key pair; the resource leaves the stack. */
  private remove(d: Deployment): void {
    this.retire(d);
    d.row = undefined;
    d.deleted = true;
    d.stack.resources.delete(d.name);
    this.setState(d, 'DELETE', 'COMPLETE');
  }

  /**
   * Heat's signal_software_deployment, then the resource's check for
   * completion. `unreadable` says why a body could not be read at all (a
   * Swift object that is not JSON): the signal is noted and dropped.
   */
  signal(d: Deployment, body: unknown, via: SignalVia, unreadable?: string): DeploymentSignal {
    const now = this.host.now();
    const rec: DeploymentSignal = { receivedAt: isoSeconds(now), via, applied: false, body: clone(body ?? null) };
    const row = d.row;
    if (row) rec.action = row.action;
    d.signals.push(rec);
    if (unreadable !== undefined) {
      rec.note = `dropped: ${unreadable}`;
      return rec;
    }
    if (!row || row.status !== 'IN_PROGRESS') {
      rec.note = 'dropped: the deployment was not waiting for a signal';
      return rec;
    }
    const details = pyTruthy(body) ? body : {};
    if (!isMapping(details)) {
      // Heat's `details.get` fails on it in the engine's thread; the API had already answered.
      rec.note = 'dropped: not a JSON object';
      return rec;
    }
    const ov: Record<string, unknown> = { ...(row.outputValues ?? {}) };
    const reasons = new Map<string, string>();
    const code = details.deploy_status_code;
    if (pyTruthy(code) && pyStr(code) !== '0') reasons.set('deploy_status_code', `Deployment exited with non-zero status code: ${pyStr(code)}`);
    for (const output of row.config.outputs) {
      const name = String(output.name);
      if (!Object.hasOwn(details, name)) continue;
      ov[name] = details[name];
      if (output.error_output === true) reasons.set(name, pyStr(details[name]));
    }
    for (const key of ['deploy_stdout', 'deploy_stderr', 'deploy_status_code']) ov[key] = details[key] ?? null;
    row.outputValues = clone(ov);
    row.status = reasons.size ? 'FAILED' : 'COMPLETE';
    row.statusReason = reasons.size ? [...reasons].map(([k, v]) => `${k} : ${v}`).join(', ') : 'Outputs received';
    row.updatedAt = now;
    rec.applied = true;
    this.settle(d, row);
    return rec;
  }

  /** Heat's check_*_complete of the action the row waited for; then a stack update that waited for it. */
  private settle(d: Deployment, row: DeploymentRow): void {
    if (row.status === 'FAILED') this.setState(d, row.action, 'FAILED', `Error: resources.${d.name}: Deployment to server failed: ${row.statusReason}`);
    else if (row.action === 'DELETE') return this.remove(d);
    else this.setState(d, row.action, 'COMPLETE');
    const next = d.queued;
    delete d.queued;
    if (next === 'delete') this.delete(d);
    else if (next) this.update(d, next.inputValues);
  }
}
