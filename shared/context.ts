/**
 * From a tool's settings (shared/settings.ts) to what it works with: its
 * logger, credentials, endpoints and HTTP clients. Built once per run, the
 * same way by every tool.
 *
 * The HTTP and Query API modules (node:http, TLS, proxy agents, the XML
 * parser) are loaded when a client is first asked for: cfn-init applying a
 * local file never pays for them, at start-up or in memory.
 */
import { credentialProvider, lazyImds, signingIdentityProvider, type CredentialOptions } from './credentials/resolve';
import type { CredentialProvider, SigningIdentityProvider } from './credentials/types';
import { resolveEndpoint, type Endpoint, type Service } from './endpoints';
import { readHeatFiles, type HeatFiles } from './heat-files';
import { heatDir } from './paths';
import type { HttpClient, RetryPolicy } from './http';
import type { TransportOptions } from './transport-options';
import { FileLogger } from './log';
import { registerSecret } from './redact';
import type { QueryClient } from './query-api';
import type { ToolSettings } from './settings';

export interface ContextOptions {
  env?: NodeJS.ProcessEnv;
  /** Retry policy for this tool's requests (cfn-signal retries until its --timeout). */
  retry?: Partial<RetryPolicy>;
}

export class ToolContext {
  readonly logger: FileLogger;
  readonly env: NodeJS.ProcessEnv;
  /** Keys, for any service. */
  readonly credentials: CredentialProvider;
  /** CloudFormation's: keys, or the instance identity (CFN_V1) where nothing was named. */
  readonly cloudFormationIdentity: SigningIdentityProvider;
  private readonly clients = new Map<string, HttpClient>();
  private readonly queryClients = new Map<Service, QueryClient>();
  private readonly retry?: Partial<RetryPolicy>;
  private heatFiles?: HeatFiles;

  constructor(
    readonly tool: string,
    readonly settings: ToolSettings,
    opts: ContextOptions = {},
  ) {
    // A plain copy: every spawn walks the whole environment, and process.env answers each key through a native call.
    this.env = opts.env ?? { ...process.env };
    this.retry = opts.retry;
    this.logger = new FileLogger(settings.log);
    const c = settings.credentials;
    // Known secrets are masked in every log line and error from the start, whether or not this run uses them:
    // a command run from a local file may print the environment.
    for (const secret of [c.secretKey, c.sessionToken, this.env.AWS_SECRET_ACCESS_KEY, this.env.AWS_SESSION_TOKEN]) registerSecret(secret?.trim());
    const credentialOptions: CredentialOptions = {
      accessKey: c.accessKey,
      secretKey: c.secretKey,
      sessionToken: c.sessionToken,
      credentialFile: c.credentialFile,
      role: c.role,
      env: this.env,
      logger: this.logger,
    };
    const imds = lazyImds(credentialOptions);
    this.credentials = credentialProvider(credentialOptions, imds);
    this.cloudFormationIdentity = signingIdentityProvider(credentialOptions, imds);
  }

  /** Heat's injected files, read when first needed (a tool given a full URL never needs them). */
  get heat(): HeatFiles {
    this.heatFiles ??= readHeatFiles(heatDir(this.env));
    return this.heatFiles;
  }

  endpoint(service: Service): Endpoint {
    return resolveEndpoint({ service, url: this.settings.endpoint.url, region: this.settings.endpoint.region, env: this.env, heat: this.heat });
  }

  /**
   * An HTTP client honouring the TLS and proxy flags; `hints` carries TLS
   * settings from Heat's cfn-boto-cfg, which flags override.
   */
  http(hints: { insecure?: boolean; caBundle?: string } = {}): HttpClient {
    const t = this.settings.transport;
    const transport: TransportOptions = {
      caBundle: t.caBundle ?? hints.caBundle,
      insecure: t.insecure ?? hints.insecure,
      httpProxy: t.httpProxy,
      httpsProxy: t.httpsProxy,
      env: this.env,
    };
    const key = JSON.stringify(transport.caBundle ?? null) + String(transport.insecure);
    let client = this.clients.get(key);
    if (!client) {
      const { HttpClient } = require('./http') as typeof import('./http');
      const deadlineMs = this.settings.retrySeconds !== undefined ? this.settings.retrySeconds * 1000 : undefined;
      client = new HttpClient({ transport, logger: this.logger, retry: { ...(deadlineMs ? { deadlineMs } : {}), ...this.retry } });
      this.clients.set(key, client);
    }
    return client;
  }

  /** The Query API client of `service`, made once: a daemon asks for it every check. */
  queryClient(service: Service): QueryClient {
    const made = this.queryClients.get(service);
    if (made) return made;
    const { QueryClient } = require('./query-api') as typeof import('./query-api');
    const { CFN_API_VERSION } = require('./cfn-api') as typeof import('./cfn-api');
    const { CLOUDWATCH_API_VERSION } = require('./cloudwatch-api') as typeof import('./cloudwatch-api');
    const endpoint = this.endpoint(service);
    this.logger.debug(`${service} endpoint ${endpoint.url} (from ${endpoint.source}), signing region ${endpoint.region}`);
    const client = new QueryClient({
      endpoint,
      credentials: this.credentials,
      ...(service === 'cloudformation' ? { identity: this.cloudFormationIdentity } : {}),
      http: this.http(endpoint),
      apiVersion: service === 'cloudformation' ? CFN_API_VERSION : CLOUDWATCH_API_VERSION,
      signatureVersion: this.settings.signatureVersion,
      method: service === 'cloudformation' ? 'GET' : 'POST',
    });
    this.queryClients.set(service, client);
    return client;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.logger.close();
  }
}
