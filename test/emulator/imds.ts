/**
 * EC2 mode's instance metadata service: a second loopback server that plays
 * 169.254.169.254 for one instance at a time (AWS_EC2_METADATA_SERVICE_ENDPOINT
 * points the tools at it). IMDSv2 tokens (`PUT /latest/api/token` with a TTL
 * of 1 to 21600 s) are always offered; GETs need one only when tokens are
 * required. It serves the instance's basic meta-data, its identity document
 * and signature, and an attached role's credentials, each with EC2's headers;
 * everything else is EC2's XHTML error page.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { ec2Json, type InstanceFacts, privateIp } from './instance-identity';
import { isoSeconds } from './signing';
import type { Ec2RoleSpec, ImdsTokens } from './stackfile-ec2';
import { listenLocal } from './listen';

/** What the service serves, read at each request (the instance played can change). */
export interface ImdsSource {
  tokens(): ImdsTokens;
  instance(): InstanceFacts;
  identity(): { document: string; signature: string };
  role(): Required<Ec2RoleSpec> | undefined;
  /** The emulator clock, ms: token lifetimes and the credentials' Expiration. */
  now(): number;
  /** The metadata's Last-Modified, and the credentials' LastUpdated. */
  launchedAt: number;
}

/** One request, for the emulator's request log. */
export interface ImdsLogEntry {
  method: string;
  path: string;
  status: number;
  /** The `X-aws-ec2-metadata-token` sent: none, a valid one, or one unknown or expired. */
  token: 'none' | 'valid' | 'invalid';
  ms: number;
}

export interface Imds {
  /** `http://127.0.0.1:PORT`, the value for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  readonly url: string;
  readonly port: number;
  /** Forget every token handed out. */
  clearTokens(): void;
  stop(): Promise<void>;
}

const MAX_TTL = 21600;
/** Live tokens kept; past it the oldest are forgotten (their holders get 401 and ask again). */
const MAX_TOKENS = 10_000;
const ROLE_TTL_MS = 6 * 3600_000;
const CREDENTIALS = 'meta-data/iam/security-credentials/';

const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed' };

/** EC2's error page. */
export function ec2ErrorPage(status: number): string {
  const title = `${status} - ${TITLES[status] ?? 'Error'}`;
  return (
    '<?xml version="1.0" encoding="iso-8859-1"?>\n' +
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n' +
    '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n' +
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n' +
    ` <head>\n  <title>${title}</title>\n </head>\n <body>\n  <h1>${title}</h1>\n </body>\n</html>\n`
  );
}

/** The documents below `/latest/`, by path, for the instance played now. */
function documents(src: ImdsSource): Map<string, () => string> {
  const f = src.instance();
  const ip = privateIp(f.instanceId);
  const host = `ip-${ip.replace(/\./g, '-')}.${f.region === 'us-east-1' ? 'ec2.internal' : `${f.region}.compute.internal`}`;
  const docs = new Map<string, () => string>([
    ['meta-data/ami-id', () => f.imageId],
    ['meta-data/hostname', () => host],
    ['meta-data/instance-id', () => f.instanceId],
    ['meta-data/instance-type', () => f.instanceType],
    ['meta-data/local-hostname', () => host],
    ['meta-data/local-ipv4', () => ip],
    ['meta-data/placement/availability-zone', () => f.availabilityZone],
    ['meta-data/placement/region', () => f.region],
    ['dynamic/instance-identity/document', () => src.identity().document],
    ['dynamic/instance-identity/signature', () => src.identity().signature],
  ]);
  const role = src.role();
  if (role) {
    docs.set(`${CREDENTIALS}${role.name}`, () =>
      ec2Json({
        Code: 'Success',
        LastUpdated: isoSeconds(src.launchedAt),
        Type: 'AWS-HMAC',
        AccessKeyId: role.accessKey,
        SecretAccessKey: role.secretKey,
        Token: role.sessionToken,
        Expiration: isoSeconds(src.now() + ROLE_TTL_MS),
      }),
    );
  }
  return docs;
}

