/**
 * Swift temp URLs, the TEMP_URL_SIGNAL transport: the PUT URL Heat hands a
 * deployment (swiftclient's generate_temp_url, HMAC-SHA256 by default) and
 * the check Swift's tempurl middleware makes of it (sha1, sha256 or sha512,
 * the expiry against the emulator clock, the path the signature covers), with
 * Swift's answers. The object store is served under `/swift`, so that the
 * signed path `/v1/AUTH_<project>/<container>/<object>` stays apart from
 * heat-api-cfn's `/v1`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { percentDecode, type Reply } from './heat-format';

export const SWIFT_PREFIX = '/swift';

/** Heat's temp URLs expire 60 s before the 32-bit epoch ends, whenever they are made. */
const MAX_EPOCH = 2147483647;

/** `int(time.time() + int(MAX_EPOCH - 60 - time.time()))`, as Heat and swiftclient compute it. */
export function tempUrlExpires(nowMs: number): number {
  const t = nowMs / 1000;
  return Math.floor(t + Math.trunc(MAX_EPOCH - 60 - t));
}

type Digest = 'sha1' | 'sha256' | 'sha512';

function hmacOf(digest: Digest, key: string, method: string, expires: number, path: string): Buffer {
  return createHmac(digest, key).update(`${method}\n${expires}\n${path}`, 'utf8').digest();
}

/** `<base>/swift<path>?temp_url_sig=<hex>&temp_url_expires=<n>`; `path` is `/v1/AUTH_<project>/<container>/<object>`. */
export function tempUrl(base: string, key: string, path: string, expires: number, method = 'PUT', digest: Digest = 'sha256'): string {
  const mac = hmacOf(digest, key, method, expires, path);
  const sig = digest === 'sha512' ? `sha512:${mac.toString('base64url')}` : mac.toString('hex');
  return `${base}${SWIFT_PREFIX}${path}?temp_url_sig=${sig}&temp_url_expires=${expires}`;
}

/** A new account Temp-URL-Key, as Heat sets one: 32 hex digits. */
export function newTempUrlKey(): string {
  return randomBytes(16).toString('hex');
}

export type TempUrlCheck = { ok: true; account: string; container: string; object: string } | { ok: false; reason: string };

/** The signature's digest and bytes as the middleware reads them: `<digest>:<base64>`, or hex whose length names the digest. */
function parseSig(sig: string): { digest: Digest; mac: Buffer } | undefined {
  const colon = sig.indexOf(':');
  if (colon >= 0) {
    const digest = sig.slice(0, colon);
    if (digest !== 'sha1' && digest !== 'sha256' && digest !== 'sha512') return undefined;
    const b64 = sig.slice(colon + 1).replace(/-/g, '+').replace(/_/g, '/');
    if (!/^[A-Za-z0-9+/]*=*$/.test(b64)) return undefined;
    return { digest, mac: Buffer.from(b64, 'base64') };
  }
  if (!/^[0-9a-fA-F]*$/.test(sig)) return undefined;
  if (sig.length === 40) return { digest: 'sha1', mac: Buffer.from(sig, 'hex') };
  if (sig.length === 64) return { digest: 'sha256', mac: Buffer.from(sig, 'hex') };
  return undefined;
}

