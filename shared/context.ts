/**
 * From parsed command-line flags to what a networked tool works with: its
 * logger, credentials, endpoints and HTTP clients. Built once per run.
 */
import { CLOUDWATCH_API_VERSION } from './cloudwatch-api';
import { CFN_API_VERSION } from './cfn-api';
import { signatureVersion, type CommonArgs } from './cli-options';
import { credentialProvider } from './credentials/resolve';
import type { CredentialProvider } from './credentials/types';
import { resolveEndpoint, type Endpoint, type Service } from './endpoints';
import { readHeatFiles, heatDir, type HeatFiles } from './heat-files';
import { HttpClient, type TransportOptions } from './http';
import { FileLogger, type Logger } from './log';
import { QueryClient } from './query-api';

export interface ContextOptions {
  env?: NodeJS.ProcessEnv;
  /** Use this logger instead of opening the tool's log file (tests). */
  logger?: Logger;
}

export class ToolContext {
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly heat: HeatFiles;
  readonly credentials: CredentialProvider;
  private readonly clients = new Map<string, HttpClient>();

  constructor(readonly tool: string, readonly args: CommonArgs, opts: ContextOptions = {}) {
    this.env = opts.env ?? process.env;
    this.logger = opts.logger ?? new FileLogger({
      file: args['log-file'] ?? `/var/log/${tool}.log`,
      level: args.verbose ? 'DEBUG' : 'INFO',
    });
    this.heat = readHeatFiles(heatDir(this.env));
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
      const deadlineMs = this.args.timeout !== undefined ? this.args.timeout * 1000 : undefined;
      client = new HttpClient({ transport, logger: this.logger, retry: deadlineMs ? { deadlineMs } : undefined });
      this.clients.set(key, client);
    }
    return client;
  }

  queryClient(service: Service): QueryClient {
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
    if (this.logger instanceof FileLogger) this.logger.close();
  }
}
