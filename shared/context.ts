/**
 * From parsed command-line flags to what a networked tool works with: its
 * logger, credentials, endpoints and HTTP clients. Built once per run.
 *
 * The HTTP and Query API modules (node:http, TLS, proxy agents, the XML
 * parser) are loaded when a client is first asked for: cfn-init applying a
 * local file never pays for them, at start-up or in memory.
 */
import { signatureVersion, type CommonArgs } from './cli-options';
import { credentialProvider } from './credentials/resolve';
import type { CredentialProvider } from './credentials/types';
import { resolveEndpoint, type Endpoint, type Service } from './endpoints';
import { readHeatFiles, type HeatFiles } from './heat-files';
import { heatDir } from './paths';
import type { HttpClient, RetryPolicy, TransportOptions } from './http';
import { FileLogger, type Logger } from './log';
import { registerSecret } from './redact';
import type { QueryClient } from './query-api';

export interface ContextOptions {
  env?: NodeJS.ProcessEnv;
  /** Use this logger instead of opening the tool's log file; the caller keeps closing it. */
  logger?: Logger;
  /** Retry policy for this tool's requests (cfn-signal retries until its --timeout). */
  retry?: Partial<RetryPolicy>;
}

export class ToolContext {
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly credentials: CredentialProvider;
  private readonly clients = new Map<string, HttpClient>();
  private readonly ownsLogger: boolean;
  private readonly retry?: Partial<RetryPolicy>;
  private heatFiles?: HeatFiles;

  constructor(readonly tool: string, readonly args: CommonArgs, opts: ContextOptions = {}) {
    // A plain copy: every spawn walks the whole environment, and process.env answers each key through a native call.
    this.env = opts.env ?? { ...process.env };
    this.ownsLogger = !opts.logger;
    this.retry = opts.retry;
    this.logger = opts.logger ?? new FileLogger({
      file: args['log-file'] ?? `/var/log/${tool}.log`,
      level: args.verbose ? 'DEBUG' : 'INFO',
    });
    // Known secrets are masked in every log line and error from the start, whether or not this run uses them:
    // a command run from a local file may print the environment.
    for (const secret of [args['secret-key'], args['session-token'], this.env.AWS_SECRET_ACCESS_KEY, this.env.AWS_SESSION_TOKEN]) registerSecret(secret?.trim());
    this.credentials = credentialProvider({
      accessKey: args['access-key'],
      secretKey: args['secret-key'],
      sessionToken: args['session-token'],
      credentialFile: args['credential-file'],
      role: args.role,
      env: this.env,
      logger: this.logger,
    });
  }

  /** Heat's injected files, read when first needed (a tool given a full URL never needs them). */
  get heat(): HeatFiles {
    this.heatFiles ??= readHeatFiles(heatDir(this.env));
    return this.heatFiles;
  }

  endpoint(service: Service): Endpoint {
    return resolveEndpoint({ service, url: this.args.url, region: this.args.region, env: this.env, heat: this.heat });
  }

  /**
   * An HTTP client honouring the TLS and proxy flags; `hints` carries TLS
   * settings from Heat's cfn-boto-cfg, which flags override.
   */
  http(hints: { insecure?: boolean; caBundle?: string } = {}): HttpClient {
    const transport: TransportOptions = {
      caBundle: this.args['ca-bundle'] ?? hints.caBundle,
      insecure: this.args.insecure ?? hints.insecure,
      httpProxy: this.args['http-proxy'],
      httpsProxy: this.args['https-proxy'],
      env: this.env,
    };
    const key = JSON.stringify(transport.caBundle ?? null) + String(transport.insecure);
    let client = this.clients.get(key);
    if (!client) {
      const { HttpClient } = require('./http') as typeof import('./http');
      const deadlineMs = this.args.timeout !== undefined ? this.args.timeout * 1000 : undefined;
      client = new HttpClient({ transport, logger: this.logger, retry: { ...(deadlineMs ? { deadlineMs } : {}), ...this.retry } });
      this.clients.set(key, client);
    }
    return client;
  }

  queryClient(service: Service): QueryClient {
    const { QueryClient } = require('./query-api') as typeof import('./query-api');
    const { CFN_API_VERSION } = require('./cfn-api') as typeof import('./cfn-api');
    const { CLOUDWATCH_API_VERSION } = require('./cloudwatch-api') as typeof import('./cloudwatch-api');
    const endpoint = this.endpoint(service);
    this.logger.debug(`${service} endpoint ${endpoint.url} (from ${endpoint.source}), signing region ${endpoint.region}`);
    return new QueryClient({
      endpoint,
      credentials: this.credentials,
      http: this.http(endpoint),
      apiVersion: service === 'cloudformation' ? CFN_API_VERSION : CLOUDWATCH_API_VERSION,
      signatureVersion: signatureVersion(this.args),
      method: service === 'cloudformation' ? 'GET' : 'POST',
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    if (this.ownsLogger && this.logger instanceof FileLogger) this.logger.close();
  }
}
