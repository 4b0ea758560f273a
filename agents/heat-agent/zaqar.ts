/**
 * The bit of Zaqar's v2 queue API an instance needs: take the messages
 * waiting in a queue (a pop: read and deleted in one request) and post one.
 * Every call carries the keystone token and a Client-ID (any UUID; Zaqar
 * answers 400 without one). The endpoint is the catalog's `messaging` URL,
 * given with or without a version.
 */
import { randomUUID } from 'node:crypto';
import { ProtocolError } from '../../shared/errors';
import type { HttpClient, RetryPolicy } from '../../shared/http';

/** Zaqar's default `max_messages_per_claim_or_pop`. */
export const MAX_POP = 20;
/** Zaqar's default `max_messages_post_size` is 256 KiB; a pop of MAX_POP messages stays far below this. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;


export interface ZaqarCall {
  http: HttpClient;
  /** The catalog's `messaging` endpoint. */
  endpoint: string;
  token: string;
  projectId: string;
  /** Identifies this agent to Zaqar; one per process is enough. */
  clientId: string;
  retry: Partial<RetryPolicy>;
  timeoutMs?: number;
}

/** One Client-ID for the process's calls. */
export const PROCESS_CLIENT_ID = randomUUID();

/** `<endpoint>/v2/queues/<queue>`, whatever version the catalog's URL names. */
export function queueUrl(endpoint: string, queue: string): string {
  const base = endpoint.replace(/\/+$/, '').replace(/\/v(1|1\.1|2)$/, '');
  return `${base}/v2/queues/${encodeURIComponent(queue)}`;
}

function headers(c: ZaqarCall): Record<string, string> {
  return { 'X-Auth-Token': c.token, 'Client-ID': c.clientId, 'X-Project-Id': c.projectId, Accept: 'application/json' };
}

/**
 * Up to `limit` waiting messages, deleted as they are read. Sent once, never
 * retried: a pop whose answer was lost has taken its messages, and a second
 * one would take more (the next check asks again).
 */
export async function popMessages(c: ZaqarCall, queue: string, limit: number): Promise<unknown[]> {
  const n = Math.max(1, Math.min(MAX_POP, Math.floor(limit)));
  const url = `${queueUrl(c.endpoint, queue)}/messages?pop=${n}`;
  const res = await c.http.request({ method: 'DELETE', url, headers: headers(c) }, { retry: { ...c.retry, maxAttempts: 1 }, maxBodyBytes: MAX_ANSWER_BYTES, timeoutMs: c.timeoutMs });
  const text = res.body.toString('utf8').trim();
  if (res.status === 204 || !text) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ProtocolError(`Zaqar's answer to a pop of queue ${queue} is not JSON`);
  }
  const list = (doc as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(list)) throw new ProtocolError(`Zaqar's answer to a pop of queue ${queue} has no messages list`);
  return list.map((m, i) => {
    if (!m || typeof m !== 'object' || !('body' in m)) throw new ProtocolError(`Zaqar's answer to a pop of queue ${queue}: message ${i} has no body`);
    return (m as { body: unknown }).body;
  });
}

/** Posts one message whose body is `bodyJson` (JSON text, sized by the caller), kept `ttlSeconds` in the queue. */
export async function postMessage(c: ZaqarCall, queue: string, bodyJson: string, ttlSeconds: number): Promise<void> {
  const url = `${queueUrl(c.endpoint, queue)}/messages`;
  await c.http.request(
    { method: 'POST', url, headers: { ...headers(c), 'Content-Type': 'application/json' }, body: messagesBody(bodyJson, ttlSeconds) },
    { retry: c.retry, maxBodyBytes: MAX_ANSWER_BYTES, timeoutMs: c.timeoutMs },
  );
}

/** What a post sends: one message, v1.1 and v2 alike. */
export function messagesBody(bodyJson: string, ttlSeconds: number): string {
  return `{"messages":[{"ttl":${ttlSeconds},"body":${bodyJson}}]}`;
}
