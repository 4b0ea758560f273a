/**
 * The stack file's `ec2:` section, which turns on EC2 mode: the emulator then
 * also plays the instance metadata service of one EC2 instance and answers
 * DescribeStackResource and SignalResource as AWS CloudFormation does,
 * instance-identity (CFN_V1) callers included. Checked like the rest of the
 * file; `resolveEc2` fills in the defaults once per emulator start, so that
 * generated role keys stay the same across resets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Checker, join, StackFileError } from './stackfile-check';

export type ImdsTokens = 'optional' | 'required';

/** What an attached role's keys may do at the CloudFormation endpoint. */
export type RoleScope = 'project' | 'none';

export interface Ec2RoleSpec {
  /** The role's name, as `/latest/meta-data/iam/security-credentials/` lists it. */
  name: string;
  /** Default: generated (`ASIA...`); keys, secret and token go together. */
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** `project` (default): every stack, every action; `none`: a valid key that may do nothing (a role without CloudFormation permissions). */
  scope?: RoleScope;
}

export interface Ec2Spec {
  /** Default `us-east-1`. */
  region?: string;
  /** Twelve digits; default AWS's documentation example `123456789012`. */
  accountId?: string;
  /** Default the region with `a`. */
  availabilityZone?: string;
  /** Default `t3.micro`. */
  instanceType?: string;
  /** Default `ami-0abcdef1234567890`. */
  imageId?: string;
  /** The instance the metadata service plays at start; default the first AWS::EC2::Instance of the first stack. */
  instanceId?: string;
  /**
   * Instances that belong to a stack besides its AWS::EC2::Instance
   * resources (whose physical ids always do), e.g. an Auto Scaling group's:
   * stack name → instance ids.
   */
  members?: Record<string, string[]>;
  /** `optional` (default, EC2's): IMDSv1 and v2; `required`: a GET without a valid token is 401 (HttpTokens=required). */
  imdsTokens?: ImdsTokens;
  /** An instance profile's role: its credentials are served by the metadata service. */
  role?: Ec2RoleSpec;
}

/** An `ec2:` section with its defaults filled in. */
export interface Ec2Settings {
  region: string;
  accountId: string;
  availabilityZone: string;
  instanceType: string;
  imageId: string;
  /** Undefined: the first AWS::EC2::Instance's physical id, once the stacks are loaded. */
  instanceId?: string;
  members: Record<string, string[]>;
  imdsTokens: ImdsTokens;
  role?: Required<Ec2RoleSpec>;
}

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** An EC2 instance id: `i-` and 8 or 17 hex digits. */
export const INSTANCE_ID_RE = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;
const KEYS = ['region', 'accountId', 'availabilityZone', 'instanceType', 'imageId', 'instanceId', 'members', 'imdsTokens', 'role'];

function instanceId(c: Checker, v: unknown, at: string): string {
  return c.string(v, at, { re: INSTANCE_ID_RE, what: 'an EC2 instance id like i-0123456789abcdef0' })!;
}

function checkRole(c: Checker, v: unknown, at: string): Ec2RoleSpec {
  const o = c.mapping(v, at, ['name', 'accessKey', 'secretKey', 'sessionToken', 'scope']);
  const role: Ec2RoleSpec = { name: c.string(o.name, join(at, 'name'), { re: /^[\w+=,.@-]{1,64}$/, what: 'an IAM role name' })! };
  const keys = (['accessKey', 'secretKey', 'sessionToken'] as const).map((k) => c.string(o[k], join(at, k), { optional: true }));
  if (keys.some((k) => k !== undefined) && keys.some((k) => k === undefined)) {
    c.fail(join(at, ['accessKey', 'secretKey', 'sessionToken'][keys.indexOf(undefined)]), 'accessKey, secretKey and sessionToken go together (a role key always has a token)');
  }
  if (keys[0] !== undefined) Object.assign(role, { accessKey: keys[0], secretKey: keys[1], sessionToken: keys[2] });
  const scope = c.string(o.scope, join(at, 'scope'), { optional: true, re: /^(project|none)$/, what: 'project or none' });
  if (scope !== undefined) role.scope = scope as RoleScope;
  return role;
}

