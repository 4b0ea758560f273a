/**
 * aws-cfn-bootstrap's endpoint table (its endpoints.json): host names its
 * tools recognise as a service's, each with the region it signs for. The
 * built-in table is wholly replaced by $ENDPOINTS_OVERRIDE, else
 * `<cfn dir>/endpoints-override.json` when that exists, in the same format:
 *
 *   {"Services": {"AmazonS3": {"Endpoints": [
 *     {"Region": "us-east-1", "Hostname": "s3.amazonaws.com", "Default": true}, ...]}}}
 *
 * cfntools reads the AmazonS3 list (cfn-init's S3 URL recognition). Other
 * services (aws-cfn-bootstrap's AmazonSQS served its command hooks, which
 * cfntools does not run) are checked for shape and otherwise unused, so a
 * file written for aws-cfn-bootstrap works unchanged.
 */
import * as path from 'node:path';
import { ConfigError } from './errors';
import { readJsonFile } from './json-file';
import { cfnDir } from './paths';

export const S3_SERVICE = 'AmazonS3';
export const ENDPOINTS_OVERRIDE_FILE = 'endpoints-override.json';
/** aws-cfn-bootstrap's table is 3 KB; a megabyte is not an endpoint table. */
export const MAX_ENDPOINTS_FILE_BYTES = 1024 * 1024;

/** A host name of the table. */
export interface TableHost {
  /** `host` or `host:port`, lower case, compared with a URL's host[:port]. */
  hostname: string;
  region: string;
}

export interface EndpointTable {
  /** The override file, or `built-in`. */
  source: string;
  /** The AmazonS3 hosts; none when the table has no AmazonS3 list. */
  s3: readonly TableHost[];
}

/**
 * aws-cfn-bootstrap's own AmazonS3 list. Most of it the partition-aware host
 * patterns (shared/init/auth.ts) recognise anyway; it is kept whole so that
 * an override file means here what it means there.
 */
const BUILT_IN = {
  Services: {
    AmazonS3: {
      Endpoints: [
        { Region: 'us-east-1', Hostname: 's3.amazonaws.com', Default: true },
        { Region: 'us-east-1', Hostname: 's3-external-1.amazonaws.com' },
        { Region: 'us-east-1', Hostname: 's3-external-2.amazonaws.com' },
        { Region: 'us-gov-east-1', Hostname: 's3.us-gov-east-1.amazonaws.com' },
        { Region: 'us-gov-west-1', Hostname: 's3.us-gov-west-1.amazonaws.com' },
        { Region: 'us-iso-east-1', Hostname: 's3.us-iso-east-1.c2s.ic.gov' },
        { Region: 'us-iso-west-1', Hostname: 's3.us-iso-west-1.c2s.ic.gov' },
        { Region: 'us-isob-east-1', Hostname: 's3.us-isob-east-1.sc2s.sgov.gov' },
        { Region: 'cn-north-1', Hostname: 's3.cn-north-1.amazonaws.com.cn' },
        { Region: 'cn-northwest-1', Hostname: 's3.cn-northwest-1.amazonaws.com.cn' },
      ],
    },
  },
};

const ENTRY_KEYS = ['Region', 'Hostname', 'Default'];
const FORMAT = '{"Services": {"AmazonS3": {"Endpoints": [{"Region": ..., "Hostname": ...}]}}}';

let builtIn: EndpointTable | undefined;

export function builtInEndpointTable(): EndpointTable {
  builtIn ??= parseEndpointTable(BUILT_IN, 'built-in');
  return builtIn;
}

/**
 * The table in force: the override file when there is one, else the
 * built-in one. Throws ConfigError naming the file (and the key path) for
 * an override that cannot be read or is not a table; a missing
 * $ENDPOINTS_OVERRIDE file is an error too, since someone meant it to exist.
 */
