/**
 * The endpoints a deployment signals through besides heat-api-cfn's
 * `/v1/signal/<arn>`, and those a server's agent reads its metadata from
 * besides DescribeStackResource: keystone (`/v3`), the Swift object store's
 * temp URLs (`/swift/v1/...`: a TEMP_URL_SIGNAL PUT, a POLL_TEMP_URL GET),
 * heat-api's resource signal and metadata (`/v1/<project>/stacks/...`) and
 * Zaqar (`/zaqar/...`). Each notes in the request log how the request was
 * authenticated and, when refused, why.
 */
import type { Reply } from './heat-format';
import { NATIVE_METADATA_RE, NATIVE_SIGNAL_RE, nativeMetadata, nativeSignal } from './heat-native';
import { type Keystone, keystoneError } from './keystone';
import type { MetadataPush } from './metadata-push';
import type { Model } from './model';
import type { RequestLogEntry } from './state-view';
import { checkTempUrl, SWIFT_PREFIX, SwiftReplies, type TempUrlCheck } from './swift-tempurl';
import { type SignalSink, ZAQAR_PREFIX, zaqarEndpoint, type ZaqarQueues } from './zaqar';

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
  push: MetadataPush;
  queues: ZaqarQueues;
  /** Posts to a ZAQAR_SIGNAL deployment's queue. */
  zaqarSignal: SignalSink;
}

/** The answer of one of these endpoints, or `undefined` when the path is none of theirs. */
export function signalEndpoint(req: EndpointRequest, ctx: EndpointContext, entry: RequestLogEntry): Reply | undefined {
  if (req.rawPath === '/v3' || req.rawPath.startsWith('/v3/')) {
    if (req.method !== 'POST' || req.rawPath !== '/v3/auth/tokens') return keystoneError(404, 'Not Found', 'The resource could not be found.', ctx.url);
    entry.signature = 'password';
    return ctx.keystone.authenticate(req.body, ctx.url, (reason) => (entry.verified = reason));
  }
  if (req.rawPath.startsWith(`${SWIFT_PREFIX}/`)) return tempUrlRequest(req, ctx, entry);
  if (NATIVE_SIGNAL_RE.test(req.rawPath)) {
    entry.signature = 'token';
    return nativeSignal(req, ctx, entry);
  }
  if (NATIVE_METADATA_RE.test(req.rawPath)) {
    entry.signature = 'token';
    return nativeMetadata(req, ctx, entry);
  }
  if (req.rawPath.startsWith(`${ZAQAR_PREFIX}/`)) {
    entry.signature = 'token';
    return zaqarEndpoint(req, { queues: ctx.queues, keystone: ctx.keystone, url: ctx.url, now: ctx.now, signal: ctx.zaqarSignal }, entry);
  }
  return undefined;
}

/** Swift's tempurl middleware: a HEAD goes with a signature for HEAD, GET, PUT or POST. */
function checkFor(req: EndpointRequest, ctx: EndpointContext, now: number): TempUrlCheck {
  const methods = req.method === 'HEAD' ? ['HEAD', 'GET', 'PUT', 'POST'] : [req.method];
  let check: TempUrlCheck = { ok: false, reason: 'no method' };
  for (const m of methods) {
    check = checkTempUrl(m, req.rawPath, req.rawQuery, ctx.tempUrlKey, now);
    if (check.ok) break;
  }
  return check;
}

/** A temp URL request: the PUT of a TEMP_URL_SIGNAL, or the GET (HEAD) of a POLL_TEMP_URL server's metadata. */
function tempUrlRequest(req: EndpointRequest, ctx: EndpointContext, entry: RequestLogEntry): Reply {
  const now = ctx.now();
  entry.signature = 'temp-url';
  const check = checkFor(req, ctx, now);
  if (!check.ok) {
    entry.verified = `Unauthorized: ${check.reason}`;
    return SwiftReplies.invalid(/^\/swift\/v1\/([^/?]+)/.exec(req.rawPath)?.[1] ?? 'unknown', now);
  }
  entry.verified = 'ok';
  if (req.method === 'GET' || req.method === 'HEAD') {
    const object = ctx.push.object(`/v1/${check.account}/${check.container}/${check.object}`);
    return object ? SwiftReplies.object(object, req.headers, now) : SwiftReplies.notFound(now);
  }
  return tempUrlPut(req, ctx, check, now);
}

/**
 * A PUT to a temp URL. The object is what Heat reads on its next look at a
 * TEMP_URL_SIGNAL deployment, so a PUT to a deployment's object signals it
 * (an empty object is Heat's placeholder, not a signal). The container (the
 * stack id) exists while a TEMP_URL_SIGNAL deployment of the stack does.
 */
function tempUrlPut(req: EndpointRequest, ctx: EndpointContext, check: Extract<TempUrlCheck, { ok: true }>, now: number): Reply {
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
