/**
 * EC2 mode at run time: the instance the metadata service plays (switchable,
 * so that a test can play one outside every stack), its identity document
 * and signature, whether IMDSv2 tokens are required, which instances belong
 * to which stack, and the AWS names (stack ARNs, IAM principals) the
 * CloudFormation side answers with.
 */
import { EC2_INSTANCE, type Credential, type Model, type StackState } from './model';
import { identityDocument, IdentitySigner, type InstanceFacts } from './instance-identity';
import { isoSeconds } from './signing';
import { type Ec2Settings, type ImdsTokens, INSTANCE_ID_RE, type RoleScope, stableInstanceId } from './stackfile-ec2';

/** A change at run time (admin API `PUT /_emulator/ec2`); keys left out stay. */
export interface Ec2Change {
  /** The instance the metadata service plays from now on: a member of a stack or not. */
  instanceId?: string;
  imdsTokens?: ImdsTokens;
}

export interface Ec2View {
  region: string;
  accountId: string;
  availabilityZone: string;
  /** The metadata service's base URL (AWS_EC2_METADATA_SERVICE_ENDPOINT). */
  imdsUrl: string;
  /** The instance the metadata service plays. */
  instanceId: string;
  /** The stack it belongs to; null for none. */
  instanceStack: string | null;
  imdsTokens: ImdsTokens;
  /** Stack name → its member instances (its AWS::EC2::Instance resources' physical ids, then `ec2.members`). */
  members: Record<string, string[]>;
  /** The attached role, without its secrets. */
  role: { name: string; accessKey: string; scope: RoleScope } | null;
  /** SPKI PEM of the key `/signature` is made with. */
  identityPublicKeyPem: string;
}

/** A change EC2 mode refuses, or EC2 mode asked for while it is off. */
export class Ec2ModeError extends Error {}

export class Ec2Mode {
  readonly signer = new IdentitySigner();
  private instanceId = '';
  private imdsTokens: ImdsTokens = 'optional';
  /** The identity answers of the instance played: the document and its signature. */
  private identityCache?: { instanceId: string; document: string; signature: string };

  constructor(
    readonly settings: Ec2Settings,
    private readonly model: Model,
    /** Launch time of every instance (the document's pendingTime). */
    private readonly launchedAt: number,
  ) {
    this.reset();
  }

  /** Back to the settings: their instance (else the first stack's first instance) and token mode. */
  reset(): void {
    const firstInstance = [...this.model.stacks.values()].flatMap((s) => [...s.resources.values()]).find((r) => r.type === EC2_INSTANCE);
    this.instanceId = this.settings.instanceId ?? firstInstance?.physicalId ?? stableInstanceId('cfntools-emulator');
    this.imdsTokens = this.settings.imdsTokens;
  }

  get tokens(): ImdsTokens {
    return this.imdsTokens;
  }

  get instance(): InstanceFacts {
    const s = this.settings;
    return {
      accountId: s.accountId,
      region: s.region,
      availabilityZone: s.availabilityZone,
      instanceId: this.instanceId,
      instanceType: s.instanceType,
      imageId: s.imageId,
      pendingTime: isoSeconds(this.launchedAt),
    };
  }

  /** The `/document` and `/signature` bodies of the instance played. */
  identity(): { document: string; signature: string } {
    if (this.identityCache?.instanceId !== this.instanceId) {
      const document = identityDocument(this.instance);
      this.identityCache = { instanceId: this.instanceId, document, signature: this.signer.signature(document) };
    }
    return this.identityCache;
  }

  change(change: unknown): void {
    if (change === null || typeof change !== 'object' || Array.isArray(change)) throw new Ec2ModeError('expected {"instanceId": "i-...", "imdsTokens": "optional" | "required"}');
    const { instanceId, imdsTokens, ...rest } = change as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length) throw new Ec2ModeError(`${unknown[0]}: unknown key (expected instanceId, imdsTokens)`);
    if (instanceId !== undefined && (typeof instanceId !== 'string' || !INSTANCE_ID_RE.test(instanceId))) {
      throw new Ec2ModeError(`instanceId: expected an EC2 instance id like i-0123456789abcdef0, got ${JSON.stringify(instanceId)}`);
    }
    if (imdsTokens !== undefined && imdsTokens !== 'optional' && imdsTokens !== 'required') throw new Ec2ModeError(`imdsTokens: expected optional or required, got ${JSON.stringify(imdsTokens)}`);
    if (instanceId !== undefined) this.instanceId = instanceId;
    if (imdsTokens !== undefined) this.imdsTokens = imdsTokens;
  }

  /** `arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>` */
  stackArn(stack: StackState): string {
    return `arn:aws:cloudformation:${this.settings.region}:${this.settings.accountId}:stack/${stack.stackName}/${stack.stackId}`;
  }

  /** `StackName` as CloudFormation takes it: the name, or the stack's ARN. */
  findStack(nameOrArn: string): StackState | undefined {
    const arn = /^arn:aws:cloudformation:([^:]*):([^:]*):stack\/([^/]+)\/(.+)$/.exec(nameOrArn);
    if (!arn) return this.model.stacks.get(nameOrArn);
    const stack = this.model.stacks.get(arn[3]);
    return stack && this.stackArn(stack) === nameOrArn ? stack : undefined;
  }

  /** The stack's instances, from its resources as they are now (a stack update may give one a new physical id). */
  members(stack: StackState): string[] {
    const own = [...stack.resources.values()].filter((r) => r.type === EC2_INSTANCE).map((r) => r.physicalId);
    return [...new Set([...own, ...(this.settings.members[stack.stackName] ?? [])])];
  }

  isMember(instanceId: string, stack: StackState): boolean {
    return this.members(stack).includes(instanceId);
  }

  /** Who a key is in IAM's refusals: the role's session on the instance played, else a user named for the key. */
  principal(cred: Credential): string {
    const { accountId, role } = this.settings;
    if (role && cred.accessKey === role.accessKey) return `arn:aws:sts::${accountId}:assumed-role/${role.name}/${this.instanceId}`;
    return `arn:aws:iam::${accountId}:user/${cred.accessKey}`;
  }

  view(imdsUrl: string): Ec2View {
    const s = this.settings;
    const members = Object.fromEntries([...this.model.stacks.values()].map((st) => [st.stackName, this.members(st)]));
    return {
      region: s.region,
      accountId: s.accountId,
      availabilityZone: s.availabilityZone,
      imdsUrl,
      instanceId: this.instanceId,
      instanceStack: Object.keys(members).find((name) => members[name].includes(this.instanceId)) ?? null,
      imdsTokens: this.imdsTokens,
      members,
      role: s.role ? { name: s.role.name, accessKey: s.role.accessKey, scope: s.role.scope } : null,
      identityPublicKeyPem: this.signer.publicKeyPem,
    };
  }
}
