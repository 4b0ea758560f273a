/**
 * Zaqar, the queue service of ZAQAR_MESSAGE (Heat posts the server's
 * metadata to the server's queue) and ZAQAR_SIGNAL (the agent posts a
 * deployment's outputs to its queue, which heat-engine pops), served under
 * `/zaqar` (the catalog's `messaging` endpoint) in API v2 and the deprecated
 * v1.1 alike. What a client meets is Zaqar 15's: keystonemiddleware's 401
 * without a valid token; falcon's 400 without a `Client-ID` header (any
 * UUID); the queue belongs to the token's project and exists from its first
 * post; `POST .../messages` takes `{"messages": [{"ttl", "body"}]}` (ttl 60
 * s to 14 days) and answers 201 with the messages' hrefs; a pop
 * (`DELETE .../messages?pop=N`, 1 to 20) answers 200 with the messages it
 * took, `{"messages": []}` when none; `GET .../messages` lists without
 * consuming (`echo=true` includes the client's own); a claim
 * (`POST .../claims?limit=N`, `{"ttl", "grace"}`, 60 s at least each)
 * answers 201 with the messages and their hrefs, 204 when none; a claimed
 * message is deleted with its href (`?claim_id=`) and hidden from others
 * until its claim expires. Messages expire with their ttl on the emulator
 * clock.
 */
import { randomUUID } from 'node:crypto';
import type { Reply } from './heat-format';
import { percentDecode } from './heat-format';
import { type Keystone, middlewareUnauthorized } from './keystone';

export const ZAQAR_PREFIX = '/zaqar';

/** Zaqar's defaults: `max_messages_per_claim_or_pop`, `max_messages_per_page`, `max_message_ttl`. */
const MAX_POP = 20;
const MAX_PAGE = 20;
const MIN_TTL = 60;
const MAX_TTL = 1_209_600;
/** Zaqar's `max_messages_post_size`. */
const MAX_POST_BYTES = 262_144;
/** The emulator's bound: the oldest message goes when a queue would hold more. */
export const MAX_QUEUE_MESSAGES = 1000;
const QUEUE_NAME = /^[a-zA-Z0-9_\-.]{1,64}$/;

export interface StoredMessage {
  id: string;
  ttl: number;
  body: unknown;
  postedAt: number;
  clientId: string;
  claim?: { id: string; expiresAt: number };
}

/** A post to a queue that is a deployment's signal queue: consumed at once, as heat-engine pops it. */
export type SignalSink = (project: string, queue: string, bodies: unknown[]) => boolean;

export class ZaqarQueues {
  private readonly queues = new Map<string, StoredMessage[]>();

  constructor(private readonly now: () => number) {}

  clear(): void {
    this.queues.clear();
  }

  /** The live messages of a queue (expired ones dropped). */
  private live(project: string, queue: string): StoredMessage[] {
    const key = `${project}/${queue}`;
    const now = this.now();
    const list = (this.queues.get(key) ?? []).filter((m) => m.postedAt + m.ttl * 1000 > now);
    if (list.length) this.queues.set(key, list);
    else this.queues.delete(key);
    return list;
  }

  post(project: string, queue: string, messages: Array<{ ttl: number; body: unknown }>, clientId: string): string[] {
    const list = this.live(project, queue);
    const now = this.now();
    const ids = messages.map((m) => {
      const stored: StoredMessage = { id: randomUUID().replace(/-/g, '').slice(0, 24), ttl: m.ttl, body: JSON.parse(JSON.stringify(m.body ?? null)), postedAt: now, clientId };
      list.push(stored);
      return stored.id;
    });
    list.splice(0, Math.max(0, list.length - MAX_QUEUE_MESSAGES));
    this.queues.set(`${project}/${queue}`, list);
    return ids;
  }

  private visible(project: string, queue: string): StoredMessage[] {
    const now = this.now();
    return this.live(project, queue).filter((m) => !m.claim || m.claim.expiresAt <= now);
  }

  /** Up to `limit` unclaimed messages, oldest first, removed. */
  pop(project: string, queue: string, limit: number): StoredMessage[] {
    const taken = this.visible(project, queue).slice(0, limit);
    const ids = new Set(taken.map((m) => m.id));
    const rest = this.live(project, queue).filter((m) => !ids.has(m.id));
    if (rest.length) this.queues.set(`${project}/${queue}`, rest);
    else this.queues.delete(`${project}/${queue}`);
    return taken;
  }

