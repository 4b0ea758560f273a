/**
 * Client for the instance metadata service: EC2's IMDS and OpenStack nova's
 * metadata service, both at 169.254.169.254. Used for instance-role
 * credentials, and by cfn-signal/cfn-push-stats for the instance id and
 * nova's meta_data.json.
 *
 * - IMDSv2 first (a session token from PUT /latest/api/token, reused until
 *   shortly before its TTL ends), IMDSv1 when v2 is unavailable: OpenStack
 *   and older EC2 setups do not know the token call, while EC2 instances with
 *   HttpTokens=required answer 401 to v1 (aws-cfn-bootstrap 1.4 failed there).
 * - Never through a proxy: plain node:http with `agent: false`, so neither
 *   HTTP_PROXY nor any shared agent applies. A proxied token request is a
 *   known aws-cfn-bootstrap failure behind proxies.
 * - Short timeouts and a few jittered retries: off-cloud or on a broken
 *   network the service may never answer, and boot must not hang on it.
 * - AWS_EC2_METADATA_SERVICE_ENDPOINT moves it (tests point it at loopback),
 *   AWS_EC2_METADATA_DISABLED=true turns it off without any traffic.
 */
import * as http from 'node:http';
import { backoffDelay, isRetryableNetworkCode } from '../backoff';
import { CfnError, ConfigError, CredentialError, errorMessage } from '../errors';
import { jsonSyntaxProblem } from '../json-file';
import { nullLogger, type Logger } from '../log';
import { registerSecret } from '../redact';
import type { Credentials } from './types';

export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
const IPV6_IMDS_ENDPOINT = 'http://[fd00:ec2::254]';
export const TOKEN_PATH = '/latest/api/token';
export const ROLE_LIST_PATH = '/latest/meta-data/iam/security-credentials/';
export const INSTANCE_ID_PATH = '/latest/meta-data/instance-id';
export const OPENSTACK_METADATA_PATH = '/openstack/latest/meta_data.json';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
/** Metadata documents are small; anything larger is not the metadata service. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * - `disabled`: AWS_EC2_METADATA_DISABLED=true; nothing was sent.
 * - `unreachable`: no answer (refused, timed out) after the retries.
 * - `not-found`: HTTP 404, or the document lacks what was asked for.
 * - `http`: any other unexpected status.
 * - `protocol`: an answer we cannot parse.
 */
export type ImdsErrorReason = 'disabled' | 'unreachable' | 'not-found' | 'http' | 'protocol';

