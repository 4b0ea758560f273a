/**
 * A scriptable fake instance metadata service on 127.0.0.1, so tests never
 * need (or reach) 169.254.169.254. It speaks enough of EC2's IMDS and nova's
 * metadata API: IMDSv2 tokens (optional, required, or unsupported), token
 * expiry, role listing and role credentials, instance id, meta_data.json,
 * scripted failures, slow and hanging answers. Every request is recorded.
 * The config is mutable: tests change it between calls.
 */
import type * as http from 'node:http';
import { startServer, type RecordedRequest, type TestServer } from './server';

export interface RoleDocument {
  Code?: string;
  Message?: string;
  LastUpdated?: string;
  Type?: string;
  AccessKeyId?: string;
  SecretAccessKey?: string;
  Token?: string;
  Expiration?: string;
}

export interface FakeImdsConfig {
  /**
   * `optional`: v2 tokens accepted, v1 too (EC2's default).
   * `required`: GETs without a valid token get 401 (HttpTokens=required).
   * `unsupported`: the token PUT answers `putStatus` (nova, IMDSv2 off).
   */
  tokens: 'optional' | 'required' | 'unsupported';
  /** Status of the token PUT when `tokens` is `unsupported`; default 405. */
  putStatus: number;
  /** TTL granted (echoed in the response header); default: the one asked for. */
  grantTtlSeconds?: number;
  /** Role name → credentials document. Serves the listing and each role. */
  roles: Record<string, RoleDocument>;
  /** Documents by path (win over `roles`); objects are sent as JSON. */
  paths: Record<string, string | object>;
  /** `METHOD /path` or `/path`: accept the request and never answer. */
  hang: Set<string>;
  /** `METHOD /path` or `/path` → ms to wait before answering. */
  delayMs: Record<string, number>;
  /** `/path` → statuses to answer first, one per request (e.g. [500, 503]). */
  failWith: Record<string, number[]>;
  /** Answer this many GETs that carry a valid token with 401 anyway (token revoked early). */
  reject401: number;
}

export interface FakeImds {
  url: string;
  port: number;
  config: FakeImdsConfig;
  requests: RecordedRequest[];
  /** Tokens handed out, in order. */
  tokensIssued: string[];
  /** Make every token issued so far invalid, as when its TTL runs out. */
  expireTokens(): void;
  /** Requests seen, optionally only those with this method and/or path. */
  count(method?: string, path?: string): number;
  close(): Promise<void>;
}

export const ROLE_PATH = '/latest/meta-data/iam/security-credentials/';

export async function startFakeImds(config: Partial<FakeImdsConfig> = {}): Promise<FakeImds> {
  const cfg: FakeImdsConfig = {
    tokens: 'optional',
    putStatus: 405,
    roles: {},
    paths: { '/latest/meta-data/instance-id': 'i-0123456789abcdef0' },
    hang: new Set(),
    delayMs: {},
    failWith: {},
    reject401: 0,
    ...config,
  };
  const valid = new Set<string>();
  const issued: string[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (res: http.ServerResponse, status: number, body: string | object = '', headers: Record<string, string> = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
    res.end(text);
  };

  function route(req: RecordedRequest, res: http.ServerResponse): void {
    const path = req.url.split('?')[0]!;
    const queued = cfg.failWith[path];
    if (queued?.length) return answer(res, queued.shift()!, 'scripted failure');

    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return answer(res, 405);
      if (cfg.tokens === 'unsupported') return answer(res, cfg.putStatus, 'no IMDSv2 here');
      const asked = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!(asked >= 1 && asked <= 21600)) return answer(res, 400, 'bad TTL');
      const token = `tok-${issued.length + 1}-${Math.random().toString(36).slice(2)}`;
      issued.push(token);
      valid.add(token);
      return answer(res, 200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(cfg.grantTtlSeconds ?? asked) });
    }

    if (req.method !== 'GET') return answer(res, 405);
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token === 'string') {
      if (!valid.has(token)) return answer(res, 401, 'token expired or invalid');
      if (cfg.reject401 > 0) {
        cfg.reject401--;
        return answer(res, 401, 'token revoked');
      }
    } else if (cfg.tokens === 'required') {
      return answer(res, 401, 'IMDSv2 token required');
    }

    const doc = cfg.paths[path];
    if (doc !== undefined) return answer(res, 200, doc);
    if (path === ROLE_PATH) {
      const names = Object.keys(cfg.roles);
      return names.length ? answer(res, 200, names.join('\n')) : answer(res, 404, 'Not Found');
    }
    if (path.startsWith(ROLE_PATH)) {
      const doc = cfg.roles[decodeURIComponent(path.slice(ROLE_PATH.length))];
      return doc ? answer(res, 200, doc) : answer(res, 404, 'Not Found');
    }
    return answer(res, 404, 'Not Found');
  }

  const server: TestServer = await startServer((req, res) => {
    const path = req.url.split('?')[0]!;
    const key = `${req.method} ${path}`;
    if (cfg.hang.has(key) || cfg.hang.has(path)) return;
    const delay = cfg.delayMs[key] ?? cfg.delayMs[path];
    if (delay === undefined) return route(req, res);
    const t = setTimeout(() => {
      timers.delete(t);
      if (!res.destroyed) route(req, res);
    }, delay);
    timers.add(t);
  });

  return {
    url: server.url,
    port: server.port,
    config: cfg,
    requests: server.requests,
    tokensIssued: issued,
    expireTokens: () => valid.clear(),
    count: (method?: string, path?: string) =>
      server.requests.filter((r) => (!method || r.method === method) && (!path || r.url.split('?')[0] === path)).length,
    close: () => {
      for (const t of timers) clearTimeout(t);
      return server.close();
    },
  };
}

/** A role credentials document as EC2 serves it, expiring at `expiration`. */
export function roleDocument(expiration: Date, suffix = '1'): RoleDocument {
  return {
    Code: 'Success',
    LastUpdated: new Date(expiration.getTime() - 6 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Type: 'AWS-HMAC',
    AccessKeyId: `ASIAROLEKEY${suffix}`,
    SecretAccessKey: `role/Secret+Key=${suffix}-${Math.random().toString(36).slice(2)}`,
    Token: `IQoJb3JpZ2luX2VjE${suffix}${Math.random().toString(36).slice(2)}//token==`,
    Expiration: expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** A loopback port with nothing listening: connections are refused at once. */
export async function closedPort(): Promise<number> {
  const s = await startServer((_req, res) => {
    res.end();
  });
  await s.close();
  return s.port;
}
