/**
 * What heat-agent has done, per deployment id: the fingerprint it ran (or
 * refused to run), the result it must report, and whether Heat accepted
 * that report. A
 * deployment is recorded as done only once its signal was accepted; one
 * whose result is recorded but not accepted is signalled again, never run
 * again. Written whole, atomically and durably, after every change: a kill
 * at any moment leaves the old file or the new one. The metadata's latest
 * `os-collect-config` block (the collectors and their keys, which Heat
 * rotates) is kept here too (0600), so that a restart uses the latest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DurableWriter } from '../../shared/durable-write';
import { ConfigError, errorMessage } from '../../shared/errors';
import { readJsonFile } from '../../shared/json-file';
import type { Logger } from '../../shared/log';
import type { OccBlock } from './collectors/settings';

export const STATE_FILE = 'deployed.json';
const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** What a hook answers (heat-config's protocol): deploy_stdout, deploy_stderr, deploy_status_code and the outputs. */
export type DeploymentResult = Record<string, unknown>;

export interface DeploymentRecord {
  fingerprint: string;
  /** Heat accepted the signal (or the transport sends none). */
  signalled: boolean;
  /** Kept until the signal is accepted. */
  result?: DeploymentResult;
  /** Why it was not run and nothing could report that (said once; tried again when the deployment changes). */
  refused?: string;
  /** When the metadata was first seen without it (ms since the epoch); cleared when it is seen again. */
  absentSince?: number;
}

/**
 * How long a deployment stays recorded once the metadata no longer holds it.
 * Heat's Zaqar messages live an hour, and one posted before a deletion can
 * still be taken after it: a record forgotten sooner would make that stale
 * snapshot run the deployment again.
 */
export const FORGET_AFTER_MS = 2 * 60 * 60 * 1000;

/** What heat-agent before the collectors kept of the block: the cfn keys. */
interface LegacyCredentials {
  accessKey: string;
  secretKey: string;
}

interface StateDocument {
  deployments: Record<string, DeploymentRecord>;
  /** The metadata's latest `os-collect-config` block. */
  collectors?: OccBlock;
  credentials?: LegacyCredentials;
}

function isRecord(v: unknown): v is DeploymentRecord {
  const r = v as DeploymentRecord;
  return !!r && typeof r === 'object' && typeof r.fingerprint === 'string' && typeof r.signalled === 'boolean' && (r.absentSince === undefined || typeof r.absentSince === 'number');
}

export class AgentState {
  /** By deployment id, in a Map: an id is never a property name (`__proto__` would be none of ours). */
  private records = new Map<string, DeploymentRecord>();
  private rest: Omit<StateDocument, 'deployments'> = {};
  readonly file: string;

  private constructor(
    readonly dir: string,
    private readonly writer: DurableWriter,
  ) {
    this.file = path.join(dir, STATE_FILE);
  }

  /** The state in `dir`; a damaged file is set aside (said in the log), and everything counts as new. */
  static load(dir: string, log: Logger): AgentState {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const state = new AgentState(dir, new DurableWriter(path.join(dir, 'journal'), log));
    try {
      const read = readJsonFile(state.file, { what: 'the state file', noFollow: true, maxBytes: MAX_STATE_BYTES });
      if (!read) return state;
      const doc = read.value as StateDocument;
      if (!doc || typeof doc !== 'object' || !doc.deployments || typeof doc.deployments !== 'object') throw new ConfigError('not a heat-agent state document', state.file);
      const records = new Map(Object.entries(doc.deployments));
      for (const [id, r] of records) if (!isRecord(r)) throw new ConfigError(`deployment ${JSON.stringify(id.slice(0, 80))}: not a record`, state.file);
      const { deployments: _, ...rest } = doc;
      state.records = records;
      state.rest = rest;
    } catch (err) {
      return state.setAside(err instanceof ConfigError ? err.message : `${state.file}: cannot be read (${errorMessage(err)})`, log);
    }
    return state;
  }

  /** `why` names the file and what is wrong with it, never what it holds. */
  private setAside(why: string, log: Logger): AgentState {
    const aside = `${this.file}.damaged-${Date.now()}`;
    fs.renameSync(this.file, aside);
    log.error(`${why}; set aside as ${aside}: every deployment counts as new`);
    return this;
  }

  get(id: string): DeploymentRecord | undefined {
    return this.records.get(id);
  }

  /** The metadata's latest `os-collect-config` block; a state written before it was kept gives its cfn keys. */
  get collectorBlock(): OccBlock | undefined {
    const { collectors, credentials } = this.rest;
    if (collectors && typeof collectors === 'object' && collectors.sections && typeof collectors.sections === 'object') return collectors;
    if (credentials?.accessKey && credentials.secretKey) return { sections: { cfn: { access_key_id: credentials.accessKey, secret_access_key: credentials.secretKey } } };
    return undefined;
  }

  async set(id: string, record: DeploymentRecord): Promise<void> {
    this.records.set(id, record);
    await this.save();
  }

  async setCollectorBlock(block: OccBlock): Promise<void> {
    this.rest.collectors = block;
    delete this.rest.credentials;
    await this.save();
  }

  /** Forget the deployments the metadata has not held for FORGET_AFTER_MS; `ids` are those it holds now. */
  async keepOnly(ids: ReadonlySet<string>, now = Date.now()): Promise<void> {
    let changed = false;
    for (const [id, r] of this.records) {
      if (ids.has(id)) {
        if (r.absentSince === undefined) continue;
        delete r.absentSince;
      } else if (r.absentSince === undefined || r.absentSince > now) r.absentSince = now;
      else if (now - r.absentSince >= FORGET_AFTER_MS) this.records.delete(id);
      else continue;
      changed = true;
    }
    if (changed) await this.save();
  }

  private save(): Promise<void> {
    // Object.fromEntries defines each id as an own property, `__proto__` too, as JSON.parse reads it back.
    const doc: StateDocument = { ...this.rest, deployments: Object.fromEntries(this.records) };
    return this.writer.writeFile(this.file, JSON.stringify(doc), { mode: 0o600 });
  }
}
