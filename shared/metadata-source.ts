/**
 * Where a resource's metadata comes from: the signed DescribeStackResource
 * call; when no credentials are configured, the local copies Heat injected
 * (cfn-init-data) or the last good copy; when the endpoint cannot be reached,
 * the last good copy for that resource (said so in the log).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DurableWriter } from './durable-write';
import type { ToolContext } from './context';
import { NoCredentialsError } from './credentials/resolve';
import { ApiError, CfnError, ConfigError, NetworkError, ProtocolError } from './errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from './json-depth';
import { readJsonFile } from './json-file';
import type { StackResourceDetail } from './cfn-api';

/** The largest metadata file read (cfn-init-data, a cached copy): as much as the HTTP client takes of an answer (http.ts). */
const MAX_METADATA_FILE_BYTES = 64 * 1024 * 1024;

/** The last good metadata of each resource, one 0600 file per stack and resource. */
export class MetadataCache {
  private readonly writer: DurableWriter;
  constructor(readonly dir: string) {
    this.writer = new DurableWriter(path.join(dir, 'journal'));
  }

  file(stack: string, resource: string): string {
    return path.join(this.dir, 'metadata', `${encodeURIComponent(stack)}.${encodeURIComponent(resource)}.json`);
  }

  read(stack: string, resource: string): { metadata: unknown; file: string; mtime: Date } | undefined {
    const file = this.file(stack, resource);
    let read: { value: unknown } | undefined;
    try {
      read = readJsonFile(file, { what: 'cached metadata', noFollow: true, maxBytes: MAX_METADATA_FILE_BYTES });
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${err.message} (delete the file to refetch)`);
      throw new ConfigError(`cannot read cached metadata: ${(err as Error).message}`, file);
    }
    return read && { metadata: read.value, file, mtime: fs.statSync(file).mtime };
  }

  async write(stack: string, resource: string, metadata: unknown): Promise<void> {
    const file = this.file(stack, resource);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    await this.writer.writeFile(file, JSON.stringify(metadata), { mode: 0o600 });
  }
}

export interface MetadataResult {
  metadata: unknown;
  /** Human-readable origin for logs: `DescribeStackResource <url>`, a file path. */
  source: string;
  /** True when the data is a local copy rather than a fresh answer. */
  local: boolean;
}

/** Errors worth falling back to the cache for: the endpoint is down or broken (a 5xx, an answer we cannot read), not refusing us. */
function isUnreachable(err: unknown): boolean {
  return err instanceof NetworkError || err instanceof ProtocolError || (err instanceof ApiError && err.status >= 500);
}

/** Heat's injected copy of the instance's metadata (cfn-init-data), or undefined when there is none. */
export function readHeatInitData(heatDirectory: string, maxDepth = DEFAULT_MAX_DEPTH): MetadataResult | undefined {
  const file = path.join(heatDirectory, 'cfn-init-data');
  let read: { value: unknown } | undefined;
  try {
    // It says what runs as root (cfn-init's commands, heat-agent's collectors): trusted-file.ts's rule.
    read = readJsonFile(file, { what: "Heat's boot data", trusted: true, maxBytes: MAX_METADATA_FILE_BYTES, maxDepth });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read: ${(err as Error).message}`, file);
  }
  return read && { metadata: read.value, source: file, local: true };
}

/**
 * The metadata of `stack`/`resource` (see the top of this file), refused
 * when it nests deeper than `maxDepth`, wherever it came from.
 */
export async function loadMetadata(ctx: ToolContext, stack: string, resource: string, cache: MetadataCache, maxDepth = DEFAULT_MAX_DEPTH): Promise<MetadataResult> {
  const result = await fetchMetadata(ctx, stack, resource, cache);
  assertDepth(result.metadata, maxDepth, result.source);
  return result;
}

async function fetchMetadata(ctx: ToolContext, stack: string, resource: string, cache: MetadataCache): Promise<MetadataResult> {
  const log = ctx.logger;
  const cached = () => {
    const c = cache.read(stack, resource);
    return c && { metadata: c.metadata, source: `${c.file} (cached ${c.mtime.toISOString()})`, local: true };
  };
  try {
    await ctx.cloudFormationIdentity.get();
  } catch (err) {
    if (!(err instanceof NoCredentialsError)) throw err;
    const local = cached() ?? readHeatInitData(ctx.heat.dir);
    if (!local) {
      throw new CfnError(`${err.message}; and no local metadata in ${cache.file(stack, resource)} or ${path.join(ctx.heat.dir, 'cfn-init-data')}`);
    }
    log.warn(`no credentials for DescribeStackResource; using local metadata ${local.source}`);
    return local;
  }
  try {
    const detail = await describeResource(ctx, stack, resource);
    return { metadata: detail.metadata, source: `DescribeStackResource ${detail.endpoint}`, local: false };
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    const local = cached();
    if (!local) throw err;
    log.warn(`${(err as Error).message}; endpoint unreachable, using cached metadata ${local.source}`);
    return local;
  }
}

/**
 * The signed DescribeStackResource answer, nothing local: what a watcher
 * compares (status, physical id and timestamp besides the metadata). The
 * metadata is refused when it nests deeper than `maxDepth`.
 */
export async function describeResource(ctx: ToolContext, stack: string, resource: string, maxDepth = DEFAULT_MAX_DEPTH): Promise<StackResourceDetail & { endpoint: string }> {
  const client = ctx.queryClient('cloudformation');
  const { describeStackResource } = require('./cfn-api') as typeof import('./cfn-api');
  const detail = await describeStackResource(client, stack, resource);
  assertDepth(detail.metadata, maxDepth, `DescribeStackResource ${stack}/${resource}`);
  return { ...detail, endpoint: client.endpoint.url };
}
