/**
 * AWS Signature Version 4, through the `aws4` package. This file only decides
 * what gets signed so that it is exactly what the HTTP layer sends:
 *
 * - The URL is taken in its WHATWG form (what node sends on the wire), with the
 *   few characters WHATWG leaves raw but aws4 would re-encode escaped, so the
 *   path and query that are signed are the ones that are sent.
 * - aws4 may not add headers (no Content-Type/Content-Length guessing); we set
 *   X-Amz-Date, X-Amz-Security-Token and Host ourselves and drop the headers
 *   the HTTP layer owns (framing, hop-by-hop).
 *
 * Keystone (Heat's ec2tokens) verifies with keystoneclient's Ec2Signer, which
 * takes region and service from the Credential= scope and quotes query values
 * like urllib quote(v, safe='-_~'), i.e. the same RFC 3986 encoding as here.
 */
import { createHash } from 'node:crypto';
import * as aws4 from 'aws4';
import type { CredentialProvider, Credentials } from './credentials/types';
import { ConfigError } from './errors';
import { redactUrl, registerSecret } from './redact';
import type { HttpRequest, Signer } from './request';

export interface SigningScope {
  region: string;
  service: string;
}

/** The signed request plus the intermediate strings, for tests and DEBUG logs. */
export interface SignedV4 {
  request: HttpRequest;
  canonicalRequest: string;
  stringToSign: string;
}

/**
 * Headers the HTTP layer computes or may rewrite (framing, hop-by-hop): a
 * signature over them breaks as soon as a client or proxy touches them.
 * aws4 already skips authorization, connection, user-agent, expect, range,
 * x-amzn-trace-id and presigned-expires.
 */
