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
