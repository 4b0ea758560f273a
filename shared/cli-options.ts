/**
 * Flags every networked tool shares, spelled as both peers spell them, and
 * the step from parsed flags to the settings a ToolContext takes.
 */
import type { Options } from 'yargs';
import { UsageError } from './errors';
import type { LogSettings, ToolSettings } from './settings';

export const credentialOptions = {
  'credential-file': { alias: 'f', type: 'string', describe: 'file with AWSAccessKeyId=/AWSSecretKey= (and AWSSessionToken=) lines' },
  'access-key': { type: 'string', describe: 'access key id' },
  'secret-key': { type: 'string', describe: 'secret key (prefer --credential-file or AWS_SECRET_ACCESS_KEY: argv is visible to other users)' },
  'session-token': { type: 'string', describe: 'session token for temporary credentials' },
  role: { type: 'string', describe: 'instance role whose credentials to use (from the metadata service)' },
} as const satisfies Record<string, Options>;

export const connectionOptions = {
  'http-proxy': { type: 'string', describe: 'proxy for http URLs: [scheme://][user:password@]host:port' },
  'https-proxy': { type: 'string', describe: 'proxy for https URLs: [scheme://][user:password@]host:port' },
  'ca-bundle': { type: 'string', describe: 'PEM file of CA certificates to trust besides the system\'s (also AWS_CA_BUNDLE); without either, CA_OVERRIDE or /etc/cfn/ca-override.pem replaces the trust store' },
  insecure: { type: 'boolean', describe: 'do not verify TLS certificates' },
  'signature-version': { type: 'number', choices: [2, 4], default: 4, describe: 'request signing: SigV4 (default) or SigV2 HmacSHA256' },
  timeout: { type: 'number', describe: 'seconds to keep retrying a failing request' },
} as const satisfies Record<string, Options>;

export const endpointOptions = {
  url: { alias: 'u', type: 'string', describe: 'CloudFormation-compatible endpoint URL (heat-api-cfn: http://HOST:8000/v1/)' },
  region: { type: 'string', describe: 'region: picks the AWS endpoint and the signing scope' },
} as const satisfies Record<string, Options>;

export function loggingOptions(tool: string) {
  return {
    verbose: { alias: 'v', type: 'boolean', describe: 'log at DEBUG level' },
    'log-file': { type: 'string', default: `/var/log/${tool}.log`, describe: 'log file; - for stderr' },
  } as const satisfies Record<string, Options>;
}

/** The parsed values of the shared flags. */
export interface CommonArgs {
  'credential-file'?: string;
  'access-key'?: string;
  'secret-key'?: string;
  'session-token'?: string;
  role?: string;
  'http-proxy'?: string;
  'https-proxy'?: string;
  'ca-bundle'?: string;
  insecure?: boolean;
  'signature-version'?: number;
  timeout?: number;
  url?: string;
  region?: string;
  verbose?: boolean;
  'log-file'?: string;
}

function signatureVersion(args: CommonArgs): 2 | 4 {
  const v = args['signature-version'] ?? 4;
  if (v !== 2 && v !== 4) throw new UsageError(`--signature-version: expected 2 or 4, got ${v}`);
  return v;
}

/**
 * The settings the shared flags say. `log` overrides how the log is kept
 * (cfn-signal logs at DEBUG whatever -v says); by default the file of
 * --log-file at INFO, DEBUG with -v.
 */
export function settingsFromArgs(args: CommonArgs & { 'log-file': string }, log: Partial<LogSettings> = {}): ToolSettings {
  return {
    credentials: { accessKey: args['access-key'], secretKey: args['secret-key'], sessionToken: args['session-token'], credentialFile: args['credential-file'], role: args.role },
    endpoint: { url: args.url, region: args.region },
    signatureVersion: signatureVersion(args),
    transport: { httpProxy: args['http-proxy'], httpsProxy: args['https-proxy'], caBundle: args['ca-bundle'], insecure: args.insecure },
    retrySeconds: args.timeout,
    log: { file: args['log-file'], level: args.verbose ? 'DEBUG' : 'INFO', ...log },
  };
}
