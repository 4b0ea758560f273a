/**
 * The files Heat injects into an instance (heat/cloudinit part handler):
 * cfn-metadata-server, cfn-boto-cfg, the old cfn-watch-server, cfn-init-data.
 * Their directory is configurable (CFNTOOLS_HEAT_DIR) so tests never touch /var.
 */
import * as path from 'node:path';
import { ConfigError } from './errors';
import { IniFile } from './ini-file';
import { heatDir } from './paths';
import { readTextBounded } from './safe-open';

/** A URL or a boto configuration of a few lines. */
const MAX_HEAT_FILE_BYTES = 1024 * 1024;

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

export function parseBotoConfig(text: string, file: string): BotoConfig {
  const cfg = new IniFile(text, file);
  const boto = cfg.section('Boto', 'boto');
  return {
    isSecure: cfg.boolean(boto, 'is_secure'),
    validateCertificates: cfg.boolean(boto, 'https_validate_certificates'),
    caCertificatesFile: cfg.string(boto, 'ca_certificates_file'),
    cfnRegionName: cfg.string(boto, 'cfn_region_name'),
    cfnRegionEndpoint: cfg.string(boto, 'cfn_region_endpoint'),
    cloudwatchRegionName: cfg.string(boto, 'cloudwatch_region_name'),
    cloudwatchRegionEndpoint: cfg.string(boto, 'cloudwatch_region_endpoint'),
  };
}

/** The trimmed content of a one-line file; undefined when absent or empty. */
function readLine(file: string): string | undefined {
  const s = readOptional(file)?.trim();
  return s || undefined;
}

function readOptional(file: string): string | undefined {
  try {
    return readTextBounded(file, { what: "Heat's file", maxBytes: MAX_HEAT_FILE_BYTES });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read: ${(err as Error).message}`, file);
  }
}

export function readHeatFiles(dir = heatDir()): HeatFiles {
  const metadataServer = readLine(path.join(dir, 'cfn-metadata-server'));
  const watchServer = readLine(path.join(dir, 'cfn-watch-server'));
  const botoFile = path.join(dir, 'cfn-boto-cfg');
  const botoText = readOptional(botoFile);
  return {
    dir,
    metadataServer,
    watchServer,
    boto: botoText === undefined ? undefined : parseBotoConfig(botoText, botoFile),
  };
}
