/**
 * Pre-signed signal URLs. The SigV2 form is what Heat's signal responder
 * hands out (PUT to `/waitcondition/<arn>` for a handle, POST to
 * `/signal/<arn>` for a CFN_SIGNAL deployment), rebuilt step by step so that
 * the same keys, ARN and time give the same URL. The SigV4 form is an
 * AWS-style query-presigned URL for a handle's PUT.
 */
import { percentDecode, pyQuote, pyQuotePlus } from './heat-format';
import { amzDate, canonicalQs, isoSeconds, keystonePath, sigV2, sigV4, type SignKeys, UNSIGNED_PAYLOAD } from './signing';

export interface StackRef {
  tenant: string;
  stackName: string;
  stackId: string;
}

/** `HeatIdentifier.arn()` of a stack: components quoted with safe=''. */
export function stackArn(ref: StackRef): string {
  return `arn:openstack:heat::${pyQuote(ref.tenant, '')}:stacks/${pyQuote(ref.stackName, '')}/${pyQuote(ref.stackId, '')}`;
}

export function resourceArn(ref: StackRef, resource: string): string {
  return `${stackArn(ref)}/resources/${pyQuote(resource, '')}`;
}

/** `arn_url_path()`: `/` + the ARN quoted once more, `/` kept. */
export function arnUrlPath(arn: string): string {
  return `/${pyQuote(arn, '/')}`;
}

export interface HeatUrlInput extends SignKeys {
  /** `heat_waitcondition_server_url`, e.g. `http://127.0.0.1:8000/v1/waitcondition`. */
  signalBaseUrl: string;
  ref: StackRef;
  resource: string;
  time: number;
  /** Heat drops Timestamp only for alarm URLs, never for wait-condition handles. */
  neverExpire?: boolean;
  /** The verb signed: PUT for `/waitcondition` (default), POST for `/signal`. */
  verb?: 'PUT' | 'POST';
}

export function heatSignedUrl(input: HeatUrlInput): string {
  const base = new URL(input.signalBaseUrl);
  const path = arnUrlPath(resourceArn(input.ref, input.resource));
  // Heat signs the unquoted path because that is what webob hands ec2token.
  const unquotedPath = percentDecode(base.pathname + path).toString('utf8');
  const params: Record<string, string> = { SignatureMethod: 'HmacSHA256', SignatureVersion: '2', AWSAccessKeyId: input.accessKey };
  if (!input.neverExpire) params.Timestamp = isoSeconds(input.time);
  params.Signature = sigV2(input.secretKey, input.verb ?? 'PUT', base.host.toLowerCase(), unquotedPath, params);
  // urlencode() keeps the dict's insertion order and quotes with quote_plus.
  const qs = Object.entries(params)
    .map(([k, v]) => `${pyQuotePlus(k)}=${pyQuotePlus(v)}`)
    .join('&');
  return `${input.signalBaseUrl.toLowerCase()}${path}?${qs}`;
}

export interface V4UrlInput extends HeatUrlInput {
  region?: string;
  service?: string;
  expiresSeconds?: number;
}

/** Query-presigned SigV4 PUT (X-Amz-* parameters, payload UNSIGNED-PAYLOAD). */
export function sigV4PresignedUrl(input: V4UrlInput): string {
  const base = new URL(input.signalBaseUrl);
  const urlPath = base.pathname.replace(/\/$/, '') + arnUrlPath(resourceArn(input.ref, input.resource));
  const date = amzDate(input.time);
  const scope = `${date.slice(0, 8)}/${input.region ?? 'us-east-1'}/${input.service ?? 'cloudformation'}/aws4_request`;
  const params: Record<string, string> = {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${input.accessKey}/${scope}`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(input.expiresSeconds ?? 900),
    'X-Amz-SignedHeaders': 'host',
  };
  if (input.sessionToken) params['X-Amz-Security-Token'] = input.sessionToken;
  const qs = canonicalQs(params);
  const canonical = ['PUT', keystonePath(urlPath), qs, `host:${base.host.toLowerCase()}\n`, 'host', UNSIGNED_PAYLOAD].join('\n');
  const signature = sigV4(input.secretKey, canonical, date, scope);
  return `${base.protocol}//${base.host.toLowerCase()}${urlPath}?${qs}&X-Amz-Signature=${signature}`;
}
