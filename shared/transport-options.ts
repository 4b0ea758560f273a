/**
 * How requests reach a server: trust (CA bundle, --insecure) and proxies.
 * A module of its own: the HTTP client, the proxy agents and the TLS
 * settings all read it, and a type must not make their imports a circle.
 */
import type { TransportSettings } from './settings';

/** The settings, and where the environment and the system's CA bundles are read. */
export interface TransportOptions extends TransportSettings {
  /**
   * where HTTP_PROXY/http_proxy, HTTPS_PROXY/https_proxy, NO_PROXY/no_proxy, AWS_CA_BUNDLE, CA_OVERRIDE
   * and CFNTOOLS_CFN_DIR (the directory of ca-override.pem) are read; default process.env
   */
  env?: NodeJS.ProcessEnv;
  /** System CA bundles to trust besides Node's roots (first existing wins); default SYSTEM_CA_FILES, [] for none. */
  systemCaFiles?: readonly string[];
}
