/**
 * AWS Signature Version 2 with HmacSHA256. Keystone's ec2tokens (behind Heat)
 * accepts it, and Heat pre-signs wait-condition URLs with it.
 *
 * Heat signs with keystoneclient's Ec2Signer: the string to sign holds the
 * URL-*decoded* path (Heat unquotes it; heat-api-cfn verifies against webob's
 * req.path, which leaves ':' unescaped), and parameters sorted by name with
 * name and value quoted like urllib quote(v, safe='-_~'): only A-Z a-z 0-9
 * - _ . ~ stay as they are (quote always keeps '.').
 */
import { createHmac } from 'node:crypto';
import type { CredentialProvider, Credentials } from './credentials/types';
import { registerSecret } from './redact';
import type { HttpRequest, Signer } from './request';
import { unquote, uriEncode } from './sigv4';

/** Parameters this module writes; stale copies (a previous attempt) are replaced. */
const AUTH_PARAMS = new Set(['AWSAccessKeyId', 'SignatureMethod', 'SignatureVersion', 'Timestamp', 'SecurityToken', 'Signature']);

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** `YYYY-MM-DDTHH:MM:SSZ`. */
export function sigV2Timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Python sorts str keys by code point, i.e. by their UTF-8 bytes; JS's default
// sort compares UTF-16 units, which differs for characters beyond U+FFFF.
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The parameters (without Signature) sorted by name, RFC 3986-encoded, joined with '&'. */
export function canonicalQueryV2(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort(byUtf8)
    .map((k) => `${uriEncode(k)}=${uriEncode(params[k])}`)
    .join('&');
}

/**
 * base64(HMAC-SHA256(secret, `METHOD\nhost[:port]\n<decoded path>\n<canonical query>`)).
 * `host` is lower-cased; `path` is given as it appears in the URL and is
 * URL-decoded here (an empty path is '/').
 */
export function sigV2Signature(secret: string, method: string, host: string, path: string, params: Record<string, string>): string {
  const stringToSign = [method.toUpperCase(), host.toLowerCase(), unquote(path || '/'), canonicalQueryV2(params)].join('\n');
  return createHmac('sha256', secret).update(stringToSign, 'utf8').digest('base64');
}

/** Raw `name=value` pairs of a query string or form body, stale auth parameters removed. */
function keptPairs(text: string): string[] {
  return text.split('&').filter((pair) => {
    if (pair === '') return false;
    const name = new URLSearchParams(pair).keys().next().value;
    return name === undefined || !AUTH_PARAMS.has(name);
  });
}

/** Form decoding ('+' is a space), later duplicates winning as in webob's dict(req.params). */
function decodePairs(pairs: string[]): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(pairs.join('&')));
}

function encodePairs(params: Record<string, string>): string[] {
  return Object.entries(params).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`);
}

function authParams(creds: Credentials, now: Date): Record<string, string> {
  registerSecret(creds.secretAccessKey);
  registerSecret(creds.sessionToken);
  // Heat's order: SignatureMethod, SignatureVersion, AWSAccessKeyId, Timestamp.
  const params: Record<string, string> = {
    SignatureMethod: 'HmacSHA256',
    SignatureVersion: '2',
    AWSAccessKeyId: creds.accessKeyId,
    Timestamp: sigV2Timestamp(now),
  };
  if (creds.sessionToken) params.SecurityToken = creds.sessionToken;
  return params;
}

function headerName(headers: Record<string, string>, lower: string): string | undefined {
  return Object.keys(headers).find((h) => h.toLowerCase() === lower);
}

/**
 * Sign with SigV2: adds AWSAccessKeyId, SignatureMethod=HmacSHA256,
 * SignatureVersion=2, Timestamp, SecurityToken (with a session token) and
 * Signature. POST with a form body (or no body): they go in the form body,
 * merged with the existing one; the URL's query parameters are signed too, as
 * webob's req.params includes both. Any other request: in the query string.
 */
export function signV2(req: HttpRequest, creds: Credentials, now: Date): HttpRequest {
  const auth = authParams(creds, now);
  const u = new URL(req.url);
  const headers = { ...req.headers };
  const ctypeName = headerName(headers, 'content-type');
  const bodyText = req.body === undefined ? '' : req.body.toString();
  const isForm = ctypeName !== undefined ? headers[ctypeName].toLowerCase().startsWith(FORM_TYPE) : bodyText === '';
  const inBody = req.method.toUpperCase() === 'POST' && isForm;

  const queryPairs = keptPairs(u.search.slice(1));
  const bodyPairs = inBody ? keptPairs(bodyText) : [];
  const signature = sigV2Signature(creds.secretAccessKey, req.method, u.host, u.pathname, {
    ...decodePairs(queryPairs),
    ...decodePairs(bodyPairs),
    ...auth,
  });
  const added = encodePairs({ ...auth, Signature: signature });

  if (inBody) {
    if (ctypeName === undefined) headers['Content-Type'] = `${FORM_TYPE}; charset=utf-8`;
    return { method: req.method, url: req.url, headers, body: [...bodyPairs, ...added].join('&') };
  }
  u.search = `?${[...queryPairs, ...added].join('&')}`; // the setter drops one leading '?' (not one of ours)
  const out: HttpRequest = { method: req.method, url: u.href, headers };
  if (req.body !== undefined) out.body = req.body;
  return out;
}

/**
 * A Heat-style pre-signed URL: the URL's own parameters, then SignatureMethod,
 * SignatureVersion, AWSAccessKeyId, Timestamp (SecurityToken) and Signature,
 * for `method` (Heat uses PUT for wait-condition handles).
 */
export function presignV2(method: string, url: string, creds: Credentials, now: Date): string {
  const auth = authParams(creds, now);
  const u = new URL(url);
  const kept = keptPairs(u.search.slice(1));
  const signature = sigV2Signature(creds.secretAccessKey, method, u.host, u.pathname, { ...decodePairs(kept), ...auth });
  return `${u.protocol}//${u.host}${u.pathname}?${[...kept, ...encodePairs({ ...auth, Signature: signature })].join('&')}`;
}

export function v2Signer(provider: CredentialProvider): Signer {
  return async (req, now) => signV2(req, await provider.get(), now);
}
