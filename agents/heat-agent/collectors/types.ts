/**
 * One interface for every source of the server's metadata, as
 * os-collect-config has one for its collectors: a collector is polled once
 * per check and answers the documents it has (the resource's metadata, a
 * queue's newest message, the local JSON files), or that it has none yet.
 */
import type { ToolContext } from '../../../shared/context';
import type { HttpClient, RetryPolicy } from '../../../shared/http';
import type { Logger } from '../../../shared/log';
import type { CollectorName } from './settings';

/** The most a collector reads of one answer or file: Heat's metadata is kilobytes, large deployments megabytes. */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;
/** Per request: os-collect-config's collectors give up after 10 s. */
export const COLLECT_TIMEOUT_MS = 10_000;

export interface CollectedDocument {
  /** A JSON object: the metadata, or a local file's content. */
  data: unknown;
  /** Where it came from, for messages (no secrets). */
  source: string;
}

export interface Collector {
  readonly name: CollectorName;
  /** What it has now; undefined when it has nothing yet (a queue no message reached). Throws when its source failed. */
  collect(): Promise<CollectedDocument[] | undefined>;
}

export interface CollectorDeps {
  /** Signs the cfn collector's requests (the agent's keys, or the metadata's). */
  ctx: ToolContext;
  http: HttpClient;
  /** A check's HTTP retries (a blip within the check; an outage is left to the next check). */
  retry: Partial<RetryPolicy>;
  /** heat-agent's state directory: what must outlive the process (the zaqar collector's last message). */
  stateDir: string;
  logger: Logger;
  now?: () => number;
}
