/**
 * Stack files (JSON or YAML): what the emulator serves. Validated strictly,
 * unknown keys included, because a typo in a test fixture otherwise shows up
 * as a puzzling 400 much later; every error names the file and the key path.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Checker, join, StackFileError } from './stackfile-check';
import { checkEc2, type Ec2Spec } from './stackfile-ec2';
import {
  checkConfigProperties,
  checkDeploymentProperties,
  checkDeploymentReferences,
  checkServerProperties,
  CONFIG_TYPES,
  DEPLOYMENT_TYPES,
  type DeploymentProperties,
  SERVER_TYPES,
  type ServerProperties,
  type SoftwareConfigProperties,
} from './stackfile-software';

export { StackFileError } from './stackfile-check';

export interface CredentialSpec {
  accessKey: string;
  secretKey: string;
  /** When set, requests must carry exactly this token (X-Amz-Security-Token / SecurityToken). */
  sessionToken?: string;
  /** Stack keys only: the resources DescribeStackResource may read (default: all of the stack). */
  resources?: string[];
}

export interface CreationPolicySpec {
  /** SUCCESS signals needed; default 1. */
  count?: number;
  /** Seconds from emulator start; none means no timeout. */
  timeout?: number;
}

export interface ResourceSpec {
  type: string;
  metadata?: unknown;
  /** `<ACTION>_<STATUS>`; default CREATE_COMPLETE (wait conditions: derived from their signals). */
  status?: string;
  statusReason?: string;
  physicalId?: string;
  description?: string;
  /** ISO time; default the emulator's start. */
  lastUpdated?: string;
  /**
   * AWS::CloudFormation::WaitConditionHandle: the handle's own key pair.
   * OS::Heat::DeployedServer, OS::Nova::Server: the server's stack-user key
   * pair (its os-collect-config `cfn` keys). Default: generated.
   */
  accessKey?: string;
  secretKey?: string;
  /** AWS::CloudFormation::WaitCondition: the logical id of its handle. */
  handle?: string;
  count?: number;
  timeout?: number;
  /** Any other resource: completed by SignalResource, like a CreationPolicy. */
  creationPolicy?: CreationPolicySpec;
  /** Servers, config and deployment resources (OS::Heat::SoftwareConfig...): Heat's properties (stackfile-software.ts). */
  properties?: SoftwareConfigProperties | DeploymentProperties | ServerProperties;
}

export interface StackSpec {
  name: string;
  /** Default: a UUID derived from the name. */
  id?: string;
  /** Default `tenant0`. */
  tenant?: string;
  resources: Record<string, ResourceSpec>;
  /** Keys of the stack's users (Heat stack users: only this stack, only DescribeStackResource). */
  credentials?: CredentialSpec[];
}

export interface FilesSpec {
  /** Directory served under /files/ (relative to the stack file). */
  dir?: string;
  /** name → text content, served under /files/<name>. */
  inline?: Record<string, string>;
  /** name → basic-auth user and password required for it. */
  auth?: Record<string, { username: string; password: string }>;
}

export interface StackFile {
  stacks: StackSpec[];
  /** Project-wide keys: every stack, every action (Heat's non-stack users). */
  credentials?: CredentialSpec[];
  files?: FilesSpec;
  /** EC2 mode (stackfile-ec2.ts): an instance metadata service, and CloudFormation's answers and instance-identity callers. */
  ec2?: Ec2Spec;
}

export const WAIT_CONDITION = 'AWS::CloudFormation::WaitCondition';
export const WAIT_HANDLE = 'AWS::CloudFormation::WaitConditionHandle';

/** A UUID (v4 layout) derived from `seed`, so that defaults are stable across runs. */
export function stableUuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function randomKeyPair(): { accessKey: string; secretKey: string } {
  return { accessKey: randomBytes(16).toString('hex'), secretKey: randomBytes(24).toString('base64') };
}

