/**
 * Keystone v3 password authentication as Heat's stack users do it (by user
 * id, scoped to the stack-user project), and the endpoints of the token's
 * catalog. A session keeps its token until shortly before it expires and
 * authenticates again once when a service answers 401 (a token revoked or
 * expired early), so a daemon polling every 30 s does not ask keystone each
 * time. The password and every token are masked in logs and errors.
 */
import { ApiError, CfnError, ProtocolError } from '../../shared/errors';
import type { HttpClient, RetryPolicy } from '../../shared/http';
import { registerSecret } from '../../shared/redact';

export interface KeystoneCredentials {
  /** `http://HOST:5000/v3/` as Heat hands it; a URL without a version gets `/v3`. */
  authUrl: string;
  userId: string;
  password: string;
  projectId: string;
  /** Picks the catalog's endpoints; none takes the first public one. */
  regionName?: string;
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
  id: string;
  catalog: CatalogService[];
  /** Epoch ms; Infinity when keystone gave no expiry. */
  expiresAt: number;
}

export class KeystoneError extends CfnError {}

/** A token is renewed this long before keystone says it expires (clock skew, a slow request). */
export const TOKEN_RENEW_MARGIN_MS = 5 * 60_000;
/** A token answer is a catalog of a few services: kilobytes. */
const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;

/** `<auth_url>/auth/tokens`, whatever the auth URL's trailing slash or version. */
export function tokensUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  if (/\/v3$/.test(base)) return `${base}/auth/tokens`;
  return `${base.replace(/\/v2\.0$/, '')}/v3/auth/tokens`;
}

/** The token's endpoint of `type`: public, in the region when one is named. */
export function catalogEndpoint(token: KeystoneToken, type: string, region?: string): string {
  const service = token.catalog.find((s) => s.type === type);
  const inRegion = (service?.endpoints ?? []).filter((e) => !region || e.region === region || e.region_id === region);
  const endpoint = inRegion.find((e) => e.interface === 'public') ?? inRegion[0];
  if (!endpoint?.url) throw new KeystoneError(`no ${type} endpoint${region ? ` in region ${region}` : ''} in the token's catalog`);
  return endpoint.url.replace(/\/+$/, '');
}

/** POST /v3/auth/tokens: a project-scoped token and its catalog. */
export async function authenticate(http: HttpClient, c: KeystoneCredentials, retry: Partial<RetryPolicy>, timeoutMs?: number): Promise<KeystoneToken> {
  registerSecret(c.password);
  const url = tokensUrl(c.authUrl);
  const body = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { id: c.userId, password: c.password } } },
      scope: { project: { id: c.projectId } },
    },
  });
  const res = await http.request({ method: 'POST', url, headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body }, { retry, maxBodyBytes: MAX_TOKEN_ANSWER_BYTES, timeoutMs });
  const id = res.headers['x-subject-token'];
  if (!id) throw new ProtocolError(`keystone at ${url} gave no X-Subject-Token`);
  registerSecret(id);
  let token: { catalog?: unknown; expires_at?: unknown } | undefined;
  try {
    token = (JSON.parse(res.body.toString('utf8')) as { token?: typeof token }).token;
  } catch {
    throw new ProtocolError(`keystone at ${url}: the token answer is not JSON`);
  }
  const expires = typeof token?.expires_at === 'string' ? Date.parse(token.expires_at) : NaN;
  return { id, catalog: Array.isArray(token?.catalog) ? (token.catalog as CatalogService[]) : [], expiresAt: Number.isNaN(expires) ? Infinity : expires };
}

/** One user's token, kept until near its expiry; `call` authenticates again once on a 401. */
export class KeystoneSession {
  private token: KeystoneToken | undefined;

  constructor(
    private readonly http: HttpClient,
    readonly credentials: KeystoneCredentials,
    private readonly retry: Partial<RetryPolicy>,
    private readonly now: () => number = Date.now,
    private readonly timeoutMs?: number,
  ) {
    registerSecret(credentials.password);
  }

  async current(): Promise<KeystoneToken> {
    if (!this.token || this.now() >= this.token.expiresAt - TOKEN_RENEW_MARGIN_MS) this.token = await authenticate(this.http, this.credentials, this.retry, this.timeoutMs);
    return this.token;
  }

  /** The endpoint of `type` in the session's region. */
  async endpoint(type: string): Promise<string> {
    return catalogEndpoint(await this.current(), type, this.credentials.regionName);
  }

  /**
   * `use(token, endpoint)` with the current token and the endpoint of
   * `type`; when the service answers 401, once more with a new token.
   */
  async call<T>(type: string, use: (token: string, endpoint: string) => Promise<T>): Promise<T> {
    const first = await this.current();
    try {
      return await use(first.id, catalogEndpoint(first, type, this.credentials.regionName));
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      this.token = undefined;
      const fresh = await this.current();
      return use(fresh.id, catalogEndpoint(fresh, type, this.credentials.regionName));
    }
  }
}
