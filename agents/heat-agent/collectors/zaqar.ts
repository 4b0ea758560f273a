/**
 * The `zaqar` collector (ZAQAR_MESSAGE): Heat posts the server's whole
 * metadata to the server's queue at create and on every change. Each check
 * takes every message waiting (keystone as for the heat collector, then
 * pops at the catalog's messaging endpoint); reading removes them, so what
 * a check made of them is kept in the state directory and stands while the
 * queue is empty, across restarts too.
 *
 * Heat does not serialise its posts to a queue (its Swift PUTs are ordered by
 * the resource's atomic key, its Zaqar posts are not): deployments created
 * together post snapshots that can arrive out of order, so the last message
 * may lack a deployment an earlier one held. os-collect-config takes one
 * message per pass and so runs every snapshot in turn; a check here does the
 * same at once: the last message, with every deployment only earlier
 * messages of the batch held put in at its place in Heat's order (by name).
 */
import * as path from 'node:path';
import { DurableWriter } from '../../../shared/durable-write';
import { ConfigError, errorMessage, ProtocolError } from '../../../shared/errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from '../../../shared/json-depth';
import { readJsonFile } from '../../../shared/json-file';
import { compareCodePoints } from '../../../shared/pystr';
import { MAX_DEPLOYMENTS } from '../deployments';
import { KeystoneSession } from '../keystone';
import { MAX_POP, PROCESS_CLIENT_ID, popMessages } from '../zaqar';
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

type Metadata = Record<string, unknown>;

const idOf = (d: unknown): string | undefined => (isObject(d) && typeof d.id === 'string' ? d.id : undefined);
const nameOf = (d: unknown): string => (isObject(d) && typeof d.name === 'string' ? d.name : '');

/**
 * What a batch of snapshots, in queue order, stands for: the last one, its
 * `deployments` completed with those only earlier snapshots held (by id,
 * the later copy first), each put before the first of the list whose name
 * sorts after it, as Heat orders them. It stops past MAX_DEPLOYMENTS, which
 * the metadata's check then refuses.
 */
export function mergeSnapshots(bodies: readonly Metadata[]): { metadata: Metadata; added: number } {
  const last = bodies[bodies.length - 1];
  if (!Array.isArray(last.deployments)) return { metadata: last, added: 0 };
  const list: unknown[] = [...last.deployments];
  const seen = new Set(list.map(idOf).filter((id) => id !== undefined));
  let added = 0;
  for (let i = bodies.length - 2; i >= 0 && list.length <= MAX_DEPLOYMENTS; i--) {
    const earlier = bodies[i].deployments;
    if (!Array.isArray(earlier)) continue;
    for (const d of earlier) {
      const id = idOf(d);
      if (list.length > MAX_DEPLOYMENTS) break;
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
      const at = list.findIndex((x) => compareCodePoints(nameOf(x), nameOf(d)) > 0);
      list.splice(at < 0 ? list.length : at, 0, d);
      added++;
    }
  }
  return { metadata: { ...last, deployments: list }, added };
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
    const taken = await this.popAll();
    if (taken.length) {
      const bodies: Metadata[] = [];
      taken.forEach((body, i) => {
        const where = `${this.source}, message ${i + 1} of ${taken.length}`;
        if (!isObject(body)) return this.deps.logger.warn(`${where}: holds no JSON object; passed over`);
        assertDepth(body, DEFAULT_MAX_DEPTH, where);
        bodies.push(body);
      });
      if (!bodies.length) throw new ProtocolError(`${this.source}: none of the ${taken.length} message(s) taken holds a JSON object`);
      const { metadata, added } = mergeSnapshots(bodies);
      const also = added ? `, with ${added} deployment(s) only earlier messages held` : '';
      this.deps.logger.info(`${this.source}: ${taken.length} message(s) taken; the last is the metadata${also}`);
      const saved: Saved = { queue: this.s.queueId, metadata };
      await this.writer.writeFile(this.file, JSON.stringify(saved), { mode: 0o600 });
      this.last = metadata;
    } else {
      this.last ??= this.readSaved();
      if (this.last === undefined) {
        this.deps.logger.info(`${this.source}: no message yet`);
        return undefined;
      }
    }
    return [{ data: this.last, source: this.source }];
  }

  /**
   * Every waiting message, in the queue's order. Popping removes them, so a
   * pop that fails after others succeeded does not lose what they took.
   */
  private async popAll(): Promise<unknown[]> {
    const taken: unknown[] = [];
    for (let i = 0; i < MAX_POPS; i++) {
      let batch: unknown[];
      try {
        batch = await this.session.call('messaging', (token, endpoint) =>
          popMessages({ http: this.deps.http, endpoint, token, projectId: this.s.keystone.projectId, clientId: PROCESS_CLIENT_ID, retry: this.deps.retry, timeoutMs: COLLECT_TIMEOUT_MS }, this.s.queueId, MAX_POP),
        );
      } catch (err) {
        if (!taken.length) throw err;
        this.deps.logger.warn(`${this.source}: pop ${i + 1} failed (${errorMessage(err)}); using the ${taken.length} message(s) taken`);
        break;
      }
      taken.push(...batch);
      if (batch.length < MAX_POP) break;
    }
    return taken;
  }

  /** The message kept by an earlier run; a file that cannot be read is an error (it would otherwise count as none). */
  private readSaved(): unknown {
    const hint = ' (delete it: the next message replaces it)';
    let read: { value: unknown } | undefined;
    try {
      read = readJsonFile(this.file, { what: 'the saved Zaqar message', noFollow: true, maxBytes: MAX_METADATA_BYTES });
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${err.message}${hint}`);
      throw err;
    }
    if (!read) return undefined;
    const saved = read.value as Saved;
    if (!isObject(saved) || !isObject(saved.metadata)) throw new ConfigError(`not a saved Zaqar message${hint}`, this.file);
    return saved.metadata;
  }
}