const NAME_RE = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;
const STATUS_RE = /^(INIT|CREATE|DELETE|UPDATE|ROLLBACK|SUSPEND|RESUME|ADOPT|SNAPSHOT|CHECK)_(IN_PROGRESS|FAILED|COMPLETE)$/;

function checkCredentials(c: Checker, v: unknown, at: string, scoped: boolean): CredentialSpec[] {
  return c.list(v, at).map((item, i) => {
    const p = join(at, i);
    const o = c.mapping(item, p, scoped ? ['accessKey', 'secretKey', 'sessionToken', 'resources'] : ['accessKey', 'secretKey', 'sessionToken']);
    const cred: CredentialSpec = { accessKey: c.string(o.accessKey, join(p, 'accessKey'))!, secretKey: c.string(o.secretKey, join(p, 'secretKey'))! };
    const token = c.string(o.sessionToken, join(p, 'sessionToken'), { optional: true });
    if (token !== undefined) cred.sessionToken = token;
    if (o.resources !== undefined) cred.resources = c.list(o.resources, join(p, 'resources')).map((r, j) => c.string(r, join(join(p, 'resources'), j))!);
    return cred;
  });
}

function checkResource(c: Checker, v: unknown, at: string): ResourceSpec {
  const o = c.mapping(v, at, [
    'type', 'metadata', 'status', 'statusReason', 'physicalId', 'description', 'lastUpdated',
    'accessKey', 'secretKey', 'handle', 'count', 'timeout', 'creationPolicy', 'properties',
  ]);
  const type = c.string(o.type, join(at, 'type'))!;
  const r: ResourceSpec = { type };
  if (o.metadata !== undefined) r.metadata = o.metadata;
  const status = c.string(o.status, join(at, 'status'), { optional: true, re: STATUS_RE, what: 'a Heat status like CREATE_COMPLETE' });
  if (status !== undefined) r.status = status;
  for (const key of ['statusReason', 'physicalId', 'description'] as const) {
    const s = c.string(o[key], join(at, key), { optional: true, empty: true });
    if (s !== undefined) r[key] = s;
  }
  const updated = c.string(o.lastUpdated, join(at, 'lastUpdated'), { optional: true });
  if (updated !== undefined) {
    if (Number.isNaN(Date.parse(updated))) c.fail(join(at, 'lastUpdated'), `${JSON.stringify(updated)} is not an ISO 8601 time`);
    r.lastUpdated = updated;
  }
  const only = (keys: readonly string[], forTypes: readonly string[]) => {
    const names = forTypes.length > 1 ? `${forTypes.slice(0, -1).join(', ')} or ${forTypes.at(-1)}` : forTypes[0];
    for (const k of keys) if (o[k] !== undefined && !forTypes.includes(type)) c.fail(join(at, k), `only allowed on ${names} resources`);
  };
  const keyed = [WAIT_HANDLE, ...SERVER_TYPES];
  only(['accessKey', 'secretKey'], keyed);
  only(['handle', 'count', 'timeout'], [WAIT_CONDITION]);
  only(['properties'], [...CONFIG_TYPES, ...DEPLOYMENT_TYPES, ...SERVER_TYPES]);
  if (SERVER_TYPES.includes(type) && o.properties !== undefined) r.properties = checkServerProperties(c, o.properties, join(at, 'properties'));
  if (CONFIG_TYPES.includes(type) && o.properties !== undefined) r.properties = checkConfigProperties(c, type, o.properties, join(at, 'properties'));
  if (DEPLOYMENT_TYPES.includes(type)) {
    for (const k of ['status', 'statusReason'] as const) if (o[k] !== undefined) c.fail(join(at, k), "a deployment's status comes from its actions and signals");
    r.properties = checkDeploymentProperties(c, type, o.properties ?? c.fail(join(at, 'properties'), 'is required (at least server)'), join(at, 'properties'));
  }
  if (keyed.includes(type)) {
    const ak = c.string(o.accessKey, join(at, 'accessKey'), { optional: true });
    const sk = c.string(o.secretKey, join(at, 'secretKey'), { optional: true });
    if ((ak === undefined) !== (sk === undefined)) c.fail(join(at, ak === undefined ? 'accessKey' : 'secretKey'), 'accessKey and secretKey go together');
    if (ak !== undefined) Object.assign(r, { accessKey: ak, secretKey: sk });
  }
  if (type === WAIT_CONDITION) {
    r.handle = c.string(o.handle, join(at, 'handle'))!;
    const count = c.positive(o.count, join(at, 'count'), true);
    if (count !== undefined) r.count = count;
    const timeout = c.positive(o.timeout, join(at, 'timeout'), false);
    if (timeout !== undefined) r.timeout = timeout;
    if (o.creationPolicy !== undefined) c.fail(join(at, 'creationPolicy'), 'a WaitCondition takes count and timeout directly');
  } else if (o.creationPolicy !== undefined) {
    const p = join(at, 'creationPolicy');
    const cp = c.mapping(o.creationPolicy, p, ['count', 'timeout']);
    r.creationPolicy = {};
    const count = c.positive(cp.count, join(p, 'count'), true);
    if (count !== undefined) r.creationPolicy.count = count;
    const timeout = c.positive(cp.timeout, join(p, 'timeout'), false);
    if (timeout !== undefined) r.creationPolicy.timeout = timeout;
  }
  return r;
}