export function loadEndpointTable(env: NodeJS.ProcessEnv = process.env): EndpointTable {
  const named = env.ENDPOINTS_OVERRIDE;
  const file = named || path.join(cfnDir(env), ENDPOINTS_OVERRIDE_FILE);
  const origin = named ? 'endpoints override given by ENDPOINTS_OVERRIDE' : 'endpoints override file';
  let read: { value: unknown } | undefined;
  try {
    read = readJsonFile(file, { what: `the ${origin}`, maxBytes: MAX_ENDPOINTS_FILE_BYTES });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read ${origin} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  if (read) return parseEndpointTable(read.value, file);
  if (!named) return builtInEndpointTable();
  throw new ConfigError(`cannot read ${origin} (ENOENT)`, file);
}

/** Check a parsed endpoints document; the first mistake is a ConfigError naming `source` and its key path. */
export function parseEndpointTable(doc: unknown, source: string): EndpointTable {
  const top = expectObject(doc, source, '', `an endpoint table ${FORMAT}`);
  checkKeys(top, ['Services'], source, '');
  if (top.Services === undefined) throw new ConfigError(`required; expected ${FORMAT}`, source, 'Services');
  const services = expectObject(top.Services, source, 'Services', 'an object of services like {"AmazonS3": {"Endpoints": [...]}}');
  let s3: TableHost[] = [];
  for (const [name, raw] of Object.entries(services)) {
    const at = `Services.${name}`;
    const service = expectObject(raw, source, at, 'an object like {"Endpoints": [...]}');
    checkKeys(service, ['Endpoints'], source, at);
    const list = service.Endpoints;
    if (!Array.isArray(list)) throw new ConfigError(`expected a list of {"Region": ..., "Hostname": ...}, got ${shown(list)}`, source, `${at}.Endpoints`);
    const hosts = list.map((entry, i) => parseEntry(entry, source, `${at}.Endpoints[${i}]`));
    if (name === S3_SERVICE) s3 = hosts;
  }
  return { source, s3 };
}

function parseEntry(raw: unknown, source: string, at: string): TableHost {
  const entry = expectObject(raw, source, at, 'an object like {"Region": "us-east-1", "Hostname": "s3.amazonaws.com"}');
  checkKeys(entry, ENTRY_KEYS, source, at);
  const region = entry.Region;
  if (typeof region !== 'string' || !/^[a-z0-9][a-z0-9-]*$/i.test(region)) {
    throw new ConfigError(`expected a region name like "us-east-1", got ${shown(region)}`, source, `${at}.Region`);
  }
  const hostname = typeof entry.Hostname === 'string' ? authorityOf(entry.Hostname) : undefined;
  if (hostname === undefined) {
    throw new ConfigError(`expected a host name like "s3.example.com" or "s3.example.com:8443" (no scheme or path), got ${shown(entry.Hostname)}`, source, `${at}.Hostname`);
  }
  // Default marks the host aws-cfn-bootstrap signs with SigV2; cfntools signs SigV4 for the Region everywhere, so it is only checked.
  if (entry.Default !== undefined && typeof entry.Default !== 'boolean') {
    throw new ConfigError(`expected true or false, got ${shown(entry.Default)}`, source, `${at}.Default`);
  }
  return { hostname, region };
}

/** `host` or `host:port` as a URL's host[:port] spells it (lower case, port without leading zeros); undefined for anything else. */
function authorityOf(s: string): string | undefined {
  if (!/^[^/?#@\s]+$/.test(s)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${s}`);
  } catch {
    return undefined;
  }
  const port = /:(\d+)$/.exec(s)?.[1];
  return url.hostname ? `${url.hostname}${port === undefined ? '' : `:${Number(port)}`}` : undefined;
}

function expectObject(value: unknown, source: string, at: string, what: string): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new ConfigError(`expected ${what}, got ${shown(value)}`, source, at || undefined);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], source: string, at: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new ConfigError(`unknown key; expected ${allowed.join(', ')}`, source, at ? `${at}.${k}` : k);
  }
}

/** A value for an error message: JSON, cut short. */
function shown(value: unknown): string {
  const s = value === undefined ? 'nothing' : JSON.stringify(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
