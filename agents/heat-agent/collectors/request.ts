/**
 * The `request` collector (POLL_TEMP_URL): the Swift temp URL Heat PUTs the
 * server's metadata to on every change, polled with a conditional GET: after
 * the first answer, If-None-Match with its ETag makes Swift answer 304 while
 * the object is unchanged, and the metadata read before stands; nothing is
 * fetched twice. If-Modified-Since only when there was no ETag: Last-Modified
 * counts whole seconds, and Swift answers 304 to it even when the ETag
 * differs, so a second PUT within the same second would go unseen. The
 * signature in the URL is masked wherever the URL is shown.
 */
import { ApiError, ProtocolError } from '../../../shared/errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from '../../../shared/json-depth';
import { redactUrl } from '../../../shared/redact';
import type { CollectorSettings } from './settings';
import { COLLECT_TIMEOUT_MS, MAX_METADATA_BYTES, type Collector, type CollectedDocument, type CollectorDeps } from './types';

export type RequestSettings = Extract<CollectorSettings, { name: 'request' }>;

interface Seen {
  etag?: string;
  lastModified?: string;
  data: unknown;
}

export class RequestCollector implements Collector {
  readonly name = 'request';
  private seen: Seen | undefined;

  constructor(
    private readonly s: RequestSettings,
    private readonly deps: Pick<CollectorDeps, 'http' | 'retry' | 'logger'>,
  ) {}

  async collect(): Promise<CollectedDocument[]> {
    const source = `GET ${redactUrl(this.s.metadataUrl)}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.seen?.etag) headers['If-None-Match'] = this.seen.etag;
    else if (this.seen?.lastModified) headers['If-Modified-Since'] = this.seen.lastModified;
    let res;
    try {
      res = await this.deps.http.request({ method: 'GET', url: this.s.metadataUrl, headers }, { retry: this.deps.retry, maxBodyBytes: MAX_METADATA_BYTES, timeoutMs: COLLECT_TIMEOUT_MS });
    } catch (err) {
      if (this.seen && err instanceof ApiError && err.status === 304) {
        this.deps.logger.debug(`${source}: not modified`);
        return [{ data: this.seen.data, source }];
      }
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new ProtocolError(`${source}: the object is not JSON`);
    }
    assertDepth(data, DEFAULT_MAX_DEPTH, source);
    this.seen = { etag: res.headers.etag, lastModified: res.headers['last-modified'], data };
    return [{ data, source }];
  }
}
