/**
 * Heat's response text, byte for byte: heat-api-cfn serialises with Python's
 * json.dumps (ensure_ascii, ", " and ": " separators), with lxml (dicts become
 * elements, lists `<member>`, Metadata/TemplateBody JSON text inside the
 * element, ASCII output with character references) and webob's plain-text
 * error pages. Clients compare against real Heat, so the emulator must too.
 */

/** What a handler answers; the server adds Date, Server and Content-Length. */
export interface Reply {
  status: number;
  /** Reason phrase; Heat's API errors use their code (`400 InvalidParameterValue`). */
  reason?: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

export const XML_TYPE = 'application/xml; charset=UTF-8';
export const JSON_TYPE = 'application/json';
export const PLAIN_TYPE = 'text/plain; charset=UTF-8';

// ---------------------------------------------------------------------------
// Python text forms

/** Python's repr() of a float (shortest round-trip digits, exponent outside 1e-4..1e16). */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  const [mant, expText] = n.toExponential().split('e');
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let out: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) out = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length > exp + 1) out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    else out = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return neg ? `-${out}` : out;
}

/**
 * JSON and YAML do not keep Python's int/float distinction; an integral
 * number is printed as a Python int, anything else as a float.
 */
function pyNumber(n: number): string {
  return Number.isInteger(n) ? BigInt(n).toString() : pyFloatRepr(n);
}

function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    // ensure_ascii escapes everything outside ' '..'~', per UTF-16 code unit like Python.
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return out + '"';
}

/** Python's `json.dumps(value)` with its default arguments. */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyJsonString(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyJsonString(k)}: ${pyJsonDumps(v)}`);
    return `{${parts.join(', ')}}`;
  }
  throw new TypeError(`cannot serialise a ${typeof value} as JSON`);
}

/** Python's str() of a JSON value (what lxml gets as element text, what `%s` formats). */
export function pyStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'object') return pyRepr(value);
  return String(value);
}

/** Python's repr() of a str: single quotes unless only double quotes avoid escaping. */
function pyReprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's repr() of a JSON value: how str() prints a list or a dict. */
function pyRepr(value: unknown): string {
  if (typeof value === 'string') return pyReprString(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyReprString(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return pyStr(value);
}

/** A JSON object: what Python sees as a dict. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Python truthiness of a JSON value (`if value:` in Heat's serializer). */
export function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value as object).length > 0;
  return true;
}

const ALWAYS_SAFE = /[A-Za-z0-9_.\-~]/;

/** Python's `urllib.parse.quote(s, safe)`: UTF-8 bytes, upper-case hex. */
export function pyQuote(input: string | Buffer, safe = '/'): string {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && (ALWAYS_SAFE.test(ch) || safe.includes(ch))) out += ch;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Python's `quote_plus(s, safe='')`, as `urlencode` applies it. */
export function pyQuotePlus(s: string): string {
  return pyQuote(s, ' ').replace(/ /g, '+');
}

/** Percent-decode to bytes; malformed escapes stay as they are (Python's unquote). */
export function percentDecode(s: string): Buffer {
  const out: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25 && i + 2 < raw.length && /^[0-9a-fA-F]{2}$/.test(String.fromCharCode(raw[i + 1], raw[i + 2]))) {
      out.push(parseInt(String.fromCharCode(raw[i + 1], raw[i + 2]), 16));
      i += 2;
    } else {
      out.push(raw[i]);
    }
  }
  return Buffer.from(out);
}

// ---------------------------------------------------------------------------
// Heat's XML serializer (lxml-based)

/** Keys whose values Heat puts into the XML as JSON text. */
const JSON_ONLY_KEYS = new Set(['TemplateBody', 'Metadata']);

/** XML cannot carry these; lxml refuses them, which in Heat ends as a 500. */
export class XmlIncompatibleError extends Error {}

function xmlText(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '\r') out += '&#13;';
    else if (cp < 0x20 && ch !== '\n' && ch !== '\t') throw new XmlIncompatibleError('All strings must be XML compatible');
    else if (cp > 0x7e) out += `&#${cp};`;
    else out += ch;
  }
  return out;
}

function element(name: string, value: unknown): string {
  let text: string | undefined;
  let children = '';
  if (Array.isArray(value)) {
    children = value.map((item) => element('member', item)).join('');
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (JSON_ONLY_KEYS.has(key)) children += pyTruthy(v) ? `<${key}>${xmlText(pyJsonDumps(v))}</${key}>` : `<${key}/>`;
      else children += element(key, v);
    }
  } else {
    text = pyStr(value);
  }
  if (text === undefined && children === '') return `<${name}/>`;
  return `<${name}>${text === undefined ? '' : xmlText(text)}${children}</${name}>`;
}

