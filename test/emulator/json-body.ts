/**
 * Heat's JSONRequestDeserializer, shared by heat-api-cfn's signal routes and
 * heat-api's: which requests have a body it parses, and its two refusals.
 * Each API words the refusal its own way.
 */

/** Which Content-Type makes Heat parse a PUT or POST body as JSON at all. */
function bodyIsJson(headers: Record<string, string>, body: Buffer): boolean {
  let type = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  // bug 1887882: a missing, empty or text/plain type counts as JSON (cfn-signal sends none).
  if (!type || type.startsWith('text/plain')) type = 'application/json';
  return (type === 'json' || type === 'application/json') && body.length > 0 && body[0] === 0x7b;
}

/** Heat's `max_json_body_size` default. */
const MAX_JSON_BODY = 1048576;

export type JsonBody = { value: unknown } | { refused: 'too-large' | 'not-json'; message: string };

/** The parsed body; `undefined` when Heat would see no body. */
export function jsonBody(headers: Record<string, string>, body: Buffer): JsonBody | undefined {
  if (!bodyIsJson(headers, body)) return undefined;
  if (body.length > MAX_JSON_BODY) {
    return { refused: 'too-large', message: `Request limit exceeded: JSON body size (${body.length} bytes) exceeds maximum allowed size (${MAX_JSON_BODY} bytes).` };
  }
  try {
    return { value: JSON.parse(body.toString('utf8')) };
  } catch (err) {
    return { refused: 'not-json', message: (err as Error).message };
  }
}
