/**
 * AWS Query API calls (CloudFormation, CloudWatch; Heat's heat-api-cfn speaks
 * the same): Action + parameters, signed (SigV4 or SigV2), answered in JSON
 * or XML. Error answers become ApiError with the server's Code and Message.
 */
import { XMLValidator } from 'fast-xml-parser';
import { excerpt, heatErrorFromString } from './aws-error';
import { cfnV1Signer } from './credentials/instance-identity';
import type { CredentialProvider, SigningIdentityProvider } from './credentials/types';
import type { Endpoint } from './endpoints';
import { ApiError, ProtocolError } from './errors';
import type { HttpClient, RetryPolicy } from './http';
import { jsonSyntaxProblem } from './json-file';
import { redactUrl } from './redact';
import type { HttpRequest, Signer } from './request';
import { v2Signer } from './sigv2';
import { uriEncode, v4Signer } from './sigv4';
import { parseXml } from './xml';

export type SignatureVersion = 2 | 4;

export interface QueryClientOptions {
  endpoint: Endpoint;
  credentials: CredentialProvider;
  /**
   * CloudFormation: what to sign with, which may be the instance identity
   * (CFN_V1) instead of keys. Default: `credentials`.
   */
  identity?: SigningIdentityProvider;
  http: HttpClient;
  apiVersion: string;
  signatureVersion?: SignatureVersion;
  /** GET puts parameters in the query string (what the cfn tools send); POST in a form body. */
  method?: 'GET' | 'POST';
}

/**
 * As aws-cfn-bootstrap puts CFN_V1 requests on the wire (nothing signs the
 * query there): in the caller's order, form-encoded (space as `+`).
 */
export function formParams(params: Record<string, string>): string {
  const enc = (s: string) => uriEncode(s).replace(/%20/g, '+');
  return Object.entries(params)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');
}

export function encodeParams(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(params[k])}`)
    .join('&');
}

/** Decode a 2xx answer body: JSON (Heat/AWS with ContentType=JSON) or XML. */
export function decodeBody(text: string, contentType: string, status: number, url: string): unknown {
  const trimmed = text.trim();
  if (/json/i.test(contentType) || trimmed.startsWith('{') || trimmed.startsWith('"')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new ProtocolError(`answer from ${redactUrl(url)} is ${jsonSyntaxProblem(trimmed)}`);
    }
    // heat-api-cfn answers engine errors as HTTP 200 with a bare JSON string.
    if (typeof value === 'string') {
      const info = heatErrorFromString(status, value);
      throw new ApiError(status, info.code === `HTTP${status}` ? 'HeatError' : info.code, info.message, redactUrl(url));
    }
    return value;
  }
  if (trimmed.startsWith('<')) {
    // The parser makes what it can of a truncated document; a cut answer must be an error, not half an answer.
    const valid = XMLValidator.validate(trimmed);
    if (valid !== true) throw new ProtocolError(`answer from ${redactUrl(url)} is not well-formed XML (${valid.err.msg}, line ${valid.err.line}): ${excerpt(trimmed, 120)}`);
    return parseXml(trimmed, `answer from ${redactUrl(url)}`);
  }
  if (trimmed === '') return {};
  throw new ProtocolError(`answer from ${redactUrl(url)} is neither JSON nor XML: ${excerpt(trimmed, 120)}`);
}

export class QueryClient {
  private readonly signer: Signer;

  constructor(private readonly opts: QueryClientOptions) {
    const { endpoint, identity } = opts;
    const credentials: CredentialProvider = identity
      ? {
          async get() {
            const id = await identity.get();
            if (id.kind !== 'keys') throw new Error('unreachable: an instance identity where keys were resolved');
            return id.credentials;
          },
        }
      : opts.credentials;
    this.signer = (opts.signatureVersion ?? 4) === 2
      ? v2Signer(credentials)
      : v4Signer(credentials, { region: endpoint.region, service: endpoint.service });
  }

  get endpoint(): Endpoint {
    return this.opts.endpoint;
  }

  /** `retry` narrows the client's policy for this call (a deadline shared by several calls). */
  async call(action: string, params: Record<string, string>, opts: { retry?: Partial<RetryPolicy> } = {}): Promise<unknown> {
    const all = { Action: action, ...params, Version: this.opts.apiVersion };
    const base = this.opts.endpoint.url;
    const id = await this.opts.identity?.get();
    let req: HttpRequest;
    let signer = this.signer;
    if (id?.kind === 'instance-identity') {
      req = { method: 'GET', url: `${base}?${formParams(all)}`, headers: { Accept: 'application/json' } };
      signer = cfnV1Signer(id.identity);
    } else if ((this.opts.method ?? 'GET') === 'GET') {
      req = { method: 'GET', url: `${base}?${encodeParams(all)}`, headers: { Accept: 'application/json' } };
    } else {
      req = {
        method: 'POST',
        url: base,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', Accept: 'application/json' },
        body: encodeParams(all),
      };
    }
    const res = await this.opts.http.request(req, { signer, retry: opts.retry });
    return decodeBody(res.body.toString('utf8'), res.headers['content-type'] ?? '', res.status, res.url);
  }
}

/** Walk `obj` along `keys`; a missing step is a ProtocolError naming the path. */
export function dig(obj: unknown, keys: string[], what: string): unknown {
  let cur: unknown = obj;
  for (const [i, k] of keys.entries()) {
    if (cur === null || typeof cur !== 'object' || !(k in (cur as Record<string, unknown>))) {
      throw new ProtocolError(`${what}: answer has no ${keys.slice(0, i + 1).join('.')}`);
    }
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
