/**
 * Signature arithmetic as keystoneclient's Ec2Signer does it (SigV2
 * HmacSHA256, SigV4), written independently of shared/sigv2.ts and
 * shared/sigv4.ts: the emulator is the check of those signers, so it must not
 * share their mistakes. Also a small client-side signer built on the same
 * arithmetic, for presigned URLs and for tests.
 */
import { createHash, createHmac } from 'node:crypto';
import { percentDecode, pyQuote } from './heat-format';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `Ec2Signer._canonical_qs`: keys sorted, `quote(key, safe='')=quote(value, safe='-_~')`. */
export function canonicalQs(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${pyQuote(k, '')}=${pyQuote(params[k], '-_~')}`)
    .join('&');
}

/** webob's PATH_SAFE: what `req.path` leaves unquoted. */
const PATH_SAFE = "/~!$&'()*+,;=:@";

/**
 * The path keystone is given: Heat's ec2token passes webob's `req.path`, i.e.
 * the raw path percent-decoded by the WSGI server and re-quoted with
 * PATH_SAFE, so `%3A` in a wait-condition URL is signed as `:`.
 */
export function keystonePath(rawPath: string): string {
  return pyQuote(percentDecode(rawPath), PATH_SAFE);
}

/**
 * AWS's canonical URI for services other than S3 (botocore's
 * `quote(normalize_url_path(path), safe='/~')` over the still-encoded path).
 * Differs from keystonePath only for paths with reserved characters.
 */
export function awsCanonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const normalized = `/${segments.join('/')}${rawPath.endsWith('/') && segments.length ? '/' : ''}`;
  return pyQuote(normalized, '/~');
}

/** `_calc_signature_2`: base64 HMAC-SHA256 of VERB\nhost\npath\ncanonical-qs (SignatureMethod forced to HmacSHA256). */
export function sigV2(secret: string, verb: string, host: string, path: string, params: Record<string, string>): string {
  const p: Record<string, string> = { ...params, SignatureMethod: 'HmacSHA256' };
  delete p.Signature;
  const toSign = `${verb}\n${host}\n${path}\n${canonicalQs(p)}`;
  return hmac(secret, toSign).toString('base64');
}

export function sigV4SigningKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** Hex signature of a SigV4 canonical request. `scope` is `date/region/service/aws4_request`. */
export function sigV4(secret: string, canonicalRequest: string, amzDate: string, scope: string): string {
  const [date, region, service] = scope.split('/');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  return createHmac('sha256', sigV4SigningKey(secret, date, region, service)).update(toSign, 'utf8').digest('hex');
}

/** `YYYYMMDDTHHMMSSZ`. */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the SigV2 Timestamp form Heat and botocore use. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------
// Client side (presigned URLs, tests)

export interface SignKeys {
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
}

export interface V4HeaderSignInput extends SignKeys {
  method: string;
  /** Full URL; the query string, if any, is part of the signature. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  region: string;
  service: string;
  time: number;
}

/**
 * Headers that sign a request with SigV4 in the Authorization header (boto2's
 * form: signed headers host and x-amz-*). Returns the headers to send, Host
 * included.
 */
export function signV4Headers(input: V4HeaderSignInput): Record<string, string> {
  const u = new URL(input.url);
  const date = amzDate(input.time);
  const headers: Record<string, string> = { ...(input.headers ?? {}), Host: u.host, 'X-Amz-Date': date };
  if (input.sessionToken) headers['X-Amz-Security-Token'] = input.sessionToken;
  const signed = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .filter((h) => h === 'host' || h.startsWith('x-amz-'))
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const params = Object.fromEntries(u.searchParams);
  const canonical = [
    input.method.toUpperCase(),
    keystonePath(u.pathname),
    input.method.toUpperCase() === 'POST' ? '' : canonicalQs(params),
    signed.map((h) => `${h}:${lower[h]}`).join('\n') + '\n',
    signed.join(';'),
    sha256Hex(input.body ?? ''),
  ].join('\n');
  const scope = `${date.slice(0, 8)}/${input.region}/${input.service}/aws4_request`;
  const signature = sigV4(input.secretKey, canonical, date, scope);
  headers.Authorization = `AWS4-HMAC-SHA256 Credential=${input.accessKey}/${scope},SignedHeaders=${signed.join(';')},Signature=${signature}`;
  return headers;
}

export interface V2SignInput extends SignKeys {
  method: string;
  /** URL without the parameters being signed. */
  url: string;
  params: Record<string, string>;
  time?: number;
}

/** The parameters plus AWSAccessKeyId, SignatureVersion/Method, Timestamp and Signature (botocore's SigV2 set). */
export function signV2Params(input: V2SignInput): Record<string, string> {
  const u = new URL(input.url);
  const p: Record<string, string> = { ...input.params, AWSAccessKeyId: input.accessKey, SignatureVersion: '2', SignatureMethod: 'HmacSHA256' };
  if (input.time !== undefined) p.Timestamp = isoSeconds(input.time);
  if (input.sessionToken) p.SecurityToken = input.sessionToken;
  p.Signature = sigV2(input.secretKey, input.method.toUpperCase(), u.host, keystonePath(u.pathname), p);
  return p;
}
