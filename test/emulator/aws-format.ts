/**
 * AWS's Query-protocol answers, as opposed to Heat's (heat-format.ts):
 * JSON under `ContentType=JSON` written by a Java service (numbers in Java's
 * `Double.toString` form, `null` for absent values), namespaced XML
 * otherwise, errors as `{"Error":{Code,Message,Type},"RequestId"}` or
 * `<ErrorResponse>`, and an `x-amzn-RequestId` header on every answer.
 */
import { randomUUID } from 'node:crypto';
import type { HeatApiError, Reply } from './heat-format';

export const CFN_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** Escaped for XML text; characters XML 1.0 cannot carry become U+FFFD (messages quote what clients sent). */
export function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Java's `Double.toString`: plain between 10^-3 and 10^7, else `d.dddE<n>`; always a fraction digit. */
export function javaDouble(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  const abs = Math.abs(n);
  if (n === 0 || (abs >= 1e-3 && abs < 1e7)) {
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exp] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exp)}`;
}

/** A number written as given (a Java double), inside a value for `awsJson`. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** Compact JSON, `JsonNumber`s written as their text. */
export function awsJson(value: unknown): string {
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(awsJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}:${awsJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** AWS's XML: an element per key, lists as `<member>`, absent (null) values left out. */
export function awsXmlElement(name: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof JsonNumber) return `<${name}>${value.text}</${name}>`;
  if (Array.isArray(value)) return `<${name}>${value.map((v) => awsXmlElement('member', v)).join('')}</${name}>`;
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value as Record<string, unknown>).map(([k, v]) => awsXmlElement(k, v)).join('')}</${name}>`;
  }
  return `<${name}>${xmlText(String(value))}</${name}>`;
}

function answer(status: number, json: boolean, body: string, requestId: string): Reply {
  return { status, headers: { 'x-amzn-RequestId': requestId, 'Content-Type': json ? 'application/json' : 'text/xml' }, body };
}

/**
 * `<Action>Response`: JSON `{<Action>Response: {<Action>Result: result,
 * ResponseMetadata}}` (no Result for `null`), or the same as XML with the
 * namespace and `ResponseMetadata` beside the Result.
 */
export function awsResult(action: string, result: unknown, json: boolean, requestId: string = randomUUID()): Reply {
  const inner: Record<string, unknown> = result === null ? {} : { [`${action}Result`]: result };
  inner.ResponseMetadata = { RequestId: requestId };
  if (json) return answer(200, true, awsJson({ [`${action}Response`]: inner }), requestId);
  const children = Object.entries(inner).map(([k, v]) => awsXmlElement(k, v)).join('');
  return answer(200, false, `<${action}Response xmlns="${CFN_XMLNS}">${children}</${action}Response>`, requestId);
}

export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
    this.name = 'AwsError';
  }

  /** The same refusal in AWS's words: Heat's codes are AWS's, its "Server" type is AWS's "Receiver". */
  static fromHeat(err: HeatApiError): AwsError {
    return new AwsError(err.status, err.code, err.message, err.errType === 'Server' ? 'Receiver' : 'Sender');
  }

  toReply(json: boolean, requestId: string = randomUUID()): Reply {
    if (json) return answer(this.status, true, awsJson({ Error: { Code: this.code, Message: this.message, Type: this.type }, RequestId: requestId }), requestId);
    const error = awsXmlElement('Error', { Type: this.type, Code: this.code, Message: this.message });
    return answer(this.status, false, `<ErrorResponse xmlns="${CFN_XMLNS}">${error}<RequestId>${requestId}</RequestId></ErrorResponse>`, requestId);
  }
}

export const AwsErrors = {
  /** A required parameter missing: AWS's model validation wording. */
  missing: (member: string) => new AwsError(400, 'ValidationError', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`),
  validation: (message: string) => new AwsError(400, 'ValidationError', message),
  accessDenied: (message: string) => new AwsError(403, 'AccessDenied', message),
  incompleteSignature: (message: string) => new AwsError(400, 'IncompleteSignature', message),
};