function checkStack(c: Checker, v: unknown, at: string): StackSpec {
  const o = c.mapping(v, at, ['name', 'id', 'tenant', 'resources', 'credentials']);
  const name = c.string(o.name, join(at, 'name'), { re: NAME_RE, what: 'a Heat stack name (a letter, then letters, digits, _ . -)' })!;
  const stack: StackSpec = { name, resources: {} };
  const id = c.string(o.id, join(at, 'id'), { optional: true, re: /^[^/]+$/, what: 'an id without /' });
  if (id !== undefined) stack.id = id;
  const tenant = c.string(o.tenant, join(at, 'tenant'), { optional: true, re: /^\w+$/, what: 'a tenant id (letters, digits, _)' });
  if (tenant !== undefined) stack.tenant = tenant;
  const resAt = join(at, 'resources');
  const resources = c.mapping(o.resources ?? c.fail(resAt, 'is required'), resAt, Object.keys((o.resources as object) ?? {}));
  for (const [rname, spec] of Object.entries(resources)) {
    if (!NAME_RE.test(rname)) c.fail(join(resAt, rname), 'a logical resource id must start with a letter and hold only letters, digits, _ . -');
    stack.resources[rname] = checkResource(c, spec, join(resAt, rname));
  }
  const types = Object.fromEntries(Object.entries(stack.resources).map(([rname, r]) => [rname, r.type]));
  for (const [rname, r] of Object.entries(stack.resources)) {
    if (DEPLOYMENT_TYPES.includes(r.type)) checkDeploymentReferences(c, r.properties as DeploymentProperties, types, join(join(resAt, rname), 'properties'));
    if (r.type !== WAIT_CONDITION) continue;
    const target = stack.resources[r.handle!];
    if (!target) c.fail(join(join(resAt, rname), 'handle'), `no resource ${JSON.stringify(r.handle)} in this stack`);
    if (target.type !== WAIT_HANDLE) c.fail(join(join(resAt, rname), 'handle'), `${r.handle} is a ${target.type}, not a ${WAIT_HANDLE}`);
  }
  if (o.credentials !== undefined) {
    stack.credentials = checkCredentials(c, o.credentials, join(at, 'credentials'), true);
    stack.credentials.forEach((cred, i) =>
      (cred.resources ?? []).forEach((r, j) => {
        if (!stack.resources[r]) c.fail(`${join(join(join(at, 'credentials'), i), 'resources')}[${j}]`, `no resource ${JSON.stringify(r)} in this stack`);
      }),
    );
  }
  return stack;
}

/**
 * Check a parsed stack file. `baseDir` resolves `files.dir`. Duplicate stack
 * names/ids and access keys are errors, also against `known` (the files
 * loaded before this one).
 */
