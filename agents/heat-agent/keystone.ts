/**
 * Keystone v3 as Heat's in-instance agents use it: password auth with a
 * user id (Heat's stack users live in its own domain, so a name alone
 * cannot be scoped), a token scoped to a project id, and the service
 * endpoints of that token's catalog. The token and the password are masked
 * in every log line and error from the moment they are known.
 */
import { CfnError } from '../../shared/errors';
import type { HttpClient, RetryPolicy } from '../../shared/http';
import { registerSecret } from '../../shared/redact';

export class KeystoneError extends CfnError {}

export interface KeystoneCredentials {
  /** The identity endpoint, with or without its `/v3`. */
  authUrl: string;
  userId: string;
  password: string;
  projectId: string;
}

export interface CatalogEndpoint {
  interface?: string;
  url?: string;
  region?: string;
  region_id?: string;
}

export interface CatalogService {
  type?: string;
  endpoints?: CatalogEndpoint[];
}

export interface KeystoneToken {
  /** The X-Subject-Token: sent as X-Auth-Token. */
  id: string;
  /** When keystone says it expires (ms since the epoch), if it said. */
  expiresAt?: number;
  catalog: CatalogService[];
  /** The tokens URL it came from, for messages. */
  from: string;
}

/** Keystone's answer is a token and its catalog: kilobytes. */
const MAX_TOKEN_BODY_BYTES = 4 * 1024 * 1024;

/** `<auth_url>/auth/tokens`, adding the `/v3` Heat's URLs carry and a bare endpoint lacks. */
export function tokensUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
}

/** A project-scoped token for the user, with its catalog. */
export async function authenticate(http: HttpClient, creds: KeystoneCredentials, retry?: Partial<RetryPolicy>): Promise<KeystoneToken> {
  registerSecret(creds.password);
  const url = tokensUrl(creds.authUrl);
  const body = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { id: creds.userId, password: creds.password } } },
      scope: { project: { id: creds.projectId } },
    },
  });
  const res = await http.request({ method: 'POST', url, headers: { 'Content-Type': 'application/json' }, body }, { retry, maxBodyBytes: MAX_TOKEN_BODY_BYTES });
  const id = res.headers['x-subject-token'];
  if (typeof id !== 'string' || !id) throw new KeystoneError(`keystone at ${url} gave no X-Subject-Token`);
  registerSecret(id);
  let token: { catalog?: unknown; expires_at?: unknown } | undefined;
  try {
    token = (JSON.parse(res.body.toString('utf8')) as { token?: typeof token }).token;
  } catch {
    throw new KeystoneError(`keystone at ${url}: the token answer is not JSON`);
  }
  const expires = typeof token?.expires_at === 'string' ? Date.parse(token.expires_at) : NaN;
  return { id, expiresAt: Number.isNaN(expires) ? undefined : expires, catalog: Array.isArray(token?.catalog) ? (token.catalog as CatalogService[]) : [], from: url };
}

/**
 * The URL of a service type in the token's catalog (`orchestration`,
 * `messaging`...), in `region` when one is given: the public interface,
 * else the region's first. No trailing slash.
 */
export function endpointOf(token: KeystoneToken, type: string, region?: string): string {
  const endpoints = (token.catalog.find((s) => s?.type === type)?.endpoints ?? []).filter((e) => e && (!region || e.region === region || e.region_id === region));
  const endpoint = endpoints.find((e) => e.interface === 'public') ?? endpoints[0];
  if (typeof endpoint?.url !== 'string' || !endpoint.url) throw new KeystoneError(`keystone at ${token.from}: no ${type} endpoint${region ? ` in region ${region}` : ''} in the token's catalog`);
  return endpoint.url.replace(/\/+$/, '');
}