export class ImdsError extends CfnError {
  constructor(
    message: string,
    readonly reason: ImdsErrorReason,
    /** Metadata path asked for, e.g. `/latest/meta-data/instance-id`. */
    readonly path?: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isImdsNotFound(err: unknown): err is ImdsError {
  return err instanceof ImdsError && err.reason === 'not-found';
}

export interface ImdsOptions {
  /** Where AWS_EC2_METADATA_* are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Per attempt, connect + answer; default 1000. */
  timeoutMs?: number;
  /** Attempts per request on network errors and 5xx; default 3. */
  maxAttempts?: number;
  /** Full-jitter backoff base between attempts; default 200. */
  retryBaseDelayMs?: number;
  /** TTL asked for the IMDSv2 token; default 21600 (6 h, the maximum). */
  tokenTtlSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** Nova's `openstack/latest/meta_data.json`: the fields the tools use, and the rest. */
export interface OpenStackMetadata {
  uuid?: string;
  name?: string;
  hostname?: string;
  availability_zone?: string;
  project_id?: string;
  /** Server metadata: Heat puts `metering.stack`, `AutoScalingGroupName` here. */
  meta?: Record<string, string>;
  [key: string]: unknown;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The endpoint to use, or undefined when the metadata service is disabled. */
export function imdsEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined;
  const raw = env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim();
  if (!raw) {
    return (env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE ?? '').trim().toLowerCase() === 'ipv6' ? IPV6_IMDS_ENDPOINT : DEFAULT_IMDS_ENDPOINT;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new ConfigError(`AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL: ${raw} (${errorMessage(err)})`);
  }
  if (url.protocol !== 'http:') throw new ConfigError(`AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http:// URL, got ${raw}`);
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

/** Parse the JSON of `/latest/meta-data/iam/security-credentials/<role>`. */
export function parseRoleCredentials(text: string, role: string): Credentials {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CredentialError(`credentials of instance role ${role} from the metadata service are ${jsonSyntaxProblem(text)}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CredentialError(`credentials of instance role ${role} from the metadata service are not a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  const str = (k: string) => (typeof d[k] === 'string' && d[k] ? (d[k] as string) : undefined);
  // Before any check can fail, so no later message or log can show them.
  registerSecret(str('SecretAccessKey'));
  registerSecret(str('Token'));
  if (d.Code !== 'Success') {
    const detail = [str('Code') ?? 'no Code', str('Message')].filter(Boolean).join(': ');
    throw new CredentialError(`the metadata service has no usable credentials for instance role ${role} (${detail})`);
  }
  const accessKeyId = str('AccessKeyId');
  const secretAccessKey = str('SecretAccessKey');
  if (!accessKeyId || !secretAccessKey) {
    throw new CredentialError(`credentials of instance role ${role} from the metadata service lack AccessKeyId or SecretAccessKey`);
  }
  const creds: Credentials = { accessKeyId, secretAccessKey, source: `role ${role}` };
  const token = str('Token');
  if (token) creds.sessionToken = token;
  const exp = str('Expiration');
  if (exp) {
    const t = Date.parse(exp);
    if (Number.isNaN(t)) throw new CredentialError(`credentials of instance role ${role}: Expiration is not a date: ${exp}`);
    creds.expiration = new Date(t);
  }
  return creds;
}

export class ImdsClient {
  /** Base URL without a trailing slash; undefined when disabled. */
  readonly endpoint: string | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly tokenTtlSeconds: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  private token: { value: string; refreshAt: number } | undefined;
  private tokenFetch: Promise<string | undefined> | undefined;
  /** Set once v2 proved unavailable, so later calls skip the token request. A 401 clears it. */
  private v1Only = false;
  /** Why the last token request failed, for the message of a final 401. */
  private tokenProblem: string | undefined;

  constructor(opts: ImdsOptions = {}) {
    this.endpoint = imdsEndpoint(opts.env ?? process.env);
    this.logger = opts.logger ?? nullLogger;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.retryBaseDelayMs = opts.retryBaseDelayMs ?? 200;
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 21600;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  get disabled(): boolean {
    return this.endpoint === undefined;
  }

  /** GET a metadata path (starting with `/`). A 404 is an ImdsError with reason `not-found`. */
  async get(path: string): Promise<string> {
    const base = this.enabledEndpoint(path);
    let renewed = false;
    for (;;) {
      const token = await this.currentToken(renewed);
      const res = await this.send(base, 'GET', path, token ? { [TOKEN_HEADER]: token } : {});
      this.logger.debug(`metadata service GET ${path}: HTTP ${res.status}${token ? '' : ' (IMDSv1)'}`);
      if (res.status === 200) return res.body;
      // 401: our token expired or was revoked early, or v1 was refused (HttpTokens=required). One fresh token, once.
      if (res.status === 401 && !renewed) {
        renewed = true;
        this.token = undefined;
        this.v1Only = false;
        continue;
      }
      throw this.statusError(base, path, res.status, token !== undefined);
    }
  }

  /** The instance's role: the first line of the security-credentials listing. */
  async roleName(): Promise<string> {
    let listing: string;
    try {
      listing = await this.get(ROLE_LIST_PATH);
    } catch (err) {
      if (isImdsNotFound(err)) throw new ImdsError('no instance role is attached to this instance', 'not-found', ROLE_LIST_PATH, 404, { cause: err });
      throw err;
    }
    const name = listing.split(/\r?\n/).map((l) => l.trim()).find(Boolean);
    if (!name) throw new ImdsError('no instance role is attached to this instance (empty role listing)', 'not-found', ROLE_LIST_PATH);
    return name;
  }

  /** Temporary credentials of `role`, or of the instance's attached role. */
  async roleCredentials(role?: string): Promise<Credentials> {
    const name = role ?? (await this.roleName());
    const path = ROLE_LIST_PATH + encodeURIComponent(name);
    let text: string;
    try {
      text = await this.get(path);
    } catch (err) {
      if (isImdsNotFound(err)) {
        throw new ImdsError(`the metadata service has no credentials for instance role ${name} (is it the role attached to this instance?)`, 'not-found', path, 404, { cause: err });
      }
      throw err;
    }
    return parseRoleCredentials(text, name);
  }

  /** EC2's instance id, else nova's instance uuid. */
  async instanceId(): Promise<string> {
    try {
      const id = (await this.get(INSTANCE_ID_PATH)).trim();
      if (id) return id;
    } catch (err) {
      if (!isImdsNotFound(err)) throw err;
      this.logger.debug(`no ${INSTANCE_ID_PATH}; trying ${OPENSTACK_METADATA_PATH}`);
    }
    const meta = await this.openstackMetadata();
    if (typeof meta?.uuid === 'string' && meta.uuid) return meta.uuid;
    throw new ImdsError(
      `the metadata service at ${this.endpoint} gives no instance id (no ${INSTANCE_ID_PATH}, no uuid in ${OPENSTACK_METADATA_PATH})`,
      'not-found',
      INSTANCE_ID_PATH,
    );
  }

  /** Nova's meta_data.json, or undefined where there is none (EC2). */
  async openstackMetadata(): Promise<OpenStackMetadata | undefined> {
    let text: string;
    try {
      text = await this.get(OPENSTACK_METADATA_PATH);
    } catch (err) {
      if (isImdsNotFound(err)) return undefined;
      throw err;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ImdsError(`${OPENSTACK_METADATA_PATH} from the metadata service is ${jsonSyntaxProblem(text)}`, 'protocol', OPENSTACK_METADATA_PATH, 200, { cause: err });
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new ImdsError(`${OPENSTACK_METADATA_PATH} from the metadata service is not a JSON object`, 'protocol', OPENSTACK_METADATA_PATH, 200);
    }
    return doc as OpenStackMetadata;
  }

  private enabledEndpoint(path: string): string {
    if (this.endpoint === undefined) {
      throw new ImdsError('the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED=true)', 'disabled', path);
    }
    return this.endpoint;
  }

  private statusError(base: string, path: string, status: number, sentToken: boolean): ImdsError {
    if (status === 404) return new ImdsError(`the metadata service at ${base} has no ${path} (HTTP 404)`, 'not-found', path, status);
    let msg = `the metadata service at ${base} answered GET ${path} with HTTP ${status}`;
    if (status === 401) {
      msg += sentToken
        ? ' even with a fresh IMDSv2 token'
        : `: it requires an IMDSv2 token, but none could be obtained (${this.tokenProblem ?? 'unknown reason'})`;
    }
    return new ImdsError(msg, 'http', path, status);
  }

  /** The token to send, or undefined for IMDSv1. `force` ignores the cached token and the v1 decision. */
  private currentToken(force: boolean): Promise<string | undefined> {
    if (!force) {
      if (this.v1Only) return Promise.resolve(undefined);
      if (this.token && this.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    }
    // Concurrent callers share one token request.
    this.tokenFetch ??= this.fetchToken().finally(() => {
      this.tokenFetch = undefined;
    });
    return this.tokenFetch;
  }

  /**
   * One attempt, no retries: an unanswered token request is the signature
   * of a hop limit too low for a container (the PUT answer is dropped,
   * while v1 GETs still work), so retrying only delays the v1 fallback.
   */
  private async fetchToken(): Promise<string | undefined> {
    const base = this.enabledEndpoint(TOKEN_PATH);
    let res: RawResponse;
    try {
      res = await this.attempt(base, 'PUT', TOKEN_PATH, { [TTL_HEADER]: String(this.tokenTtlSeconds) });
    } catch (err) {
      const timedOut = (err as NodeJS.ErrnoException).code === 'ETIMEDOUT';
      this.fallBackToV1(
        timedOut
          ? `IMDSv2 token request got no answer within ${this.timeoutMs} ms; if this runs in a container, ` +
              `the instance's metadata hop limit (HttpPutResponseHopLimit) may be too low, raise it to 2`
          : `IMDSv2 token request failed: ${errorMessage(err)}`,
      );
      return undefined;
    }
    const value = res.body.trim();
    if (res.status === 200 && value) {
      registerSecret(value);
      const granted = Number(res.headers[TTL_HEADER]);
      const ttlMs = (Number.isFinite(granted) && granted > 0 ? granted : this.tokenTtlSeconds) * 1000;
      // Renew a little early so a token never expires between our check and the server's.
      this.token = { value, refreshAt: this.now() + ttlMs - Math.min(60_000, ttlMs / 4) };
      this.v1Only = false;
      this.tokenProblem = undefined;
      this.logger.debug(`metadata service: got an IMDSv2 token (TTL ${ttlMs / 1000} s)`);
      return value;
    }
    // 403: IMDSv2 turned off; 404/405: a service without v2 (OpenStack nova, old EC2 emulations).
    const known = res.status === 403 || res.status === 404 || res.status === 405;
    this.fallBackToV1(`IMDSv2 token request answered HTTP ${res.status}${known ? ' (IMDSv2 not available)' : ''}`);
    return undefined;
  }

  private fallBackToV1(why: string): void {
    this.tokenProblem = why;
    this.v1Only = true;
    this.token = undefined;
    this.logger.debug(`metadata service: ${why}; using IMDSv1`);
  }

  /** A request with bounded, jittered retries on network errors, 429 and 5xx. */
  private async send(base: string, method: string, path: string, headers: Record<string, string>): Promise<RawResponse> {
    const policy = { maxAttempts: this.maxAttempts, baseDelayMs: this.retryBaseDelayMs, maxDelayMs: 2000 };
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      try {
        const res = await this.attempt(base, method, path, headers);
        if (res.status < 500 && res.status !== 429) return res;
        if (attempt >= this.maxAttempts) {
          throw new ImdsError(`the metadata service at ${base} answered ${method} ${path} with HTTP ${res.status} (${attempt} attempts)`, 'http', path, res.status);
        }
        failure = `HTTP ${res.status}`;
      } catch (err) {
        if (err instanceof ImdsError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (attempt >= this.maxAttempts || !isRetryableNetworkCode(code)) {
          throw new ImdsError(
            `the metadata service at ${base} is unreachable: ${method} ${path}: ${errorMessage(err)} (${attempt} attempt${attempt > 1 ? 's' : ''})`,
            'unreachable',
            path,
            undefined,
            { cause: err },
          );
        }
        failure = errorMessage(err);
      }
      const delay = backoffDelay(attempt - 1, policy, this.random);
      this.logger.debug(`metadata service ${method} ${path}: ${failure}; retrying in ${delay} ms`);
      await this.sleep(delay);
    }
  }

  private attempt(base: string, method: string, path: string, headers: Record<string, string>): Promise<RawResponse> {
    const url = new URL(base + path);
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = http.request({
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 80,
        path: url.pathname + url.search,
        method,
        headers: method === 'PUT' ? { ...headers, 'content-length': '0' } : headers,
        // A private agent per request: never a proxying or shared global agent.
        agent: false,
      });
      const timer = setTimeout(() => {
        const err: NodeJS.ErrnoException = new Error(`no answer within ${this.timeoutMs} ms`);
        err.code = 'ETIMEDOUT';
        req.destroy(err);
      }, this.timeoutMs);
      req.on('error', (err) => settle(() => reject(err)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new ImdsError(`the metadata service's answer to ${method} ${path} is larger than ${MAX_BODY_BYTES} bytes`, 'protocol', path, res.statusCode));
          else chunks.push(c);
        });
        res.on('error', (err) => settle(() => reject(err)));
        // A no-op after 'end'; otherwise the connection died mid-answer.
        res.on('close', () => settle(() => reject(Object.assign(new Error('connection closed before the answer ended'), { code: 'ECONNRESET' }))));
        res.on('end', () =>
          settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })),
        );
      });
      req.end();
    });
  }
}
