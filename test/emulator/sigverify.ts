/**
 * Request signature verification as heat-api-cfn's ec2token middleware plus
 * keystone's /v3/ec2tokens do it: which parameters carry the signature and
 * the access key, keystone's SigV2/SigV4 arithmetic (with its retry without
 * the port), its timestamp window, and Heat's error codes for each failure.
 * The failure reason Heat would hide behind AccessDenied is kept for the
 * request log.
 */
import { timingSafeEqual } from 'node:crypto';
import { HeatErrors, type HeatApiError } from './heat-format';
import { awsCanonicalUri, canonicalQs, keystonePath, sha256Hex, sigV2, sigV4, UNSIGNED_PAYLOAD } from './signing';

export interface SignedRequest {
  method: string;
  /** Path as received, still percent-encoded, without the query. */
  rawPath: string;
  /** Decoded parameters: the query, plus the form body where webob would parse one. */
  params: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer;
  /** webob's `req.host`: the Host header. */
  host: string;
}

export interface KeyInfo {
  secretKey: string;
  sessionToken?: string;
}

export type SigKind = 'v2' | 'v4' | 'v4-query';

export type Verdict =
  | { ok: true; accessKey: string; kind: SigKind; host: string }
  | { ok: false; error: HeatApiError; reason: string; kind?: SigKind; accessKey?: string };

/** keystone's `[credential] auth_ttl` default. */
export const AUTH_TTL_MS = 15 * 60 * 1000;

/** `partition('<name>=')[2].split(',')[0]` of the Authorization header, as ec2token and keystone read it. */
function authField(authorization: string | undefined, name: string): string | undefined {
  if (authorization === undefined) return undefined;
  const i = authorization.indexOf(`${name}=`);
  if (i < 0) return '';
  return authorization.slice(i + name.length + 1).split(',')[0].trim();
}

/** ec2token `_get_signature`. */
function findSignature(req: SignedRequest): string | undefined {
  return req.params.Signature || req.params['X-Amz-Signature'] || authField(req.headers.authorization, 'Signature');
}

/** ec2token `_get_access`. */
function findAccess(req: SignedRequest): string | undefined {
  if (req.params.AWSAccessKeyId !== undefined) return req.params.AWSAccessKeyId;
  const cred = req.params['X-Amz-Credential'];
  if (cred) return cred.split('/')[0];
  const fromHeader = authField(req.headers.authorization, 'Credential');
  return fromHeader === undefined ? undefined : fromHeader.split('/')[0];
}

