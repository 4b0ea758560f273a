/**
 * What a networked tool is set to do, whatever it was set from: the CLI
 * layer builds these from flags (cli-options.ts), a daemon from its
 * configuration file. ToolContext takes nothing else.
 */
import type { Level } from './log';

export interface CredentialSettings {
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** A file of AWSAccessKeyId=/AWSSecretKey= lines. */
  credentialFile?: string;
  /** An instance role, through the metadata service. */
  role?: string;
}

export interface TransportSettings {
  /** --http-proxy: wins over the environment; '' means no proxy, whatever the environment says. */
  httpProxy?: string;
  /** --https-proxy, likewise. */
  httpsProxy?: string;
  /** A PEM file to trust besides the system's: --ca-bundle; over AWS_CA_BUNDLE and the CA override (shared/tls.ts). */
  caBundle?: string;
  /** --insecure: no certificate verification (only when asked). */
  insecure?: boolean;
}

export interface LogSettings {
  /** `-` for stderr. */
  file: string;
  level: Level;
  /** Also echo lines at this level or above to stderr. */
  stderrLevel?: Level;
  /** The level on stderr when the file cannot be opened; default `level`. */
  fallbackLevel?: Level;
}

export interface ToolSettings {
  credentials: CredentialSettings;
  endpoint: { url?: string; region?: string };
  signatureVersion: 2 | 4;
  transport: TransportSettings;
  /** Seconds to keep retrying one request, backoff included; undefined: the attempt bound alone. */
  retrySeconds?: number;
  log: LogSettings;
}
