/**
 * The bit of keystone v3 Heat's stack users need (a HEAT_SIGNAL or
 * ZAQAR_SIGNAL deployment's, a POLL_SERVER_HEAT or ZAQAR_MESSAGE server's):
 * password authentication of the stack-domain user (by user id, scoped to
 * the stack user project), answered 201 with `X-Subject-Token` and a token whose
 * catalog's orchestration endpoint is the emulator; and the check of
 * `X-Auth-Token` that keystonemiddleware makes in front of heat-api. Error
 * bodies are keystone's (flask's compact, sorted JSON) and keystonemiddleware's.
 */
import { randomBytes } from 'node:crypto';
import { isMapping, pyJsonDumps, type Reply } from './heat-format';
import { hexId } from './heat-ids';

/** A stack-domain user Heat made for a deployment. */
export interface KeystoneUser {
  id: string;
  name: string;
  password: string;
  projectId: string;
  /** The project's name, `<owner project>-<stack id>` as Heat names it. */
  projectName: string;
}

export interface Token {
  id: string;
  userId: string;
  /** Unscoped tokens have none. */
  projectId?: string;
  expiresAt: number;
}

/** keystone's `[token] expiration` default. */
const TOKEN_TTL_MS = 3600 * 1000;

const HEAT_DOMAIN = { id: hexId('domain/heat'), name: 'heat' };
/** The one region of the catalog, which Heat also hands a HEAT_SIGNAL deployment. */
export const REGION = 'RegionOne';
const STACK_USER_ROLE = { id: hexId('role/heat_stack_user'), name: 'heat_stack_user' };

const UNAUTHORIZED = 'The request you have made requires authentication.';

/** keystone's isotime with subseconds: `2026-01-01T00:00:00.000000Z`. */
function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** flask's jsonify as keystone uses it: sorted keys, compact, a trailing newline. */
function flaskJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    return v;
  };
  return `${JSON.stringify(sorted(value))}\n`;
}

export function keystoneError(status: number, title: string, message: string, baseUrl: string): Reply {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (status === 401) headers['WWW-Authenticate'] = `Keystone uri="${baseUrl}"`;
  return { status, reason: title, headers, body: flaskJson({ error: { code: status, title, message } }) };
}

/** keystonemiddleware's refusal of a request without a valid token. */
export function middlewareUnauthorized(baseUrl: string): Reply {
  return {
    status: 401,
    reason: 'Unauthorized',
    headers: { 'Content-Type': 'application/json; charset=UTF-8', 'WWW-Authenticate': `Keystone uri="${baseUrl}"` },
    body: pyJsonDumps({ error: { code: 401, title: 'Unauthorized', message: UNAUTHORIZED } }),
  };
}

/** The catalog of a stack user's token: heat-api, heat-api-cfn and Zaqar, all the emulator. */
function catalog(baseUrl: string, projectId: string): unknown[] {
  const service = (type: string, name: string, url: string) => ({
    endpoints: [{ id: hexId(`endpoint/${type}`), interface: 'public', region_id: REGION, url, region: REGION }],
    id: hexId(`service/${type}`),
    type,
    name,
  });
  return [service('orchestration', 'heat', `${baseUrl}/v1/${projectId}`), service('cloudformation', 'heat-cfn', `${baseUrl}/v1`), service('messaging', 'zaqar', `${baseUrl}/zaqar`)];
}

export class Keystone {
  private readonly tokens = new Map<string, Token>();

  constructor(
    /** The current users (they go away with their deployment). */
    private readonly user: (id: string) => KeystoneUser | undefined,
    private readonly now: () => number,
  ) {}

  clear(): void {
    this.tokens.clear();
  }

  /** `POST /v3/auth/tokens`; `note` gets the reason of a refusal, for the request log. */
  authenticate(body: Buffer, baseUrl: string, note: (reason: string) => void): Reply {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      note('body is not JSON');
      return keystoneError(400, 'Bad Request', 'Expecting to find valid JSON in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.', baseUrl);
    }
    const auth = isMapping(doc) && isMapping(doc.auth) ? doc.auth : undefined;
    const identity = auth && isMapping(auth.identity) ? auth.identity : undefined;
    const methods = identity?.methods;
    const password = identity && isMapping(identity.password) ? identity.password : undefined;
    const given = password && isMapping(password.user) ? password.user : undefined;
    if (!Array.isArray(methods) || !methods.includes('password') || !given) {
      note('not a password authentication');
      return keystoneError(400, 'Bad Request', "Invalid input for field 'identity': password authentication with a user is expected", baseUrl);
    }
    const user = typeof given.id === 'string' ? this.user(given.id) : undefined;
    if (!user || given.password !== user.password) {
      note(user ? 'wrong password' : `no user ${String(given.id)}`);
      return keystoneError(401, 'Unauthorized', UNAUTHORIZED, baseUrl);
    }
    const scope = auth && isMapping(auth.scope) && isMapping(auth.scope.project) ? auth.scope.project : undefined;
    if (scope && scope.id !== user.projectId) {
      note(`user ${user.id} has no role on project ${String(scope.id)}`);
      return keystoneError(401, 'Unauthorized', UNAUTHORIZED, baseUrl);
    }
    const issuedAt = this.now();
    const token: Token = { id: randomBytes(48).toString('base64url'), userId: user.id, expiresAt: issuedAt + TOKEN_TTL_MS };
    if (scope) token.projectId = user.projectId;
    this.tokens.set(token.id, token);
    note('ok');
    const rendered: Record<string, unknown> = {
      methods: ['password'],
      user: { domain: HEAT_DOMAIN, id: user.id, name: user.name, password_expires_at: null },
      audit_ids: [randomBytes(16).toString('base64url')],
      expires_at: keystoneTime(token.expiresAt),
      issued_at: keystoneTime(issuedAt),
    };
    if (scope) {
      Object.assign(rendered, {
        project: { domain: HEAT_DOMAIN, id: user.projectId, name: user.projectName },
        is_domain: false,
        roles: [STACK_USER_ROLE],
        catalog: catalog(baseUrl, user.projectId),
      });
    }
    return { status: 201, reason: 'Created', headers: { 'Content-Type': 'application/json', 'X-Subject-Token': token.id, Vary: 'X-Auth-Token' }, body: pyJsonDumps({ token: rendered }) };
  }

  /** The token behind `X-Auth-Token`, if keystone would still accept it: known, not expired, its user not deleted. */
  validate(id: string | undefined): Token | { invalid: string } {
    if (!id) return { invalid: 'no X-Auth-Token' };
    const token = this.tokens.get(id);
    if (!token) return { invalid: 'unknown token' };
    if (this.now() >= token.expiresAt) return { invalid: `token expired at ${keystoneTime(token.expiresAt)}` };
    if (!this.user(token.userId)) return { invalid: `user ${token.userId} was deleted` };
    return token;
  }
}