const UNSIGNED_HEADERS = ['content-length', 'transfer-encoding', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade'];

/** Headers this module sets; stale copies from the caller (e.g. a previous attempt) are dropped. */
const OWN_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token'];

/** Query parameters presignV4 writes; stale ones are removed before presigning again. */
const PRESIGN_PARAMS = new Set([
  'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
  'X-Amz-SignedHeaders', 'X-Amz-Security-Token', 'X-Amz-Signature',
]);

/** aws4 options it reads but @types/aws4 does not declare. */
interface Aws4Request extends aws4.Request {
  extraHeadersToIgnore?: Record<string, boolean>;
}

/** `YYYYMMDDTHHMMSSZ`. */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ (what SigV4 canonicalises to). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Python's urllib.parse.unquote: %XX runs decoded as UTF-8, anything else left alone (never throws). */
export function unquote(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

// aws4 runs encodeURI(decodeURI(path)) when the path holds anything outside
// this set (and decodeURI throws on a stray '%'). WHATWG leaves some of these
// raw (| ^ [ ] { } ` \ in paths and queries), so escape them first: then aws4
// signs the bytes that are sent.
const AWS4_UNSAFE = /[^0-9A-Za-z;,/?:@&=+$\-_.!~*'()#%]/g;
const escapeUnsafe = (s: string) => s.replace(AWS4_UNSAFE, (c) => encodeURIComponent(c));

/**
 * The URL as it will go on the wire. S3 signs each path segment encoded once
 * (aws4 decodes and re-encodes it, reading '+' as a space), so for S3 the path
 * is sent in exactly that form: then a literal '+' or a stray '%' stays what it is.
 */
function wireUrl(url: string, service: string): URL {
  const u = new URL(url);
  u.pathname = service === 's3'
    ? u.pathname.split('/').map((seg) => uriEncode(unquote(seg))).join('/')
    : escapeUnsafe(u.pathname);
  // aws4 leaves parameters with an empty name out of the signature (and out of
  // the URLs it formats itself): leave them out of the request too.
  const pairs = u.search.slice(1).split('&').filter((pair) => pair.split('=')[0] !== '');
  if (service === 's3') {
    const names = [...new URLSearchParams(pairs.join('&')).keys()];
    // For S3 aws4 signs only the first value of a repeated parameter.
    if (new Set(names).size < names.length) {
      throw new ConfigError(`cannot sign an S3 request with a repeated query parameter: ${redactUrl(url)}`);
    }
  }
  const query = escapeUnsafe(pairs.join('&'));
  // The setter drops one leading '?', which may belong to a parameter name.
  u.search = query ? `?${query}` : '';
  return u;
}

/** Keep the caller's spelling when nothing had to change. */
function urlOut(original: string, u: URL): string {
  return new URL(original).href === u.href ? original : u.href;
}

function checkScope(scope: SigningScope): void {
  // aws4 silently guesses region and service from the host name when they are empty.
  if (!scope.region || !scope.service) {
    throw new ConfigError(`SigV4 needs a region and a service (got region '${scope.region}', service '${scope.service}')`);
  }
}

/**
 * Caller headers minus the ones this module owns. Names differing only in case
 * are one header on the wire: join their values with ',' (as the SigV4 spec
 * does for repeated headers) under the first spelling.
 */
function callerHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const spelling = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (OWN_HEADERS.includes(lower)) continue;
    const first = spelling.get(lower);
    if (first === undefined) {
      spelling.set(lower, name);
      out[name] = String(value);
    } else {
      out[first] = `${out[first].trim()},${String(value).trim()}`;
    }
  }
  return out;
}

const ignoreMap = (): Record<string, boolean> => Object.fromEntries(UNSIGNED_HEADERS.map((h) => [h, true]));

/** signV4, also returning the canonical request and string to sign. */
export function signV4Detailed(req: HttpRequest, creds: Credentials, scope: SigningScope, now: Date): SignedV4 {
  checkScope(scope);
  registerSecret(creds.secretAccessKey);
  registerSecret(creds.sessionToken);
  const u = wireUrl(req.url, scope.service);
  const date = amzDate(now);

  const headers = callerHeaders(req.headers);
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  headers['X-Amz-Date'] = date;
  if (creds.sessionToken) headers['X-Amz-Security-Token'] = creds.sessionToken;
  // S3 refuses header-signed requests without the payload hash header.
  if (scope.service === 's3' && !has('x-amz-content-sha256')) {
    headers['X-Amz-Content-Sha256'] = createHash('sha256').update(req.body ?? '').digest('hex');
  }
  // The HTTP layer sends Host from the URL (default port omitted, like URL.host);
  // it is signed but not added to the request, so a redirect cannot carry a stale one.
  const hasHost = has('host');

  const signer = new aws4.RequestSigner(
    {
      method: req.method.toUpperCase(),
      path: u.pathname + u.search,
      headers: hasHost ? headers : { Host: u.host, ...headers },
      body: req.body,
      service: scope.service,
      region: scope.region,
      doNotModifyHeaders: true,
      extraHeadersToIgnore: ignoreMap(),
    } as Aws4Request,
    { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  );
  signer.datetime = date;
  const canonicalRequest = signer.canonicalString();
  const stringToSign = signer.stringToSign();
  const authorization = signer.authHeader();

  const request: HttpRequest = {
    method: req.method,
    url: urlOut(req.url, u),
    headers: { ...headers, Authorization: authorization },
  };
  if (req.body !== undefined) request.body = req.body;
  return { request, canonicalRequest, stringToSign };
}

/**
 * Returns a new request with X-Amz-Date, X-Amz-Security-Token (when the
 * credentials have a session token), X-Amz-Content-Sha256 (S3 only) and
 * Authorization. The signed Host is host[:port] of the URL, port omitted when
 * default, which is what the HTTP layer sends. Does not mutate `req`.
 */
export function signV4(req: HttpRequest, creds: Credentials, scope: SigningScope, now: Date): HttpRequest {
  return signV4Detailed(req, creds, scope, now).request;
}

/**
 * Query-string presigning (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Security-Token, X-Amz-Signature),
 * e.g. for S3 GETs. Only `host` is signed. Returns the URL.
 */
export function presignV4(
  method: string,
  url: string,
  creds: Credentials,
  scope: SigningScope,
  now: Date,
  expiresSeconds: number,
): string {
  checkScope(scope);
  // AWS refuses presigned URLs valid for more than 7 days.
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 604800) {
    throw new ConfigError(`presigned URL lifetime must be 1-604800 seconds, got ${expiresSeconds}`);
  }
  registerSecret(creds.secretAccessKey);
  registerSecret(creds.sessionToken);
  const u = wireUrl(url, scope.service);
  const kept = u.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '' && !PRESIGN_PARAMS.has(unquote(pair.split('=')[0].replace(/\+/g, ' '))));
  const query = [...kept, `X-Amz-Expires=${expiresSeconds}`].join('&');

  const signer = new aws4.RequestSigner(
    {
      method: method.toUpperCase(),
      path: `${u.pathname}?${query}`,
      headers: { Host: u.host },
      service: scope.service,
      region: scope.region,
      signQuery: true,
    },
    { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
  );
  signer.datetime = amzDate(now);
  const signed = signer.sign();
  return `${u.protocol}//${u.host}${signed.path ?? '/'}`;
}

/** A Signer bound to a credentials provider and scope. */
export function v4Signer(provider: CredentialProvider, scope: SigningScope): Signer {
  return async (req, now) => signV4(req, await provider.get(), scope, now);
}
