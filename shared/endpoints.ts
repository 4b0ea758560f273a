/**
 * Endpoint discovery: `--url` wins; else the files Heat injected; else the
 * AWS endpoint of the region. Also picks the SigV4 scope region: keystone
 * accepts any non-empty scope, AWS needs the real region.
 */
import { ConfigError } from './errors';
import type { HeatFiles } from './heat-files';
import { partitionOf, regionInDomain, splitAwsHost } from './partitions';

export type Service = 'cloudformation' | 'monitoring';

export interface Endpoint {
  /** Base URL of the Query API, always ending in `/`. */
  url: string;
  /** Region for the SigV4 credential scope. */
  region: string;
  service: Service;
  /** Where the URL came from, for logs and errors. */
  source: string;
  /** TLS settings Heat's cfn-boto-cfg asked for (CLI flags override them). */
  insecure?: boolean;
  caBundle?: string;
}

export interface EndpointOptions {
  service: Service;
  url?: string;
  region?: string;
  env?: NodeJS.ProcessEnv;
  heat?: HeatFiles;
}

/** Heat's API ports: heat-api-cfn 8000, the removed heat-api-cloudwatch 8003. */
const HEAT_PORT: Record<Service, number> = { cloudformation: 8000, monitoring: 8003 };
const DEFAULT_REGION = 'us-east-1';

/** `https://<service>.<region>.<the region's partition's domain>/`. */
export function awsEndpoint(service: Service, region: string): string {
  return `https://${service}.${region}.${partitionOf(region).dnsSuffix}/`;
}

/** Parse and normalise a base URL: http(s) only, path ending in `/`. */
export function normaliseBaseUrl(raw: string, what: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new ConfigError(`expected an http(s) URL, got ${JSON.stringify(raw.trim())}`, undefined, what);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`expected an http(s) URL, got scheme ${u.protocol}`, undefined, what);
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.search = '';
  u.hash = '';
  return u.toString();
}

/**
 * `cloudformation.eu-west-1.amazonaws.com` → `eu-west-1`, in any partition;
 * undefined when the region is not one of that domain's (`….us-iso-east-1.amazonaws.com`).
 */
export function regionFromAwsHost(host: string): string | undefined {
  const split = splitAwsHost(host);
  const m = split && /^(?:cloudformation|monitoring)(?:-fips)?\.([a-z0-9-]+)$/.exec(split.label);
  return m && regionInDomain(m[1], split.partition) ? m[1] : undefined;
}

export function resolveEndpoint(opts: EndpointOptions): Endpoint {
  const env = opts.env ?? process.env;
  const { service, heat } = opts;
  const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const boto = heat?.boto;
  const heatRegion = service === 'cloudformation' ? boto?.cfnRegionName : boto?.cloudwatchRegionName;
  const tls = { insecure: boto?.validateCertificates === false ? true : undefined, caBundle: boto?.caCertificatesFile };

  if (opts.url) {
    const url = normaliseBaseUrl(opts.url, '--url');
    const region = opts.region || regionFromAwsHost(new URL(url).hostname) || envRegion || DEFAULT_REGION;
    return { url, region, service, source: '--url' };
  }

  const heatUrlFile = service === 'cloudformation' ? heat?.metadataServer : heat?.watchServer;
  if (heat && heatUrlFile) {
    const file = `${heat.dir}/${service === 'cloudformation' ? 'cfn-metadata-server' : 'cfn-watch-server'}`;
    const url = normaliseBaseUrl(heatUrlFile, file);
    return { url, region: heatRegion || opts.region || 'heat', service, source: file, ...tls };
  }
  const heatHost = service === 'cloudformation' ? boto?.cfnRegionEndpoint : boto?.cloudwatchRegionEndpoint;
  if (heat && heatHost) {
    const scheme = boto?.isSecure ? 'https' : 'http';
    const url = normaliseBaseUrl(`${scheme}://${heatHost}:${HEAT_PORT[service]}/v1/`, `${heat.dir}/cfn-boto-cfg`);
    return { url, region: heatRegion || opts.region || 'heat', service, source: `${heat.dir}/cfn-boto-cfg`, ...tls };
  }

  const region = opts.region || envRegion || DEFAULT_REGION;
  const source = opts.region ? '--region' : envRegion ? 'AWS_REGION' : `default region ${DEFAULT_REGION}`;
  return { url: awsEndpoint(service, region), region, service, source };
}
