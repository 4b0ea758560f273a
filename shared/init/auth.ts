/**
 * AWS::CloudFormation::Authentication and the Downloader that applies it to
 * `files` sources and `sources` archives.
 *
 * A block is used either by name (a file's `authentication`) or by default
 * matching: S3 blocks by bucket (virtual-host and path-style S3 URLs), basic
 * blocks by `uris`. aws-cfn-bootstrap matches `uris` only by host[:port]
 * equality although its documentation promises prefix matching; we implement
 * the documented semantics (scheme, host, port, then a path prefix on segment
 * boundaries), which accepts every form AWS accepts (a bare `host[:port]`).
 *
 * A block that no download of the document uses (not named by a file with a
 * source, matching no URL the document downloads) is never read by
 * aws-cfn-bootstrap: its mistakes are tolerated (warnings; errors under
 * --strict). A block that is used is fully validated.
 *
 * Downloads go through the shared HttpClient (timeouts, retries, TLS,
 * proxies). An HTTP error is an error naming the URL and status; the error
 * page is never returned as content (heat-cfntools writes it as the file).
 * Passwords, secret keys and the Basic header are registered as secrets.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { credentialProvider } from '../credentials/resolve';
import type { ImdsClient } from '../credentials/imds';
import type { CredentialProvider } from '../credentials/types';
import { builtInEndpointTable, type TableHost } from '../endpoint-table';
import { ApiError, CfnError, errorMessage, LimitError, NetworkError } from '../errors';
import type { HttpClient } from '../http';
import { nullLogger, type Logger } from '../log';
import { regionInDomain, splitAwsHost } from '../partitions';
import { redactUrl, registerSecret } from '../redact';
import type { HttpRequest, Signer } from '../request';
import { signV4 } from '../sigv4';
import type { Downloader, DownloadOptions } from './handlers/types';
import { AUTHENTICATION_KEY } from './auth-secrets';
import { configNames } from './configsets';
import { checkKeys, child, expectObject, expectString, expectStringList, isObject, Problems, summarize } from './validation';

export { AUTHENTICATION_KEY };

/** A `uris` entry: `http://host/path`, `host`, `host:port/path`... */
export interface UriPattern {
  raw: string;
  /** `http` / `https`; undefined when the entry names none (any scheme). */
  scheme?: string;
  host: string;
  /** Explicit port; undefined means the default port of the URL's scheme. */
  port?: string;
  /** Path prefix, always starting with `/`. */
  path: string;
}

export interface BasicAuthBlock {
  name: string;
  type: 'basic';
  username: string;
  password: string;
  uris: UriPattern[];
}

export interface S3AuthBlock {
  name: string;
  type: 'S3';
  buckets: string[];
  accessKeyId?: string;
  secretKey?: string;
  roleName?: string;
}

export type AuthBlock = BasicAuthBlock | S3AuthBlock;

const BASIC_KEYS = ['type', 'username', 'password', 'uris'] as const;
const S3_KEYS = ['type', 'accessKeyId', 'secretKey', 'buckets', 'roleName'] as const;

