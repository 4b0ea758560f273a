/**
 * A loopback proxy that hands the tools a server's answers, or hostile
 * versions of them: each request is forwarded to the real server (the
 * endpoint emulator, a fake metadata service), and a rewrite chosen by the
 * test may replace the answer by anything a broken or malicious server
 * could send: another status, headers, body, malformed HTTP, a reset, a
 * connection that never answers or one that drips a byte at a time.
 * Answers are written as raw bytes on the socket, so nothing the HTTP
 * server would normalise (Content-Length, framing) gets in the way.
 * It listens on 127.0.0.1 only and forwards only to 127.0.0.1.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { listenLoopback } from '../../support/server';

export interface SeenRequest {
  method: string;
  /** The path without the query. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An answer as it goes on the wire: the headers exactly as listed (no Content-Length is added). */
export interface RawAnswer {
  status: number;
  reason?: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

export type Delivery =
  | { kind: 'answer'; answer: RawAnswer }
  /** These bytes, then the connection closed: a status line, headers and body the test wrote itself, broken or not. */
  | { kind: 'bytes'; bytes: Buffer }
  /** The connection reset without a byte. */
  | { kind: 'reset' }
  /** The request taken, never answered; the connection stays open until the client gives up. */
  | { kind: 'hang' }
  /** These bytes a few at a time, `everyMs` apart, for as long as the client listens. */
  | { kind: 'drip'; bytes: Buffer; everyMs: number };

/** What to do with one request; undefined passes the real answer on. */
export type Rewrite = (req: SeenRequest, real: RawAnswer) => Delivery | undefined;

export interface AnswerProxy {
  url: string;
  port: number;
  /** Where requests go: `http://127.0.0.1:PORT`. Settable after the proxy listens (the server may need the proxy's URL first). */
  target: string;
  rewrite: Rewrite | undefined;
  /** Requests seen since the last reset (method and path), oldest first. */
  readonly seen: string[];
  close(): Promise<void>;
}

/** The wire form of an answer, Content-Length as its headers say. */
export function answerBytes(a: RawAnswer): Buffer {
  const head = [`HTTP/1.1 ${a.status} ${a.reason ?? http.STATUS_CODES[a.status] ?? 'Whatever'}`, ...a.headers.map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), a.body]);
}

/** An answer with its headers kept but framing (length, chunking, connection) set for this body and a closing connection. */
export function framed(status: number, headers: Array<[string, string]>, body: Buffer, reason?: string): RawAnswer {
  const kept = headers.filter(([k]) => !/^(content-length|transfer-encoding|connection|keep-alive)$/i.test(k));
  return { status, reason, headers: [...kept, ['Content-Length', String(body.length)], ['Connection', 'close']], body };
}

function forward(target: string, req: http.IncomingMessage, body: Buffer): Promise<RawAnswer> {
  const to = new URL(target);
  if (to.hostname !== '127.0.0.1') throw new Error(`the proxy forwards to 127.0.0.1 only, not ${to.hostname}`);
  return new Promise((resolve, reject) => {
    const up = http.request(
      { host: '127.0.0.1', port: Number(to.port), method: req.method, path: req.url, headers: { ...req.headers, connection: 'close' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Array<[string, string]> = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
          resolve(framed(res.statusCode ?? 502, headers, Buffer.concat(chunks), res.statusMessage));
        });
        res.on('error', reject);
      },
    );
    up.on('error', reject);
    up.end(body);
  });
}

export async function startAnswerProxy(target = ''): Promise<AnswerProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { target, rewrite: undefined as Rewrite | undefined, seen: [] as string[] };

  function deliver(socket: Socket, d: Delivery): void {
    switch (d.kind) {
      case 'answer':
        socket.end(answerBytes(d.answer));
        return;
      case 'bytes':
        socket.end(d.bytes);
        return;
      case 'reset':
        socket.resetAndDestroy();
        return;
      case 'hang':
        return;
      case 'drip': {
        let at = 0;
        const step = () => {
          if (socket.destroyed || at >= d.bytes.length) {
            timers.delete(timer);
            clearInterval(timer);
            if (!socket.destroyed) socket.end();
            return;
          }
          socket.write(d.bytes.subarray(at, at + 1));
          at += 1;
        };
        const timer = setInterval(step, d.everyMs);
        timers.add(timer);
        return;
      }
    }
  }

  // Answers go on the socket as raw bytes; the server's own response object is never used.
  const server = http.createServer((req) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const seen: SeenRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body };
      state.seen.push(`${seen.method} ${seen.path}`);
      forward(state.target, req, body)
        .catch((err: Error) => framed(502, [['Content-Type', 'text/plain']], Buffer.from(`proxy: ${err.message}`)))
        .then((real) => deliver(req.socket, state.rewrite?.(seen, real) ?? { kind: 'answer', answer: real }))
        .catch((err: Error) => {
          // A rewrite that throws is a bug of the test: said loudly, the client gets a 599.
          console.error(`answer proxy: rewrite failed: ${err.stack ?? err.message}`);
          req.socket.end(answerBytes(framed(599, [], Buffer.from(String(err)))));
        });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  const { url, port, close } = await listenLoopback(server, 'http', () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
  });
  return {
    url,
    port,
    get target() {
      return state.target;
    },
    set target(t: string) {
      state.target = t;
    },
    get rewrite() {
      return state.rewrite;
    },
    set rewrite(r: Rewrite | undefined) {
      state.rewrite = r;
    },
    get seen() {
      return state.seen;
    },
    close,
  };
}