/** `XMLResponseSerializer.to_xml`: the root is the document's single key. */
export function heatXml(doc: Record<string, unknown>): string {
  const [root] = Object.keys(doc);
  return element(root, doc[root]);
}

/** Heat's `<Action>Response` / `<Action>Result` wrapping of an API result. */
export function formatResponse(action: string, result: unknown): Record<string, unknown> {
  return { [`${action}Response`]: { [`${action}Result`]: result } };
}

/** 200 answer in the form Heat's Resource picks: JSON iff the request said ContentType=JSON. */
export function heatResult(doc: Record<string, unknown>, json: boolean): Reply {
  if (json) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: pyJsonDumps(doc) };
  return { status: 200, headers: { 'Content-Type': XML_TYPE }, body: heatXml(doc) };
}

// ---------------------------------------------------------------------------
// Heat's AWS API errors

export class HeatApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly explanation: string,
    readonly errType: 'Sender' | 'Server' = 'Sender',
    readonly detail?: string,
  ) {
    super(detail ? `${explanation}:${detail}` : explanation);
    this.name = 'HeatApiError';
  }

  /** `str(ex)` of the webob exception: what the JSON serializer writes. */
  get jsonString(): string {
    return this.detail || this.explanation;
  }

  /** The XML body every HeatAPIException carries from its constructor. */
  toXmlReply(): Reply {
    const body = heatXml({ ErrorResponse: { Error: { Type: this.errType, Code: this.code, Message: this.message } } });
    return { status: this.status, reason: this.code, headers: { 'Content-Type': XML_TYPE }, body };
  }

  /**
   * A controller that *returns* the exception: the JSON serializer turns it
   * into HTTP 200 with a bare JSON string, the XML one fails and the
   * exception's own 4xx/5xx XML body goes out.
   */
  toReturnedReply(json: boolean): Reply {
    if (json) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: pyJsonDumps(this.jsonString) };
    return this.toXmlReply();
  }
}

export const HeatErrors = {
  invalidParameterValue: (detail?: string) => new HeatApiError(400, 'InvalidParameterValue', 'A bad or out-of-range value was supplied', 'Sender', detail),
  missingParameter: (detail?: string) => new HeatApiError(400, 'MissingParameter', 'A mandatory input parameter is missing', 'Sender', detail),
  invalidParameterCombination: (detail?: string) => new HeatApiError(400, 'InvalidParameterCombination', 'Incompatible parameters were used together', 'Sender', detail),
  invalidAction: () => new HeatApiError(400, 'InvalidAction', 'The action or operation requested is invalid'),
  accessDenied: () => new HeatApiError(403, 'AccessDenied', 'User is not authorized to perform action'),
  incompleteSignature: () => new HeatApiError(400, 'IncompleteSignature', 'The request signature does not conform to AWS standards'),
  missingAuthenticationToken: () => new HeatApiError(403, 'MissingAuthenticationToken', 'Does not contain a valid AWS Access Key or certificate'),
  invalidClientTokenId: () => new HeatApiError(403, 'InvalidClientTokenId', 'The certificate or AWS Key ID provided does not exist'),
  signatureDoesNotMatch: () =>
    new HeatApiError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided'),
  internalFailure: () => new HeatApiError(500, 'InternalFailure', 'The request processing has failed due to an internal error', 'Server'),
  throttling: () => new HeatApiError(400, 'Throttling', 'Request was denied due to request throttling'),
  serviceUnavailable: () => new HeatApiError(503, 'ServiceUnavailable', 'Service temporarily unavailable', 'Server'),
};

// ---------------------------------------------------------------------------
// webob's plain-text error pages (routes that do not match, body errors)

const WEBOB: Record<number, [title: string, explanation: string]> = {
  400: ['Bad Request', 'The server could not comply with the request since\r\nit is either malformed or otherwise incorrect.\r\n'],
  404: ['Not Found', 'The resource could not be found.'],
  405: ['Method Not Allowed', 'The method is not allowed for this resource.'],
  413: ['Request Entity Too Large', 'The body of your request was too large for this server.'],
};

/** webob's `plain_body`: explanation and detail run through its strip_tags. */
export function webobPlain(status: keyof typeof WEBOB | number, detail = ''): Reply {
  const [title, explanation] = WEBOB[status] ?? ['Error', ''];
  const html = `${explanation}<br /><br />\n${detail}\n\n`;
  const body = html.replace(/\n/g, ' ').replace(/\r/g, '').replace(/<br.*?>/gis, '\n');
  return { status, reason: title, headers: { 'Content-Type': PLAIN_TYPE }, body: `${status} ${title}\n\n${body}` };
}