/** Download failed: HTTP status, network, local file, or no way to authenticate. */
export class DownloadError extends CfnError {
  constructor(
    message: string,
    /** Redacted URL or local path. */
    readonly source: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------- validation

/** What a document downloads, to tell the Authentication blocks it uses from the others. */
export interface DownloadUses {
  /** Blocks named by a file that has a source. */
  names: ReadonlySet<string>;
  /** Files' sources, sources' archives and rpm packages given as URLs. */
  urls: readonly string[];
}

/** Whether a block is used, from its raw value: by name, else by default matching. */
export type BlockUse = (name: string, raw: unknown) => boolean;

const UNUSED = 'the block is used by no download, so a run never reads it';

/** The downloads of every config of `init` (whatever -c selects: which blocks are checked must not depend on it). */
export function downloadsOf(init: unknown): DownloadUses {
  const names = new Set<string>();
  const urls: string[] = [];
  const remote = (v: unknown) => {
    if (typeof v === 'string' && isRemote(v)) urls.push(v);
  };
  if (!isObject(init)) return { names, urls };
  for (const config of configNames(init).map((n) => init[n])) {
    if (!isObject(config)) continue;
    if (isObject(config.files)) {
      for (const f of Object.values(config.files)) {
        if (!isObject(f) || f.source === undefined) continue;
        remote(f.source);
        if (typeof f.authentication === 'string') names.add(f.authentication);
      }
    }
    if (isObject(config.sources)) Object.values(config.sources).forEach(remote);
    if (isObject(config.packages) && isObject(config.packages.rpm)) {
      for (const locs of Object.values(config.packages.rpm)) (Array.isArray(locs) ? locs : [locs]).forEach(remote);
    }
  }
  return { names, urls };
}

/**
 * A block is used when a file names it, or when its `buckets` (S3) or
 * `uris` (basic) match a URL the document downloads; a block of no known
 * type matches nothing (aws-cfn-bootstrap skips it), and one whose lists
 * cannot be read counts as used as soon as anything is downloaded.
 */
export function blockUse(uses: DownloadUses, s3Hosts?: readonly TableHost[]): BlockUse {
  const parsed = uses.urls.flatMap((u) => {
    try {
      return [{ url: new URL(u), bucket: parseS3Url(u, s3Hosts)?.bucket }];
    } catch {
      return [];
    }
  });
  return (name, raw) => {
    if (uses.names.has(name)) return true;
    const type = isObject(raw) && typeof raw.type === 'string' ? raw.type.toLowerCase() : undefined;
    if (!isObject(raw) || (type !== 's3' && type !== 'basic')) return false;
    const list = type === 's3' ? raw.buckets : raw.uris;
    const strings = list === undefined ? [] : typeof list === 'string' ? [list] : Array.isArray(list) && list.every((v) => typeof v === 'string') ? (list as string[]) : undefined;
    if (strings === undefined) return parsed.length > 0;
    if (type === 's3') return parsed.some((d) => d.bucket !== undefined && strings.includes(d.bucket));
    const patterns = strings.map(parseUriPattern).filter((p): p is UriPattern => typeof p !== 'string');
    return parsed.some((d) => patterns.some((p) => matchUri(p, d.url) >= 0));
  };
}

/**
 * Validate the Authentication metadata. Returns the valid blocks by name
 * (invalid blocks are left out after adding problems). Secrets are
 * registered before anything can log them. The problems of a block that
 * `used` says no download uses are tolerated.
 */
export function parseAuthentication(raw: unknown, problems: Problems, path: string = AUTHENTICATION_KEY, used: BlockUse = () => true): Map<string, AuthBlock> {
  const blocks = new Map<string, AuthBlock>();
  if (raw === undefined || raw === null) return blocks;
  const obj = expectObject(raw, path, problems);
  if (!obj) return blocks;
  for (const [name, value] of Object.entries(obj)) {
    const isUsed = used(name, value);
    const p = isUsed ? problems : new Problems();
    const block = parseBlock(name, value, child(path, name), p);
    if (!isUsed) for (const q of summarize(p.list).shown) problems.tolerate(q.path, q.message, UNUSED);
    if (block) blocks.set(name, block);
  }
  return blocks;
}

function parseBlock(name: string, raw: unknown, path: string, p: Problems): AuthBlock | undefined {
  const obj = expectObject(raw, path, p);
  if (!obj) return undefined;
  // Register first: a later problem message must not be the first place a secret shows up.
  if (typeof obj.password === 'string') registerSecret(obj.password);
  if (typeof obj.secretKey === 'string') registerSecret(obj.secretKey);
  const before = p.list.length;
  const type = expectString(obj.type, child(path, 'type'), p);
  if (type === undefined) return undefined;
  const kind = type.toLowerCase();
  if (kind === 'basic') {
    checkKeys(obj, BASIC_KEYS, path, p);
    const username = requiredString(obj.username, child(path, 'username'), p);
    const password = requiredString(obj.password, child(path, 'password'), p);
    const uris: UriPattern[] = [];
    if (obj.uris !== undefined) {
      const list = expectStringList(obj.uris, child(path, 'uris'), p) ?? [];
      list.forEach((u, i) => {
        const pattern = parseUriPattern(u);
        if (typeof pattern === 'string') p.add(`${child(path, 'uris')}[${i}]`, pattern);
        else uris.push(pattern);
      });
    }
    if (p.list.length > before || username === undefined || password === undefined) return undefined;
    registerSecret(Buffer.from(`${username}:${password}`).toString('base64'));
    return { name, type: 'basic', username, password, uris };
  }
  if (kind === 's3') {
    checkKeys(obj, S3_KEYS, path, p);
    const buckets = obj.buckets === undefined ? [] : (expectStringList(obj.buckets, child(path, 'buckets'), p) ?? []);
    buckets.forEach((b, i) => {
      if (!/^[a-z0-9][a-z0-9.\-_]*$/i.test(b)) p.add(`${child(path, 'buckets')}[${i}]`, `not a bucket name: ${JSON.stringify(b)}`);
    });
    const block: S3AuthBlock = { name, type: 'S3', buckets };
    const has = (k: string) => obj[k] !== undefined;
    if (has('accessKeyId') || has('secretKey')) {
      block.accessKeyId = requiredString(obj.accessKeyId, child(path, 'accessKeyId'), p);
      block.secretKey = requiredString(obj.secretKey, child(path, 'secretKey'), p);
      if (has('roleName')) p.add(child(path, 'roleName'), 'give either accessKeyId/secretKey or roleName, not both');
    } else if (has('roleName')) {
      block.roleName = requiredString(obj.roleName, child(path, 'roleName'), p);
    } else {
      p.add(path, 'an S3 block needs accessKeyId and secretKey, or roleName');
    }
    return p.list.length > before ? undefined : block;
  }
  p.add(child(path, 'type'), `unknown authentication type ${JSON.stringify(type)}; expected basic or S3`);
  return undefined;
}

function requiredString(value: unknown, path: string, p: Problems): string | undefined {
  if (value === undefined) {
    p.add(path, 'required');
    return undefined;
  }
  const s = expectString(value, path, p);
  if (s === '') {
    p.add(path, 'must not be empty');
    return undefined;
  }
  return s;
}

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Parse a `uris` entry, or return what is wrong with it. */
export function parseUriPattern(raw: string): UriPattern | string {
  const m = SCHEME_RE.exec(raw);
  const scheme = m?.[1].toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return `unsupported scheme ${scheme}:// (expected http or https)`;
  let url: URL;
  try {
    // A scheme-less entry is parsed as http only to split host, port and path.
    url = new URL(scheme ? raw : `http://${raw}`);
  } catch {
    return `not a URI: ${JSON.stringify(raw)}`;
  }
  if (!url.hostname) return `no host in ${JSON.stringify(raw)}`;
  let port: string | undefined;
  if (scheme) {
    port = url.port || DEFAULT_PORTS[scheme];
  } else {
    // WHATWG drops `:80` as http's default; a scheme-less entry that names a port means that port.
    const explicit = /:(\d+)$/.exec(raw.split('/')[0]);
    if (explicit) port = String(Number(explicit[1]));
  }
  const pattern: UriPattern = { raw, host: url.hostname.toLowerCase(), path: url.pathname || '/' };
  if (scheme) pattern.scheme = scheme;
  if (port) pattern.port = port;
  return pattern;
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/**
 * Length of the matched path prefix (for picking the most specific block),
 * or -1 when `url` is not covered by `pattern`.
 */
export function matchUri(pattern: UriPattern, url: URL): number {
  const scheme = url.protocol.replace(/:$/, '');
  if (pattern.scheme && pattern.scheme !== scheme) return -1;
  if (pattern.host !== url.hostname.toLowerCase()) return -1;
  const port = url.port || DEFAULT_PORTS[scheme];
  if ((pattern.port ?? DEFAULT_PORTS[scheme]) !== port) return -1;
  const p = pattern.path;
  if (p === '/' || url.pathname === p) return p.length;
  // Segment boundaries: `/test` covers `/test/x` but not `/testing`.
  const prefix = p.endsWith('/') ? p : `${p}/`;
  return url.pathname.startsWith(prefix) ? p.length : -1;
}

// ---------------------------------------------------------------- S3 URLs

export interface S3Location {
  /** Undefined for the service root (`https://s3.amazonaws.com/`). */
  bucket?: string;
  key: string;
  region: string;
  style: 'virtual' | 'path';
}

/** A region label in any partition: `us-east-1`, `us-gov-west-1`, `eu-isoe-west-1`, `eusc-de-east-1`. */
const REGION = '[a-z]{2,4}(?:-[a-z]+)+-\\d+';
/**
 * The part of an AWS host name before its partition's domain:
 * `[bucket.]s3[-fips][.dualstack][.region]`, legacy `[bucket.]s3-region`, `s3-external-1`.
 */
const S3_HOST_RE = new RegExp(
  `^(?:(?<bucket>.+)\\.)?(?:s3-external-1|s3-(?<legacy>${REGION})|s3(?:-fips)?(?:\\.dualstack)?(?:\\.(?<region>${REGION}))?)$`,
);

/**
 * Where an S3 URL points, or undefined when the URL is not S3. The endpoint
 * table's hosts (shared/endpoint-table.ts: aws-cfn-bootstrap's, or the
 * override file's) come first, matched on the URL's host[:port] with or
 * without a bucket label in front, whatever the scheme, as aws-cfn-bootstrap
 * matches them; then S3's own host names in every partition, whose region
 * must belong to the domain it is named under.
 */
export function parseS3Url(raw: string, hosts: readonly TableHost[] = builtInEndpointTable().s3): S3Location | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const segments = url.pathname.split('/').slice(1).map(decodeSegment);
  const pathStyle = (region: string): S3Location => {
    const [bucket, ...rest] = segments;
    return bucket ? { bucket, key: rest.join('/'), region, style: 'path' } : { key: '', region, style: 'path' };
  };
  const virtual = (bucket: string, region: string): S3Location => ({ bucket, key: segments.join('/'), region, style: 'virtual' });
  const authority = url.host.toLowerCase();
  for (const h of hosts) {
    if (authority === h.hostname) return pathStyle(h.region);
    if (authority.endsWith(`.${h.hostname}`)) return virtual(authority.slice(0, -h.hostname.length - 1), h.region);
  }
  const split = splitAwsHost(url.hostname);
  const m = split && S3_HOST_RE.exec(split.label);
  if (!split || !m?.groups) return undefined;
  const named = m.groups.region ?? m.groups.legacy;
  if (named !== undefined && !regionInDomain(named, split.partition)) return undefined;
  // A host naming no region signs for its partition's global region; S3 answers a wrong one with a hint (see fetch).
  const region = named ?? split.partition.globalRegion;
  return m.groups.bucket ? virtual(m.groups.bucket, region) : pathStyle(region);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---------------------------------------------------------------- downloader

export interface DownloaderDeps {
  /** Built on the first download: a run without downloads never loads the HTTP modules. */
  http: () => HttpClient;
  /** Problems of the Authentication metadata are added here (key paths under `path`). */
  problems: Problems;
  /** Key path of the Authentication metadata; default `AWS::CloudFormation::Authentication`. */
  path?: string;
  /** What the document downloads: the problems of blocks it does not use are tolerated. Default: every block is used. */
  uses?: DownloadUses;
  /** For `roleName` blocks; default one built from `env` on first use. */
  imds?: ImdsClient;
  /** AWS_EC2_METADATA_SERVICE_ENDPOINT / AWS_EC2_METADATA_DISABLED for the default ImdsClient; default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** The endpoint table's S3 hosts (S3-compatible stores, VPC endpoints); default the built-in table's. */
  s3Hosts?: readonly TableHost[];
  /** Per attempt, body included; default 300000 (archives can be large). */
  timeoutMs?: number;
  /** An attempt during which no byte arrives for this long fails (and is retried); default 30000. */
  idleTimeoutMs?: number;
  /** All attempts of one download, backoff included; default 900000. */
  deadlineMs?: number;
}

const REMOTE_RE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** True for a URL (anything with a scheme); sources treat everything else as a local path. */
export function isRemote(source: string): boolean {
  return REMOTE_RE.test(source);
}

/** How many times a body whose MD5 does not match S3's ETag is fetched before giving up. */
const ETAG_ATTEMPTS = 3;

export class AuthDownloader implements Downloader {
  readonly blockNames: ReadonlySet<string>;
  private readonly providers = new Map<string, CredentialProvider>();
  private imds: ImdsClient | undefined;
  private readonly logger: Logger;

  constructor(
    readonly blocks: ReadonlyMap<string, AuthBlock>,
    private readonly deps: DownloaderDeps,
    /** Names for validation; default the valid blocks' names. */
    names: Iterable<string> = blocks.keys(),
  ) {
    this.blockNames = new Set(names);
    this.logger = deps.logger ?? nullLogger;
    this.imds = deps.imds;
  }

  async fetch(source: string, opts: DownloadOptions = {}): Promise<Buffer> {
    if (!isRemote(source)) return readLocal(source, opts);
    return (await this.get(source, opts)).body;
  }

  /** Download `source` (a URL) into `file` (created 0600, replaced on each attempt), never holding it in memory. */
  async fetchToFile(source: string, file: string, opts: DownloadOptions = {}): Promise<void> {
    await this.get(source, opts, file);
  }

  private async get(source: string, opts: DownloadOptions, toFile?: string): Promise<{ body: Buffer }> {
    const shown = redactUrl(source);
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new DownloadError(`cannot download ${shown}: not a valid URL`, shown);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DownloadError(`cannot download ${shown}: unsupported URL scheme ${url.protocol} (expected http or https)`, shown);
    }
    const block = this.blockFor(url, opts.authentication);
    const s3 = parseS3Url(source, this.deps.s3Hosts);
    let region = s3?.region;
    if (block?.type === 'S3' && !s3) {
      throw new DownloadError(
        `cannot download ${shown} with S3 authentication ${block.name}: not an S3 URL (host not recognised, so the signing region is unknown)`,
        shown,
      );
    }
    this.logger.debug(`GET ${shown}${block ? ` with authentication ${block.name} (${block.type})` : ''}`);
    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await this.deps.http().request(
          { method: 'GET', url: source, headers: {} },
          {
            signer: block && this.signer(block, region!),
            timeoutMs: this.deps.timeoutMs ?? 300_000,
            idleTimeoutMs: this.deps.idleTimeoutMs ?? 30_000,
            retry: { deadlineMs: this.deps.deadlineMs ?? 900_000 },
            maxBodyBytes: opts.maxBytes,
            bodyLimitName: opts.limitName,
            toFile,
          },
        );
      } catch (err) {
        // S3 names the bucket's region when we signed for another (global endpoint, legacy hosts).
        const hinted = block?.type === 'S3' && err instanceof ApiError && err.code === 'AuthorizationHeaderMalformed' ? /expecting '([a-z0-9-]+)'/.exec(err.serverMessage)?.[1] : undefined;
        if (hinted && hinted !== region && attempt === 1) {
          this.logger.debug(`${shown}: bucket is in ${hinted}, not ${region}; signing again`);
          region = hinted;
          continue;
        }
        throw downloadError(err, shown, block);
      }
      if (!s3 || etagMatches(res.headers, toFile === undefined ? res.body : await md5OfFile(toFile))) return res;
      if (attempt >= ETAG_ATTEMPTS) {
        throw new DownloadError(`cannot download ${shown}: the body does not match its ETag ${res.headers.etag} after ${attempt} attempts`, shown);
      }
      this.logger.warn(`${shown}: body does not match ETag ${res.headers.etag}; downloading again`);
    }
  }

