/**
 * The files Heat injects into an instance (heat/cloudinit part handler):
 * cfn-metadata-server, cfn-boto-cfg, the old cfn-watch-server, cfn-init-data.
 * Their directory is configurable (CFNTOOLS_HEAT_DIR) so tests never touch /var.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ini from 'ini';
import { ConfigError } from './errors';

export const DEFAULT_HEAT_DIR = '/var/lib/heat-cfntools';

export function heatDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_HEAT_DIR || DEFAULT_HEAT_DIR;
}

/** The `[Boto]` keys of cfn-boto-cfg that matter to us. */
export interface BotoConfig {
  isSecure?: boolean;
  validateCertificates?: boolean;
  caCertificatesFile?: string;
  cfnRegionName?: string;
  cfnRegionEndpoint?: string;
  cloudwatchRegionName?: string;
  cloudwatchRegionEndpoint?: string;
}

export interface HeatFiles {
  dir: string;
  /** cfn-metadata-server: the CFN API URL, e.g. `http://192.0.2.10:8000/v1/`. */
  metadataServer?: string;
  /** cfn-watch-server: the CloudWatch API URL (Heat before 10.0 wrote it). */
  watchServer?: string;
  boto?: BotoConfig;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function parseBool(value: unknown, file: string, key: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const v = String(value).trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new ConfigError(`expected a boolean (1/0, true/false), got ${JSON.stringify(value)}`, file, `Boto.${key}`);
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

export function parseBotoConfig(text: string, file: string): BotoConfig {
  const parsed = ini.parse(text) as Record<string, Record<string, unknown>>;
  const boto = parsed.Boto ?? parsed.boto ?? {};
  return {
    isSecure: parseBool(boto.is_secure, file, 'is_secure'),
    validateCertificates: parseBool(boto.https_validate_certificates, file, 'https_validate_certificates'),
    caCertificatesFile: str(boto.ca_certificates_file),
    cfnRegionName: str(boto.cfn_region_name),
    cfnRegionEndpoint: str(boto.cfn_region_endpoint),
    cloudwatchRegionName: str(boto.cloudwatch_region_name),
    cloudwatchRegionEndpoint: str(boto.cloudwatch_region_endpoint),
  };
}

function readOptional(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read: ${(err as Error).message}`, file);
  }
}

export function readHeatFiles(dir = heatDir()): HeatFiles {
  const metadataServer = str(readOptional(path.join(dir, 'cfn-metadata-server')));
  const watchServer = str(readOptional(path.join(dir, 'cfn-watch-server')));
  const botoFile = path.join(dir, 'cfn-boto-cfg');
  const botoText = readOptional(botoFile);
  return {
    dir,
    metadataServer,
    watchServer,
    boto: botoText === undefined ? undefined : parseBotoConfig(botoText, botoFile),
  };
}