/** A directory's listing, as EC2 gives it: one entry a line, sub-directories with `/`; undefined when nothing is below it. */
function listing(docs: Map<string, () => string>, dir: string): string | undefined {
  const prefix = dir === '' || dir.endsWith('/') ? dir : `${dir}/`;
  const entries = new Set<string>();
  for (const p of docs.keys()) {
    if (!p.startsWith(prefix)) continue;
    const rest = p.slice(prefix.length);
    const slash = rest.indexOf('/');
    entries.add(slash < 0 ? rest : rest.slice(0, slash + 1));
  }
  return entries.size ? [...entries].sort().join('\n') : undefined;
}

export async function startImds(src: ImdsSource, opts: { port?: number; onRequest: (e: ImdsLogEntry) => void }): Promise<Imds> {
  /** token → expiry on the emulator clock, oldest first. */
  const tokens = new Map<string, number>();

  /**
   * EC2's header order: the token TTL (token PUTs, and GETs that carried
   * one), Content-Type, for meta-data Accept-Ranges and Last-Modified, then
   * Content-Length, Date, Server, Connection.
   */
  function answer(res: http.ServerResponse, status: number, body: string, opts: { ttl?: number; metadata?: boolean } = {}): number {
    const text = status === 200 ? body : ec2ErrorPage(status);
    const headers: string[] = [];
    if (opts.ttl !== undefined) headers.push('X-Aws-Ec2-Metadata-Token-Ttl-Seconds', String(opts.ttl));
    headers.push('Content-Type', status === 200 ? 'text/plain' : 'text/html');
    if (opts.metadata) headers.push('Accept-Ranges', 'none', 'Last-Modified', new Date(src.launchedAt).toUTCString());
    headers.push('Content-Length', String(Buffer.byteLength(text)), 'Date', new Date(src.now()).toUTCString(), 'Server', 'EC2ws', 'Connection', 'close');
    res.sendDate = false;
    res.writeHead(status, headers);
    res.end(text);
    return status;
  }

  function newToken(req: http.IncomingMessage, res: http.ServerResponse): number {
    // EC2 refuses token requests that came through a proxy.
    if (req.headers['x-forwarded-for'] !== undefined) return answer(res, 403, '');
    const ttlText = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    const ttl = typeof ttlText === 'string' && /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : 0;
    if (ttl < 1 || ttl > MAX_TTL) return answer(res, 400, '');
    const token = randomBytes(42).toString('base64');
    tokens.set(token, src.now() + ttl * 1000);
    for (const old of tokens.keys()) {
      if (tokens.size <= MAX_TOKENS) break;
      tokens.delete(old);
    }
    return answer(res, 200, token, { ttl });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): ImdsLogEntry {
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const path = target.split('?')[0];
    const entry: ImdsLogEntry = { method, path, status: 0, token: 'none', ms: 0 };
    if (path === '/latest/api/token') {
      entry.status = method === 'PUT' ? newToken(req, res) : answer(res, 405, '');
      return entry;
    }
    if (method !== 'GET') {
      entry.status = answer(res, 405, '');
      return entry;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    let ttlLeft: number | undefined;
    if (typeof token === 'string') {
      const expires = tokens.get(token);
      if (expires === undefined || expires <= src.now()) {
        entry.token = 'invalid';
        entry.status = answer(res, 401, '');
        return entry;
      }
      entry.token = 'valid';
      ttlLeft = Math.floor((expires - src.now()) / 1000);
    } else if (src.tokens() === 'required') {
      entry.status = answer(res, 401, '');
      return entry;
    }
    const docs = documents(src);
    const below = path.startsWith('/latest/') ? path.slice('/latest/'.length) : undefined;
    const body = below === undefined ? undefined : (docs.get(below)?.() ?? listing(docs, below));
    if (body === undefined) {
      entry.status = answer(res, 404, '');
      return entry;
    }
    entry.status = answer(res, 200, body, { ttl: ttlLeft, metadata: true });
    return entry;
  }

  const server = http.createServer((req, res) => {
    const started = Date.now();
    // Bodies mean nothing here; read and drop them so the connection can close cleanly.
    req.resume();
    const entry = handle(req, res);
    entry.ms = Date.now() - started;
    opts.onRequest(entry);
  });
  const port = await listenLocal(server, opts.port);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    clearTokens: () => tokens.clear(),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