  /** The explicitly named block, else the default match: S3 by bucket, then basic by the most specific `uris`. */
  private blockFor(url: URL, name: string | undefined): AuthBlock | undefined {
    if (name !== undefined) {
      const b = this.blocks.get(name);
      if (!b) throw new DownloadError(`no ${AUTHENTICATION_KEY} block named ${JSON.stringify(name)}`, redactUrl(url.href));
      return b;
    }
    const s3 = parseS3Url(url.href, this.deps.s3Hosts);
    if (s3?.bucket) {
      for (const b of this.blocks.values()) if (b.type === 'S3' && b.buckets.includes(s3.bucket)) return b;
    }
    let best: { block: AuthBlock; score: number } | undefined;
    for (const b of this.blocks.values()) {
      if (b.type !== 'basic') continue;
      for (const u of b.uris) {
        const score = matchUri(u, url);
        if (score >= 0 && (!best || score > best.score)) best = { block: b, score };
      }
    }
    return best?.block;
  }

  private signer(block: AuthBlock, region: string): Signer {
    if (block.type === 'basic') {
      const header = `Basic ${Buffer.from(`${block.username}:${block.password}`).toString('base64')}`;
      return async (req: HttpRequest) => ({ ...req, headers: { ...req.headers, Authorization: header } });
    }
    const provider = this.provider(block);
    return async (req, now) => signV4(req, await provider.get(), { region, service: 's3' }, now);
  }

