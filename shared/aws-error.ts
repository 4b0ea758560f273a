/**
 * Error bodies from AWS and from Heat's AWS-compatible APIs, reduced to
 * `{code, message, type}` so that the retry policy and the tools can act on
 * the error code and users see the server's own words.
 */
import { STATUS_CODES } from 'node:http';
import { parseXml } from './xml';

export interface AwsErrorInfo {
  /** AWS error code (`Throttling`, `AccessDenied`...) or `HTTP<status>` when the body has none. */
  code: string;
  message: string;
  /** `Sender`, `Receiver`/`Server` when the body says. */
  type?: string;
}

const EXCERPT_MAX = 200;

/**
 * Heat's CFN API answers engine errors on the ContentType=JSON path with a
 * bare JSON string: the `explanation` of a HeatAPIException (possibly
 * followed by `:detail`). Map them back to the codes the XML path would give.
 */
const HEAT_EXPLANATIONS: ReadonlyArray<[prefix: string, code: string, type: string]> = [
  ['A bad or out-of-range value was supplied', 'InvalidParameterValue', 'Sender'],
  ['User is not authorized to perform action', 'AccessDenied', 'Sender'],
  ['The request processing has failed due to an internal error', 'InternalFailure', 'Server'],
  ['The action or operation requested is invalid', 'InvalidAction', 'Sender'],
  ['Cannot perform action on stack while other actions are in progress', 'InvalidAction', 'Sender'],
  ['Resource with the name requested already exists', 'AlreadyExists', 'Sender'],
  ['Request was denied due to request throttling', 'Throttling', 'Sender'],
  ['Request expired or more than 15mins in the future', 'RequestExpired', 'Sender'],
  ['Service temporarily unavailable', 'ServiceUnavailable', 'Server'],
  ['A mandatory input parameter is missing', 'MissingParameter', 'Sender'],
  ['The requested action is not yet implemented', 'APINotImplemented', 'Server'],
];

export function heatErrorFromString(status: number, text: string): AwsErrorInfo {
  const message = excerpt(text);
  for (const [prefix, code, type] of HEAT_EXPLANATIONS) {
    if (text.startsWith(prefix)) return { code, message, type };
  }
  return { code: `HTTP${status}`, message };
}

export function parseAwsError(status: number, contentType: string | undefined, bodyText: string): AwsErrorInfo {
  const text = bodyText.trim();
  const ct = (contentType ?? '').toLowerCase();
  if (text.startsWith('<') || ct.includes('xml')) {
    const info = fromXml(text);
    if (info) return info;
  } else if (text.startsWith('{') || text.startsWith('"') || ct.includes('json')) {
    const info = fromJson(status, text);
    if (info) return info;
  }
  return { code: `HTTP${status}`, message: excerpt(stripMarkup(text)) || (STATUS_CODES[status] ?? '') };
}

function fromXml(text: string): AwsErrorInfo | undefined {
  let doc: unknown;
  try {
    doc = parseXml(text, 'error answer');
  } catch {
    // Not well-formed (an HTML error page, say) or nested past the bound: the caller falls back to a text excerpt.
    return undefined;
  }
  // Query APIs: <ErrorResponse><Error>; EC2: <Response><Errors><Error>; S3: a bare <Error>.
  const candidates = [get(doc, 'ErrorResponse', 'Error'), get(doc, 'Response', 'Errors', 'Error'), get(doc, 'Error')];
  for (const c of candidates) {
    const err = Array.isArray(c) ? c[0] : c;
    const info = fromErrorObject(err);
    if (info) return info;
  }
  return undefined;
}

function fromJson(status: number, text: string): AwsErrorInfo | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Truncated or not JSON after all: the caller falls back to a text excerpt.
    return undefined;
  }
  if (typeof doc === 'string') return heatErrorFromString(status, doc);
  if (!isObject(doc)) return undefined;
  const wrapped = fromErrorObject(get(doc, 'Error')) ?? fromErrorObject(get(doc, 'ErrorResponse', 'Error'));
  if (wrapped) return wrapped;
  const message = str(doc.message) ?? str(doc.Message) ?? '';
  // JSON protocol services: {"__type": "com.amazon.coral.service#ThrottlingException", "message": "..."}.
  const awsType = str(doc.__type);
  // restJson services may append `:<namespace URL>` to the type.
  if (awsType) return { code: awsType.slice(awsType.lastIndexOf('#') + 1).split(':')[0], message: excerpt(message) };
  // OpenStack native APIs (Heat, keystone): {"error": {"message", "type" | "title", "code": 401}}.
  const os = get(doc, 'error');
  if (isObject(os)) {
    const code = str(os.type) ?? str(os.title);
    if (code || str(os.message)) return { code: code ?? `HTTP${status}`, message: excerpt(str(os.message) ?? '') };
  }
  const code = str(doc.code) ?? str(doc.Code);
  if (code) return { code, message: excerpt(message) };
  if (message) return { code: `HTTP${status}`, message: excerpt(message) };
  return undefined;
}

function fromErrorObject(err: unknown): AwsErrorInfo | undefined {
  if (!isObject(err)) return undefined;
  const code = str(err.Code);
  if (!code) return undefined;
  const info: AwsErrorInfo = { code, message: excerpt(str(err.Message) ?? '') };
  const type = str(err.Type);
  if (type) info.type = type;
  return info;
}

function get(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

function stripMarkup(text: string): string {
  if (!text.startsWith('<')) return text;
  return text
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<title>[\s\S]*?<\/title>/gi, ' ')
    .replace(/<[^>]*>/g, ' ');
}

/** One line, at most EXCERPT_MAX characters: error bodies can be whole HTML pages. */
export function excerpt(text: string, max = EXCERPT_MAX): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