function sigKind(req: SignedRequest): SigKind | string {
  const version = req.params.SignatureVersion;
  // Keystone also knows 0 and 1 (HmacSHA1 over the parameters alone); no client of ours sends them.
  if (version !== undefined && version !== '4') return version === '2' ? 'v2' : `SignatureVersion ${version} is not supported`;
  if (req.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) return 'v4';
  if (req.params['X-Amz-Algorithm'] === 'AWS4-HMAC-SHA256') return 'v4-query';
  return 'cannot tell the signature version';
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Every signature keystone would accept for this request (SigV2: with the port, then without). */
function v2Candidates(req: SignedRequest, secret: string): Array<[string, string]> {
  const params = { ...req.params };
  delete params.Signature;
  const path = keystonePath(req.rawPath);
  const hosts = [req.host];
  if (req.host.includes(':')) hosts.push(req.host.split(':')[0]);
  return hosts.map((h) => [sigV2(secret, req.method.toUpperCase(), h, path, params), h]);
}

function v4Candidates(req: SignedRequest, secret: string, query: boolean): string[] | string {
  const auth = req.headers.authorization;
  const param = (name: string) => (auth !== undefined && !query ? authField(auth, name) : req.params[`X-Amz-${name}`]);
  const signedHeaders = param('SignedHeaders');
  const credential = param('Credential');
  const date = req.headers['x-amz-date'] ?? req.params['X-Amz-Date'];
  if (!signedHeaders || !credential || !date) return 'SigV4 without SignedHeaders, Credential or X-Amz-Date';
  const parts = credential.split('/');
  if (parts.length !== 5 || !parts[2] || !parts[3] || parts[4] !== 'aws4_request') return `malformed credential scope ${credential}`;
  const scope = parts.slice(1).join('/');
  if (!date.startsWith(parts[1])) return 'request date does not match the credential scope';

  // keystone strips the port from Host for boto < 2.9.3, which signed without it.
  const oldBoto = /^Boto\/2\.[0-9]\.[0-2]/.test(req.headers['user-agent'] ?? '');
  const headerLines: string[] = [];
  for (const h of signedHeaders.split(';')) {
    const value = req.headers[h];
    if (value === undefined) continue;
    headerLines.push(`${h}:${h === 'host' && oldBoto ? value.trim().split(':')[0] : value.trim()}`);
  }
  const params = { ...req.params };
  delete params.Signature;
  // AWS leaves X-Amz-Signature out of the canonical query; keystone does not, so it never accepts a query-presigned URL.
  delete params['X-Amz-Signature'];
  const verb = req.method.toUpperCase();
  const qs = verb === 'POST' ? '' : canonicalQs(params);
  const paths = [...new Set([keystonePath(req.rawPath), awsCanonicalUri(req.rawPath)])];
  // A presigned URL is made before the body exists: AWS signs UNSIGNED-PAYLOAD there.
  const payloads = query ? [sha256Hex(req.body), UNSIGNED_PAYLOAD] : [sha256Hex(req.body)];
  const out: string[] = [];
  for (const path of paths) {
    for (const payload of payloads) {
      const canonical = [verb, path, qs, headerLines.join('\n') + '\n', signedHeaders, payload].join('\n');
      out.push(sigV4(secret, canonical, date, scope));
    }
  }
  return out;
}

/** keystone `_check_timestamp`, plus the future half of the window and X-Amz-Expires. */
function timestampProblem(req: SignedRequest, now: number, ttlMs: number): string | undefined {
  const stamp = req.params.Timestamp || req.headers['x-amz-date'] || req.params['X-Amz-Date'];
  // keystone: "the signer must have intentionally left it off" (Heat's never-expiring alarm URLs).
  if (!stamp) return undefined;
  const t = parseTimestamp(stamp);
  if (t === undefined) return `invalid timestamp ${stamp}`;
  if (now - t > ttlMs) return `request expired: timestamp ${stamp} is ${Math.round((now - t) / 1000)} s old`;
  if (t - now > ttlMs) return `timestamp ${stamp} is ${Math.round((t - now) / 1000)} s in the future`;
  const expires = req.params['X-Amz-Expires'];
  if (expires !== undefined && now > t + Number(expires) * 1000) return `presigned URL expired (X-Amz-Expires=${expires})`;
  return undefined;
}

/** ISO 8601, basic (`20261124T143327Z`) or extended; no zone means UTC, as keystone normalises it. */
export function parseTimestamp(text: string): number | undefined {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, frac ? Math.round(Number(frac) * 1000) : 0);
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

export function verifySignature(req: SignedRequest, lookup: (accessKey: string) => KeyInfo | undefined, now: number, ttlMs = AUTH_TTL_MS): Verdict {
  const signature = findSignature(req);
  if (!signature) return { ok: false, error: HeatErrors.incompleteSignature(), reason: 'no signature' };
  const accessKey = findAccess(req);
  if (!accessKey) return { ok: false, error: HeatErrors.missingAuthenticationToken(), reason: 'no access key' };
  const kind = sigKind(req);
  const key = lookup(accessKey);
  if (!key) return { ok: false, error: HeatErrors.invalidClientTokenId(), reason: `unknown access key ${accessKey}`, accessKey };
  if (kind !== 'v2' && kind !== 'v4' && kind !== 'v4-query') return { ok: false, error: HeatErrors.accessDenied(), reason: kind, accessKey };

  let host: string | undefined;
  if (kind === 'v2') {
    host = v2Candidates(req, key.secretKey).find(([sig]) => sameText(sig, signature))?.[1];
  } else {
    const candidates = v4Candidates(req, key.secretKey, kind === 'v4-query');
    if (typeof candidates === 'string') return { ok: false, error: HeatErrors.accessDenied(), reason: candidates, kind, accessKey };
    if (candidates.some((sig) => sameText(sig, signature))) host = req.host;
  }
  if (host === undefined) return { ok: false, error: HeatErrors.accessDenied(), reason: 'signature does not match', kind, accessKey };

  const late = timestampProblem(req, now, ttlMs);
  if (late) return { ok: false, error: HeatErrors.accessDenied(), reason: late, kind, accessKey };

  const token = kind === 'v2' ? req.params.SecurityToken : kind === 'v4' ? req.headers['x-amz-security-token'] : req.params['X-Amz-Security-Token'];
  if ((key.sessionToken ?? '') !== (token ?? '')) {
    const reason = key.sessionToken ? (token ? 'session token does not match' : 'session token missing') : 'session token given for a key without one';
    return { ok: false, error: HeatErrors.accessDenied(), reason, kind, accessKey };
  }
  return { ok: true, accessKey, kind, host };
}