  /** One provider per block, so role credentials are cached until shortly before they expire. */
  private provider(block: S3AuthBlock): CredentialProvider {
    let p = this.providers.get(block.name);
    if (!p) {
      if (block.roleName !== undefined) {
        this.imds ??= new ((require('../credentials/imds') as typeof import('../credentials/imds')).ImdsClient)({ env: this.deps.env, logger: this.deps.logger });
        p = credentialProvider({ role: block.roleName, imds: this.imds, env: this.deps.env ?? process.env, logger: this.deps.logger });
      } else {
        const creds = { accessKeyId: block.accessKeyId!, secretAccessKey: block.secretKey!, source: `${AUTHENTICATION_KEY} ${block.name}` };
        p = { get: async () => creds };
      }
      this.providers.set(block.name, p);
    }
    return p;
  }
}

/**
 * The Downloader for one cfn-init run: validates `raw` (the Authentication
 * metadata; undefined when absent) into `deps.problems`; blocks with problems
 * are left out, so callers must check the problems before using it.
 */
export function createDownloader(raw: unknown, deps: DownloaderDeps): AuthDownloader {
  const blocks = parseAuthentication(raw, deps.problems, deps.path, deps.uses && blockUse(deps.uses, deps.s3Hosts));
  // Every declared name, valid or not: a file naming a broken block is not also "unknown".
  const names = isObject(raw) ? Object.keys(raw) : [];
  return new AuthDownloader(blocks, deps, names);
}