  /** Unclaimed messages without taking them; a client's own only with `echo`. */
  list(project: string, queue: string, limit: number, clientId: string, echo: boolean): StoredMessage[] {
    return this.visible(project, queue).filter((m) => echo || m.clientId !== clientId).slice(0, limit);
  }

  claim(project: string, queue: string, limit: number, ttl: number, grace: number): { id: string; messages: StoredMessage[] } {
    const id = randomUUID().replace(/-/g, '').slice(0, 24);
    const now = this.now();
    const messages = this.visible(project, queue).slice(0, limit);
    for (const m of messages) {
      m.claim = { id, expiresAt: now + ttl * 1000 };
      // Zaqar keeps a claimed message at least until its claim and grace are over.
      m.ttl = Math.max(m.ttl, Math.ceil((now - m.postedAt) / 1000) + ttl + grace);
    }
    return { id, messages };
  }

  /** Deletes a message; a claimed one only with its claim's id. False when the claim does not match. */
  delete(project: string, queue: string, id: string, claimId: string | undefined): boolean {
    const now = this.now();
    const list = this.live(project, queue);
    const m = list.find((x) => x.id === id);
    if (!m) return true;
    const claimed = m.claim && m.claim.expiresAt > now;
    if (claimed ? claimId !== m.claim!.id : claimId !== undefined) return false;
    this.queues.set(`${project}/${queue}`, list.filter((x) => x !== m));
    return true;
  }
}