/** Check an `ec2:` section (of a stack file, or the emulator's options). */
export function checkEc2(c: Checker, v: unknown, at: string): Ec2Spec {
  const o = c.mapping(v ?? {}, at, KEYS);
  const spec: Ec2Spec = {};
  const region = c.string(o.region, join(at, 'region'), { optional: true, re: REGION_RE, what: 'an AWS region like us-east-1' });
  if (region !== undefined) spec.region = region;
  const account = c.string(o.accountId, join(at, 'accountId'), { optional: true, re: /^\d{12}$/, what: 'a twelve-digit account id' });
  if (account !== undefined) spec.accountId = account;
  for (const key of ['availabilityZone', 'instanceType', 'imageId'] as const) {
    const s = c.string(o[key], join(at, key), { optional: true });
    if (s !== undefined) spec[key] = s;
  }
  if (o.instanceId !== undefined) spec.instanceId = instanceId(c, o.instanceId, join(at, 'instanceId'));
  if (o.members !== undefined) {
    const m = c.mapping(o.members, join(at, 'members'), Object.keys((o.members as object) ?? {}));
    spec.members = Object.fromEntries(
      Object.entries(m).map(([stack, ids]) => [stack, c.list(ids, join(join(at, 'members'), stack)).map((id, i) => instanceId(c, id, join(join(join(at, 'members'), stack), i)))]),
    );
  }
  const tokens = c.string(o.imdsTokens, join(at, 'imdsTokens'), { optional: true, re: /^(optional|required)$/, what: 'optional or required' });
  if (tokens !== undefined) spec.imdsTokens = tokens as ImdsTokens;
  if (o.role !== undefined) spec.role = checkRole(c, o.role, join(at, 'role'));
  return spec;
}

/** An `ec2:` section found in a file (or the options), for the checks across files. */
export interface Ec2Source {
  spec: Ec2Spec;
  source: string;
}

/**
 * One EC2 configuration from the stack files' sections and the options: at
 * most one file may have a section, and the options' keys win over its keys
 * (the CLI's flags over the file). Undefined when neither turns EC2 mode on.
 * `stacks` are the names of every stack loaded, which `members` must name.
 */
export function resolveEc2(fromFiles: Ec2Source[], fromOptions: Ec2Source | undefined, stacks: ReadonlySet<string>): Ec2Settings | undefined {
  if (fromFiles.length > 1) throw new StackFileError(`EC2 mode is configured in ${fromFiles[0].source} already`, fromFiles[1].source, 'ec2');
  const base = fromFiles[0];
  if (!base && !fromOptions) return undefined;
  const spec: Ec2Spec = { ...base?.spec, ...fromOptions?.spec };
  for (const from of [base, fromOptions]) {
    for (const stack of Object.keys(from?.spec.members ?? {})) {
      if (!stacks.has(stack)) throw new StackFileError(`no stack ${JSON.stringify(stack)} is loaded`, from!.source, `ec2.members.${stack}`);
    }
  }
  const region = spec.region ?? 'us-east-1';
  const settings: Ec2Settings = {
    region,
    accountId: spec.accountId ?? '123456789012',
    availabilityZone: spec.availabilityZone ?? `${region}a`,
    instanceType: spec.instanceType ?? 't3.micro',
    imageId: spec.imageId ?? 'ami-0abcdef1234567890',
    members: spec.members ?? {},
    imdsTokens: spec.imdsTokens ?? 'optional',
  };
  if (spec.instanceId !== undefined) settings.instanceId = spec.instanceId;
  if (spec.role) settings.role = { ...generatedRoleKeys(), ...spec.role, scope: spec.role.scope ?? 'project' };
  return settings;
}

/** Temporary credentials shaped like STS's: `ASIA` keys, a 40-character secret, a long token. */
function generatedRoleKeys(): { accessKey: string; secretKey: string; sessionToken: string } {
  const upper = (n: number) => Array.from(randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
  return { accessKey: `ASIA${upper(16)}`, secretKey: randomBytes(30).toString('base64'), sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(180).toString('base64')}` };
}

/** `i-` and 17 hex digits derived from `seed`: an instance resource's default physical id in EC2 mode. */
export function stableInstanceId(seed: string): string {
  return `i-${createHash('sha1').update(seed).digest('hex').slice(0, 17)}`;
}