async function readLocal(file: string, opts: DownloadOptions): Promise<Buffer> {
  if (!file.startsWith('/')) throw new DownloadError(`cannot read ${file}: not an absolute path or a URL`, file);
  try {
    const size = (await fs.promises.stat(file)).size;
    if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new LimitError(opts.limitName ?? 'file-size', `${file} has ${size} bytes, more than ${opts.maxBytes} (--limit ${opts.limitName ?? 'file-size'}=... raises it)`);
    return await fs.promises.readFile(file);
  } catch (err) {
    if (err instanceof LimitError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : errorMessage(err);
    throw new DownloadError(`cannot read ${file}: ${why}`, file, undefined, { cause: err });
  }
}

function downloadError(err: unknown, shown: string, block: AuthBlock | undefined): DownloadError {
  if (err instanceof ApiError) {
    const hint = (err.status === 401 || err.status === 403) && !block ? ` (no ${AUTHENTICATION_KEY} block applies to this URL)` : '';
    const detail = err.serverMessage && err.code !== `HTTP${err.status}` ? ` ${err.code}: ${err.serverMessage}` : err.serverMessage ? `: ${err.serverMessage}` : '';
    return new DownloadError(`cannot download ${shown}: HTTP ${err.status}${detail}${hint}`, shown, err.status, { cause: err });
  }
  if (err instanceof NetworkError) return new DownloadError(`cannot download ${shown}: ${err.message}`, shown, undefined, { cause: err });
  if (err instanceof CfnError) return new DownloadError(`cannot download ${shown}: ${err.message}`, shown, undefined, { cause: err });
  return new DownloadError(`cannot download ${shown}: ${errorMessage(err)}`, shown, undefined, { cause: err });
}

/** The MD5 of a downloaded file, as hex, read in chunks. */
async function md5OfFile(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * S3's ETag is the body's MD5 except for multipart uploads (a `-` in it) and
 * SSE-KMS objects; aws-cfn-bootstrap checks it the same way.
 */
function etagMatches(headers: Record<string, string>, body: Buffer | string): boolean {
  const etag = headers.etag?.replace(/^W\//, '').replace(/"/g, '');
  if (!etag || !/^[0-9a-f]{32}$/i.test(etag)) return true;
  if ((headers['x-amz-server-side-encryption'] ?? '').toLowerCase() === 'aws:kms') return true;
  const md5 = typeof body === 'string' ? body : createHash('md5').update(body).digest('hex');
  return md5 === etag.toLowerCase();
}
