/**
 * What cfn-hup has seen, in aws-cfn-bootstrap's file and shape
 * (/var/lib/cfn-hup/data/metadata_db.json: `"<hook>|<path>"` → the last value
 * handled), so that deleting it still means "treat everything as new", and a
 * file left by aws-cfn-bootstrap is taken over. One key of our own,
 * PENDING_KEY, holds the changes whose action failed and will be tried
 * again. Written whole, atomically and durably, after every change to it:
 * a kill at any moment leaves the old file or the new one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DurableWriter } from '../../shared/durable-write';
import { ConfigError, errorMessage } from '../../shared/errors';
import { readJsonFile } from '../../shared/json-file';

export const STATE_FILE = 'metadata_db.json';
/** A key no hook can have (hook names are never empty). */
export const PENDING_KEY = '|cfntools|pending';
/** The largest state file read; a larger one is set aside like a damaged one. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;
/** How aws-cfn-bootstrap writes a datetime (LastUpdatedTimestamp) in its file. */
const AWS_DATETIME_KEY = '_datetime: special_serialization: not_regular_json_';

export interface Pending {
  /** The value whose action failed. */
  value: unknown;
  /** Failed runs so far. */
  failures: number;
  /** Not tried again before this time (ms). */
  nextAt: number;
}

/** aws-cfn-bootstrap's datetimes become the ISO strings the API sends. */
function fromAwsForm(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === AWS_DATETIME_KEY && typeof obj[AWS_DATETIME_KEY] === 'string') {
      try {
        const text = JSON.parse(obj[AWS_DATETIME_KEY] as string) as unknown;
        const ms = typeof text === 'string' ? Date.parse(text.endsWith('Z') ? text : `${text}Z`) : NaN;
        if (!Number.isNaN(ms)) return new Date(ms).toISOString();
      } catch {
        // Not the form after all: an ordinary value that looks like it.
      }
    }
  }
  return value;
}

function isPending(v: unknown): v is Pending {
  const p = v as Pending;
  return p !== null && typeof p === 'object' && 'value' in p && Number.isInteger(p.failures) && p.failures >= 0 && typeof p.nextAt === 'number';
}

export class HupState {
  private readonly values = new Map<string, unknown>();
  private readonly pending = new Map<string, Pending>();
  readonly file: string;

  private constructor(
    readonly dir: string,
    private readonly writer: DurableWriter,
  ) {
    this.file = path.join(dir, STATE_FILE);
  }

  /**
   * The state in `dir`, created 0700 if missing. A damaged file is set
   * aside and the state starts empty; `problem` says so, for the log.
   */
  static load(dir: string): { state: HupState; problem?: string } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const state = new HupState(dir, new DurableWriter(path.join(dir, 'journal')));
    let doc: unknown;
    try {
      const read = readJsonFile(state.file, { what: 'the state file', noFollow: true, maxBytes: MAX_STATE_BYTES });
      if (!read) return { state };
      doc = read.value;
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('not a JSON object', state.file);
    } catch (err) {
      return { state, problem: state.setAside(err instanceof ConfigError ? err.message : `${state.file}: cannot be read (${errorMessage(err)})`) };
    }
    for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
      if (key !== PENDING_KEY) state.values.set(key, fromAwsForm(value));
    }
    const pending = (doc as Record<string, unknown>)[PENDING_KEY];
    if (pending !== null && typeof pending === 'object') {
      for (const [key, p] of Object.entries(pending as Record<string, unknown>)) if (isPending(p)) state.pending.set(key, p);
    }
    return { state };
  }

  /** `why` names the file and what is wrong with it, never what it holds. */
  private setAside(why: string): string {
    const aside = `${this.file}.damaged-${Date.now()}`;
    try {
      fs.renameSync(this.file, aside);
      return `${why}: moved to ${aside}; every watched value counts as seen for the first time`;
    } catch (err) {
      return `${why}, and cannot be moved aside (${(err as Error).message}); starting from an empty state`;
    }
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  get(key: string): unknown {
    return this.values.get(key);
  }

  /** The value handled for `key` (null: seen absent); any pending retry of it ends. */
  set(key: string, value: unknown): void {
    this.values.set(key, value ?? null);
    this.pending.delete(key);
  }

  pendingOf(key: string): Pending | undefined {
    return this.pending.get(key);
  }

  setPending(key: string, p: Pending): void {
    this.pending.set(key, p);
  }

  async save(): Promise<void> {
    const doc: Record<string, unknown> = Object.fromEntries(this.values);
    if (this.pending.size) doc[PENDING_KEY] = Object.fromEntries(this.pending);
    await this.writer.writeFile(this.file, JSON.stringify(doc), { mode: 0o600 });
  }
}