function falconError(status: number, reason: string, title: string, description?: string): Reply {
  const body: Record<string, string> = { title };
  if (description !== undefined) body.description = description;
  return { status, reason, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

const badRequest = (description: string) => falconError(400, 'Bad Request', 'Invalid API request', description);
const json = (status: number, reason: string, value: unknown): Reply => ({ status, reason, headers: { 'Content-Type': 'application/json; charset=UTF-8' }, body: JSON.stringify(value) });

export interface ZaqarRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ZaqarContext {
  queues: ZaqarQueues;
  keystone: Keystone;
  /** `http://127.0.0.1:PORT` */
  url: string;
  now: () => number;
  signal: SignalSink;
}

const ROUTE = /^\/zaqar\/(v2|v1\.1)\/queues\/([^/]+)\/(messages|claims)(?:\/([^/]+))?$/;

function formatted(m: StoredMessage, version: string, queue: string, now: number, claimId?: string): Record<string, unknown> {
  const href = `/${version}/queues/${queue}/messages/${m.id}${claimId ? `?claim_id=${claimId}` : ''}`;
  return { id: m.id, href, ttl: m.ttl, age: Math.floor((now - m.postedAt) / 1000), body: m.body };
}

/** An answer under /zaqar; `note` gets what the request log says of its authentication. */
export function zaqarEndpoint(req: ZaqarRequest, ctx: ZaqarContext, note: { verified?: string }): Reply {
  const token = ctx.keystone.validate(req.headers['x-auth-token']);
  if ('invalid' in token) {
    note.verified = `Unauthorized: ${token.invalid}`;
    return middlewareUnauthorized(ctx.url);
  }
  if (!token.projectId) {
    note.verified = 'Unauthorized: an unscoped token';
    return middlewareUnauthorized(ctx.url);
  }
  note.verified = 'ok';
  const clientId = req.headers['client-id'];
  if (!clientId) return falconError(400, 'Bad Request', 'Missing header value', 'The "Client-ID" header is required.');
  const m = ROUTE.exec(req.rawPath);
  if (!m) return falconError(404, 'Not Found', '404 Not Found');
  const [, version, rawQueue, kind, item] = m;
  const queue = percentDecode(rawQueue!).toString('utf8');
  if (!QUEUE_NAME.test(queue)) return badRequest('Queue names may only contain ASCII letters, digits, underscores, and dashes.');
  const project = token.projectId;
  const q = new URLSearchParams(req.rawQuery);
  const now = ctx.now();
  const intParam = (name: string) => (q.has(name) ? Number(q.get(name)) : undefined);

  if (kind === 'messages' && item === undefined && req.method === 'POST') {
    if (req.body.length > MAX_POST_BYTES) return badRequest(`Message collection size is too large. Max size ${MAX_POST_BYTES}`);
    let doc: unknown;
    try {
      doc = JSON.parse(req.body.toString('utf8'));
    } catch {
      return falconError(400, 'Bad Request', 'Malformed JSON', 'Request body could not be parsed.');
    }
    const list = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { messages?: unknown }).messages : undefined;
    if (list === undefined) return badRequest('No messages were found in the request body.');
    if (!Array.isArray(list) || !list.length) return badRequest('No messages to enqueu.');
    const messages: Array<{ ttl: number; body: unknown }> = [];
    for (const x of list) {
      if (!x || typeof x !== 'object' || !('body' in x)) return badRequest('Missing "body" field.');
      const ttl = (x as { ttl?: unknown }).ttl ?? 3600;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TTL || ttl > MAX_TTL) {
        return badRequest(`The TTL for a message may not exceed ${MAX_TTL} seconds, and must be at least ${MIN_TTL} seconds long.`);
      }
      messages.push({ ttl, body: (x as { body: unknown }).body });
    }
    if (ctx.signal(project, queue, messages.map((x) => x.body))) {
      // Taken at once, as heat-engine pops a signal queue; the ids are those it would have had.
      return json(201, 'Created', { resources: messages.map(() => `/${version}/queues/${queue}/messages/${randomUUID().replace(/-/g, '').slice(0, 24)}`) });
    }
    const ids = ctx.queues.post(project, queue, messages, clientId);
    return json(201, 'Created', { resources: ids.map((id) => `/${version}/queues/${queue}/messages/${id}`) });
  }
  if (kind === 'messages' && item === undefined && req.method === 'DELETE') {
    const pop = intParam('pop');
    if (pop === undefined) return badRequest('The request should have either "ids" or "pop" parameter in the request, to be able to delete.');
    if (!Number.isInteger(pop) || pop < 1 || pop > MAX_POP) return badRequest(`Pop value must be at least 1 and may not be greater than ${MAX_POP}.`);
    return json(200, 'OK', { messages: ctx.queues.pop(project, queue, pop).map((x) => ({ id: x.id, ttl: x.ttl, age: Math.floor((now - x.postedAt) / 1000), body: x.body })) });
  }
  if (kind === 'messages' && item === undefined && req.method === 'GET') {
    const limit = intParam('limit') ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) return badRequest(`Limit must be at least 1 and may not be greater than ${MAX_PAGE}.`);
    const messages = ctx.queues.list(project, queue, limit, clientId, q.get('echo') === 'true').map((x) => formatted(x, version!, queue, now));
    return json(200, 'OK', { messages, links: messages.length ? [{ rel: 'next', href: `/${version}/queues/${queue}/messages?limit=${limit}` }] : [] });
  }
  if (kind === 'messages' && item !== undefined && req.method === 'DELETE') {
    const claimId = q.get('claim_id') ?? undefined;
    if (!ctx.queues.delete(project, queue, item, claimId)) return falconError(403, 'Forbidden', 'Unable to delete', 'This message is claimed; it cannot be deleted without a valid claim ID.');
    return { status: 204, reason: 'No Content', headers: {}, body: '' };
  }
  if (kind === 'claims' && item === undefined && req.method === 'POST') {
    const limit = intParam('limit') ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_POP) return badRequest(`Limit must be at least 1 and may not be greater than ${MAX_POP}.`);
    let doc: { ttl?: unknown; grace?: unknown } = {};
    try {
      doc = req.body.length ? (JSON.parse(req.body.toString('utf8')) as typeof doc) : {};
    } catch {
      return falconError(400, 'Bad Request', 'Malformed JSON', 'Request body could not be parsed.');
    }
    const ttl = doc.ttl ?? 300;
    const grace = doc.grace ?? 60;
    if (typeof ttl !== 'number' || ttl < MIN_TTL || ttl > 43_200) return badRequest(`The TTL for a claim may not exceed 43200 seconds, and must be at least ${MIN_TTL} seconds long.`);
    if (typeof grace !== 'number' || grace < MIN_TTL || grace > 43_200) return badRequest(`The grace for a claim may not exceed 43200 seconds, and must be at least ${MIN_TTL} seconds long.`);
    const claim = ctx.queues.claim(project, queue, limit, ttl, grace);
    if (!claim.messages.length) return { status: 204, reason: 'No Content', headers: {}, body: '' };
    return json(201, 'Created', { messages: claim.messages.map((x) => formatted(x, version!, queue, now, claim.id)) });
  }
  return falconError(405, 'Method Not Allowed', '405 Method Not Allowed');
}
