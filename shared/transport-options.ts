/**
 * How requests reach a server: trust (CA bundle, --insecure) and proxies.
 * A module of its own: the HTTP client, the proxy agents and the TLS
 * settings all read it, and a type must not make their imports a circle.
 */
export interface TransportOptions {
  /** path to a PEM file: --ca-bundle, else env AWS_CA_BUNDLE */
  caBundle?: string;
  /** --insecure: no certificate verification (only when asked) */
  insecure?: boolean;
  /** --http-proxy (wins over env; '' means no proxy) */
  httpProxy?: string;
  /** --https-proxy (wins over env; '' means no proxy) */
  httpsProxy?: string;
  /** where HTTP_PROXY/http_proxy, HTTPS_PROXY/https_proxy, NO_PROXY/no_proxy, AWS_CA_BUNDLE are read; default process.env */
  env?: NodeJS.ProcessEnv;
  /** System CA bundles to trust besides Node's roots (first existing wins); default SYSTEM_CA_FILES, [] for none. */
  systemCaFiles?: readonly string[];
}
