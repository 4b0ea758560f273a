/**
 * The `zaqar` collector (ZAQAR_MESSAGE): Heat posts the server's whole
 * metadata to the server's queue at create and on every change. Each check
 * takes every message waiting (keystone as for the heat collector, then
 * pops at the catalog's messaging endpoint) and uses the newest; reading
 * removes them, so the newest is kept in the state directory and stands
 * while the queue is empty, across restarts too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DurableWriter } from '../../../shared/durable-write';
import { ConfigError, ProtocolError } from '../../../shared/errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from '../../../shared/json-depth';
import { KeystoneSession } from '../keystone';
import { MAX_POP, PROCESS_CLIENT_ID, popMessages, type ZaqarMessage } from '../zaqar';
import type { CollectorSettings } from './settings';
import { COLLECT_TIMEOUT_MS, MAX_METADATA_BYTES, type Collector, type CollectedDocument, type CollectorDeps } from './types';

export type ZaqarSettings = Extract<CollectorSettings, { name: 'zaqar' }>;

/** The newest message's body, 0600 in the state directory. */
export const ZAQAR_FILE = 'zaqar-metadata.json';
/** Pops per check: a queue that still has messages after this many is read further at the next check. */
const MAX_POPS = 5;

interface Saved {
  queue: string;
  metadata: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The newest of messages read in order: the smallest age, the later one among equals. */
export function newest(messages: readonly ZaqarMessage[]): ZaqarMessage | undefined {
  let best: ZaqarMessage | undefined;
  for (const m of messages) if (!best || (m.age ?? Infinity) <= (best.age ?? Infinity)) best = m;
  return best;
}

export class ZaqarCollector implements Collector {
  readonly name = 'zaqar';
  private readonly session: KeystoneSession;
  private readonly file: string;
  private readonly writer: DurableWriter;
  private last: unknown;

  constructor(
    private readonly s: ZaqarSettings,
    private readonly deps: Pick<CollectorDeps, 'http' | 'retry' | 'stateDir' | 'logger' | 'now'>,
  ) {
    this.session = new KeystoneSession(deps.http, s.keystone, deps.retry, deps.now, COLLECT_TIMEOUT_MS);
    this.file = path.join(deps.stateDir, ZAQAR_FILE);
    this.writer = new DurableWriter(path.join(deps.stateDir, 'journal'), deps.logger);
  }

  private get source(): string {
    return `Zaqar queue ${this.s.queueId}`;
  }

  async collect(): Promise<CollectedDocument[] | undefined> {
    const taken: ZaqarMessage[] = [];
    for (let i = 0; i < MAX_POPS; i++) {
      const batch = await this.session.call('messaging', (token, endpoint) =>
        popMessages({ http: this.deps.http, endpoint, token, projectId: this.s.keystone.projectId, clientId: PROCESS_CLIENT_ID, retry: this.deps.retry, timeoutMs: COLLECT_TIMEOUT_MS }, this.s.queueId, MAX_POP),
      );
      taken.push(...batch);
      if (batch.length < MAX_POP) break;
    }
    const latest = newest(taken);
    if (latest) {
      if (!isObject(latest.body)) throw new ProtocolError(`${this.source}: the newest of ${taken.length} message(s) holds no JSON object`);
      assertDepth(latest.body, DEFAULT_MAX_DEPTH, this.source);
      this.deps.logger.info(`${this.source}: ${taken.length} message(s) taken; the newest is the metadata`);
      const saved: Saved = { queue: this.s.queueId, metadata: latest.body };
      await this.writer.writeFile(this.file, JSON.stringify(saved), { mode: 0o600 });
      this.last = latest.body;
    } else {
      this.last ??= this.readSaved();
      if (this.last === undefined) {
        this.deps.logger.info(`${this.source}: no message yet`);
        return undefined;
      }
    }
    return [{ data: this.last, source: this.source }];
  }

  /** The message kept by an earlier run; a file that cannot be read is an error (it would otherwise count as none). */
  private readSaved(): unknown {
    let text: string;
    try {
      if (fs.statSync(this.file).size > MAX_METADATA_BYTES) throw new ConfigError(`larger than ${MAX_METADATA_BYTES} bytes (delete it: the next message replaces it)`, this.file);
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let saved: Saved;
    try {
      saved = JSON.parse(text) as Saved;
    } catch {
      throw new ConfigError('not valid JSON (delete it: the next message replaces it)', this.file);
    }
    if (!isObject(saved) || !isObject(saved.metadata)) throw new ConfigError('not a saved Zaqar message (delete it: the next message replaces it)', this.file);
    return saved.metadata;
  }
}
