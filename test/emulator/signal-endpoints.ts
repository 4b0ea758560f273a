/**
 * The endpoints a deployment signals through besides heat-api-cfn's
 * `/v1/signal/<arn>`: keystone (`/v3`), the Swift object store's temp URLs
 * (`/swift/v1/...`) and heat-api's resource signal
 * (`/v1/<project>/stacks/...`). Each notes in the request log how the
 * request was authenticated and, when refused, why.
 */
import type { Reply } from './heat-format';
import { NATIVE_SIGNAL_RE, nativeSignal } from './heat-native';
import { type Keystone, keystoneError } from './keystone';
import type { Model } from './model';
import type { RequestLogEntry } from './state-view';
import { checkTempUrl, SWIFT_PREFIX, SwiftReplies } from './swift-tempurl';

export interface EndpointRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface EndpointContext {
  model: Model;
  keystone: Keystone;
  /** `http://127.0.0.1:PORT` */
  url: string;
  tempUrlKey: string;
  now: () => number;
}

/** The answer of one of these endpoints, or `undefined` when the path is none of theirs. */
export function signalEndpoint(req: EndpointRequest, ctx: EndpointContext, entry: RequestLogEntry): Reply | undefined {
  if (req.rawPath === '/v3' || req.rawPath.startsWith('/v3/')) {
    if (req.method !== 'POST' || req.rawPath !== '/v3/auth/tokens') return keystoneError(404, 'Not Found', 'The resource could not be found.', ctx.url);
    entry.signature = 'password';
    return ctx.keystone.authenticate(req.body, ctx.url, (reason) => (entry.verified = reason));
  }
  if (req.rawPath.startsWith(`${SWIFT_PREFIX}/`)) return tempUrlPut(req, ctx, entry);
  if (NATIVE_SIGNAL_RE.test(req.rawPath)) {
    entry.signature = 'token';
    return nativeSignal(req, ctx, entry);
  }
  return undefined;
}

/**
 * A PUT to a temp URL. The object is what Heat reads on its next look at a
 * TEMP_URL_SIGNAL deployment, so a PUT to a deployment's object signals it
 * (an empty object is Heat's placeholder, not a signal). The container (the
 * stack id) exists while a TEMP_URL_SIGNAL deployment of the stack does.
 */
function tempUrlPut(req: EndpointRequest, ctx: EndpointContext, entry: RequestLogEntry): Reply {
  const now = ctx.now();
  entry.signature = 'temp-url';
  const check = checkTempUrl(req.method, req.rawPath, req.rawQuery, ctx.tempUrlKey, now);
  if (!check.ok) {
    entry.verified = `Unauthorized: ${check.reason}`;
    return SwiftReplies.invalid(/^\/swift\/v1\/([^/?]+)/.exec(req.rawPath)?.[1] ?? 'unknown', now);
  }
  entry.verified = 'ok';
  if (req.method !== 'PUT') return SwiftReplies.methodNotAllowed(now);
  const software = ctx.model.software;
  const live = software.all().filter((d) => !d.deleted && d.transport === 'TEMP_URL_SIGNAL' && `AUTH_${d.stack.tenant}` === check.account && d.stack.stackId === check.container);
  if (!live.length) return SwiftReplies.notFound(now);
  const deployment = live.find((d) => d.incarnation.physicalName === check.object);
  if (deployment && req.body.length) {
    const text = req.body.toString('utf8');
    let details: unknown;
    try {
      details = JSON.parse(text);
    } catch (err) {
      software.signal(deployment, text, 'TEMP_URL_SIGNAL', `the object is not JSON (${(err as Error).message})`);
      return SwiftReplies.created(req.body, now);
    }
    software.signal(deployment, details, 'TEMP_URL_SIGNAL');
  }
  return SwiftReplies.created(req.body, now);
}