/** The tempurl middleware's verdict on a request under /swift; any failure is the same 401 to the client. */
export function checkTempUrl(method: string, rawPath: string, rawQuery: string, key: string, nowMs: number): TempUrlCheck {
  const q = new URLSearchParams(rawQuery);
  const sig = q.get('temp_url_sig');
  const expiresText = q.get('temp_url_expires');
  if (!sig || !expiresText) return { ok: false, reason: 'no temp_url_sig or temp_url_expires' };
  const expires = /^\d+$/.test(expiresText) ? Number(expiresText) : 0;
  if (expires * 1000 < nowMs) return { ok: false, reason: expires ? `expired at ${new Date(expires * 1000).toISOString()}` : `temp_url_expires ${expiresText} is not a time` };
  const parsed = parseSig(sig);
  if (!parsed) return { ok: false, reason: 'temp_url_sig is not a sha1, sha256 or sha512 signature' };
  const path = percentDecode(rawPath.slice(SWIFT_PREFIX.length)).toString('utf8');
  const m = /^\/v1\/([^/]+)\/([^/]+)\/(.*[^/].*)$/.exec(path);
  if (!m) return { ok: false, reason: `${path} is not an object path /v1/<account>/<container>/<object>` };
  const expected = hmacOf(parsed.digest, key, method.toUpperCase(), expires, path);
  if (expected.length !== parsed.mac.length || !timingSafeEqual(expected, parsed.mac)) return { ok: false, reason: `signature does not match (${parsed.digest} over ${method.toUpperCase()} ${path})` };
  return { ok: true, account: m[1], container: m[2], object: m[3] };
}

const SWIFT_HTML = 'text/html; charset=UTF-8';

function transId(nowMs: number): string {
  return `tx${randomBytes(11).toString('hex').slice(0, 21)}-${Math.floor(nowMs / 1000).toString(16).padStart(10, '0')}`;
}

function swiftReply(status: number, reason: string, body: string, nowMs: number, extra: Record<string, string> = {}): Reply {
  const id = transId(nowMs);
  return { status, reason, headers: { 'Content-Type': SWIFT_HTML, ...extra, 'X-Trans-Id': id, 'X-Openstack-Request-Id': id }, body };
}

/** The entity tags of an If-None-Match header (`*` matches any), quotes and weak markers dropped. */
function etagList(header: string | undefined): string[] {
  return (header ?? '').split(',').map((t) => t.trim().replace(/^W\//, '').replace(/"/g, '')).filter(Boolean);
}

/**
 * swob's conditional GET: 304 when If-None-Match names the ETag, else when
 * Last-Modified is not after If-Modified-Since (an ETag mismatch does not
 * stop the second: Swift checks them one after the other).
 */
function notModified(object: { etag: string; lastModified: number }, headers: Record<string, string>): boolean {
  const tags = etagList(headers['if-none-match']);
  if (tags.includes(object.etag) || tags.includes('*')) return true;
  const since = Date.parse(headers['if-modified-since'] ?? '');
  return !Number.isNaN(since) && object.lastModified * 1000 <= since;
}

export const SwiftReplies = {
  /** An object's GET or HEAD (the body is dropped for HEAD where the reply is sent), conditional as Swift's. */
  object: (object: { body: string; etag: string; lastModified: number }, headers: Record<string, string>, nowMs: number): Reply => {
    const meta = { Etag: `"${object.etag}"`, 'Last-Modified': new Date(object.lastModified * 1000).toUTCString(), 'X-Timestamp': `${object.lastModified}.00000`, 'Accept-Ranges': 'bytes' };
    if (notModified(object, headers)) return swiftReply(304, 'Not Modified', '', nowMs, { ...meta, 'Content-Type': 'application/octet-stream' });
    return swiftReply(200, 'OK', object.body, nowMs, { ...meta, 'Content-Type': 'application/octet-stream' });
  },
  /** The middleware's `_invalid`: bad, expired or missing signature. */
  invalid: (account: string, nowMs: number) => swiftReply(401, 'Unauthorized', '401 Unauthorized: Temp URL invalid\n', nowMs, { 'Www-Authenticate': `Swift realm="${account}"` }),
  notFound: (nowMs: number) => swiftReply(404, 'Not Found', '<html><h1>Not Found</h1><p>The resource could not be found.</p></html>', nowMs),
  methodNotAllowed: (nowMs: number) => swiftReply(405, 'Method Not Allowed', '<html><h1>Method Not Allowed</h1><p>The method is not allowed for this resource.</p></html>', nowMs),
  created: (body: Buffer, nowMs: number) =>
    swiftReply(201, 'Created', '', nowMs, { Etag: createHash('md5').update(body).digest('hex'), 'Last-Modified': new Date(Math.floor(nowMs / 1000) * 1000).toUTCString() }),
};
