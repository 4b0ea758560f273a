export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials (instance role) stop working. */
  expiration?: Date;
  /** Where they came from, for logs: `--access-key`, `file /etc/cfn/cfn-credentials`, `env`, `role web`. */
  source: string;
}

/** Something that yields current credentials, refreshing them when needed. */
export interface CredentialProvider {
  get(): Promise<Credentials>;
}

/** EC2's signed instance identity, as CloudFormation's CFN_V1 scheme sends it. */
export interface InstanceIdentity {
  /** The identity document, trailing whitespace removed (the signature covers these bytes). */
  document: string;
  /** Its base64 RSA signature, on one line. */
  signature: string;
  instanceId: string;
  /** For logs: `instance identity of i-0123456789abcdef0`. */
  source: string;
}

/** What a request is signed with: keys (SigV4/SigV2), or the instance identity (CFN_V1, CloudFormation only). */
export type SigningIdentity =
  | { kind: 'keys'; credentials: Credentials }
  | { kind: 'instance-identity'; identity: InstanceIdentity };

export interface SigningIdentityProvider {
  get(): Promise<SigningIdentity>;
}
