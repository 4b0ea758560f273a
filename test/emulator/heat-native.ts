/**
 * heat-api's resource signal, the HEAT_SIGNAL transport:
 * `POST /v1/<project>/stacks/<name>/<id>/resources/<resource>/signal` with a
 * keystone token; and its resource metadata, the POLL_SERVER_HEAT transport:
 * `GET .../resources/<resource>/metadata`, `{"metadata": {...}}`. Refusals are keystonemiddleware's 401 and heat-api's fault
 * bodies (FaultWrapper's JSON: code, title, explanation, error type and, for
 * Heat's own exceptions, message).
 */
import { type Deployment, stackUserProject } from './deployments';
import { JSON_TYPE, percentDecode, pyJsonDumps, type Reply, webobPlain } from './heat-format';
import { jsonBody } from './json-body';
import { type Keystone, middlewareUnauthorized } from './keystone';
import type { Model, StackState } from './model';

export const NATIVE_SIGNAL_RE = /^\/v1\/([^/]+)\/stacks\/([^/]+)\/([^/]+)\/resources\/([^/]+)\/signal$/;
export const NATIVE_METADATA_RE = /^\/v1\/([^/]+)\/stacks\/([^/]+)\/([^/]+)\/resources\/([^/]+)\/metadata$/;

const WEBOB: Record<number, [string, string]> = {
  400: ['Bad Request', 'The server could not comply with the request since it is either malformed or otherwise incorrect.'],
  403: ['Forbidden', 'Access was denied to this resource.'],
  404: ['Not Found', 'The resource could not be found.'],
};

/** FaultWrapper's body; only Heat's own exceptions carry a message, webob's are anonymous. */
function heatFault(code: 400 | 403 | 404, type: string, message?: string): Reply {
  const [title, explanation] = WEBOB[code];
  const error: Record<string, unknown> = { type, traceback: null };
  if (message !== undefined) error.message = message;
  return { status: code, reason: title, headers: { 'Content-Type': JSON_TYPE }, body: pyJsonDumps({ code, title, explanation, error }) };
}

export interface NativeRequest {
  method: string;
  rawPath: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** What the request log notes of the token check. */
export interface TokenNote {
  verified?: string;
}

type Found = { stack: StackState; resource: string } | { refused: Reply };

/** The token, then the project, stack and resource of the path, as heat-api checks them. */
function locate(re: RegExp, req: NativeRequest, ctx: { model: Model; keystone: Keystone; url: string }, note: TokenNote, body?: () => Reply | undefined): Found {
  const m = re.exec(req.rawPath)!;
  const token = ctx.keystone.validate(req.headers['x-auth-token']);
  if ('invalid' in token) {
    note.verified = `Unauthorized: ${token.invalid}`;
    return { refused: middlewareUnauthorized(ctx.url) };
  }
  note.verified = 'ok';
  const bad = body?.();
  if (bad) return { refused: bad };
  const [project, stackName, stackId, resource] = m.slice(1).map((p) => percentDecode(p).toString('utf8'));
  if (token.projectId !== project) return { refused: heatFault(403, 'HTTPForbidden') };
  // A token sees the stacks of its project and those whose stack-user project it is.
  const stack = [...ctx.model.stacks.values()].find((s) => s.stackId === stackId && (s.tenant === project || stackUserProject(s) === project));
  if (!stack || stack.stackName !== stackName) return { refused: heatFault(404, 'EntityNotFound', `The Stack (${stackName}) could not be found.`) };
  if (!stack.resources.has(resource!)) return { refused: heatFault(404, 'ResourceNotFound', `The Resource (${resource}) could not be found in Stack ${stackName}.`) };
  return { stack, resource: resource! };
}

/** The signal, in heat-api's order: token, body, project, stack, resource, signal handler. */
export function nativeSignal(req: NativeRequest, ctx: { model: Model; keystone: Keystone; url: string }, note: TokenNote): Reply {
  // The route is a POST route: other verbs find none, and routes' 404 is webob's page.
  if (req.method !== 'POST') return webobPlain(404);
  let body: ReturnType<typeof jsonBody>;
  const found = locate(NATIVE_SIGNAL_RE, req, ctx, note, () => {
    body = jsonBody(req.headers, req.body);
    if (body && 'refused' in body) return body.refused === 'too-large' ? heatFault(400, 'RequestLimitExceeded', body.message) : heatFault(400, 'HTTPBadRequest');
    return undefined;
  });
  if ('refused' in found) return found.refused;
  const deployment: Deployment | undefined = ctx.model.software.of(found.stack, found.resource);
  if (!deployment) return heatFault(400, 'ResourceActionNotSupported', 'signal is not supported for resource.');
  ctx.model.software.signal(deployment, body && !('refused' in body) ? body.value : undefined, 'HEAT_SIGNAL');
  // The engine takes the signal after the answer: `null`, whatever the deployment makes of it.
  return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: 'null' };
}

/** A resource's metadata as heat-api's `resources.metadata` answers it (a server's composed with its deployments). */
export function nativeMetadata(req: NativeRequest, ctx: { model: Model; keystone: Keystone; url: string }, note: TokenNote): Reply {
  if (req.method !== 'GET') return webobPlain(404);
  const found = locate(NATIVE_METADATA_RE, req, ctx, note);
  if ('refused' in found) return found.refused;
  const metadata = ctx.model.metadataOf(found.stack, found.stack.resources.get(found.resource)!);
  return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: pyJsonDumps({ metadata }) };
}