export function validateStackFile(doc: unknown, source: string, baseDir: string, known: StackFile[] = []): StackFile {
  const c = new Checker(source);
  const o = c.mapping(doc, '', ['stacks', 'credentials', 'files', 'ec2']);
  const stacks = c.list(o.stacks ?? c.fail('stacks', 'is required'), 'stacks');
  const out: StackFile = { stacks: stacks.map((s, i) => checkStack(c, s, join('stacks', i))) };
  if (o.credentials !== undefined) out.credentials = checkCredentials(c, o.credentials, 'credentials', false);
  if (o.files !== undefined) {
    const f = c.mapping(o.files, 'files', ['dir', 'inline', 'auth']);
    out.files = {};
    const dir = c.string(f.dir, 'files.dir', { optional: true });
    if (dir !== undefined) {
      const abs = path.resolve(baseDir, dir);
      if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) c.fail('files.dir', `${abs} is not a directory`);
      out.files.dir = abs;
    }
    if (f.inline !== undefined) {
      const inline = c.mapping(f.inline, 'files.inline', Object.keys((f.inline as object) ?? {}));
      out.files.inline = Object.fromEntries(Object.entries(inline).map(([k, v]) => [k, c.string(v, `files.inline.${k}`, { empty: true })!]));
    }
    if (f.auth !== undefined) {
      const auth = c.mapping(f.auth, 'files.auth', Object.keys((f.auth as object) ?? {}));
      out.files.auth = {};
      for (const [name, v] of Object.entries(auth)) {
        const a = c.mapping(v, `files.auth.${name}`, ['username', 'password']);
        out.files.auth[name] = { username: c.string(a.username, `files.auth.${name}.username`)!, password: c.string(a.password, `files.auth.${name}.password`, { empty: true })! };
      }
    }
  }
  // `ec2:` alone (YAML null) turns EC2 mode on with its defaults.
  if ('ec2' in o) out.ec2 = checkEc2(c, o.ec2, 'ec2');
  checkUnique(c, out, known);
  return out;
}

function checkUnique(c: Checker, file: StackFile, known: StackFile[]): void {
  const names = new Set(known.flatMap((f) => f.stacks.map((s) => s.name)));
  const ids = new Set(known.flatMap((f) => f.stacks.map((s) => s.id ?? stableUuid(s.name))));
  const keys = new Set(known.flatMap(allKeys).map(([k]) => k));
  file.stacks.forEach((s, i) => {
    if (names.has(s.name)) c.fail(`stacks[${i}].name`, `stack ${s.name} is defined twice`);
    names.add(s.name);
    const id = s.id ?? stableUuid(s.name);
    if (ids.has(id)) c.fail(`stacks[${i}].id`, `stack id ${id} is used twice`);
    ids.add(id);
  });
  for (const [key, at] of allKeys(file)) {
    if (keys.has(key)) c.fail(at, `access key ${key} is defined twice`);
    keys.add(key);
  }
}

function allKeys(file: StackFile): Array<[string, string]> {
  const out: Array<[string, string]> = (file.credentials ?? []).map((cr, i) => [cr.accessKey, `credentials[${i}].accessKey`]);
  file.stacks.forEach((s, i) => {
    (s.credentials ?? []).forEach((cr, j) => out.push([cr.accessKey, `stacks[${i}].credentials[${j}].accessKey`]));
    for (const [name, r] of Object.entries(s.resources)) if (r.accessKey) out.push([r.accessKey, `stacks[${i}].resources.${name}.accessKey`]);
  });
  if (file.ec2?.role?.accessKey) out.push([file.ec2.role.accessKey, 'ec2.role.accessKey']);
  return out;
}

/** Read and check one stack file; `.json` is JSON, anything else YAML (a superset of JSON). */
export function loadStackFile(file: string, known: StackFile[] = []): StackFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new StackFileError(`cannot read: ${(err as Error).message}`, file, '');
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new StackFileError(`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, file, '');
  }
  return validateStackFile(doc, file, path.dirname(path.resolve(file)), known);
}
