/**
 * Where a run stopped for a reboot (`waitAfterCompletion: forever`), so that
 * `cfn-init --resume` (run at boot by packaging/systemd/cfn-init-resume.service)
 * continues right after that command instead of starting over: repeating the
 * command that reboots would reboot forever.
 *
 * One JSON file, written atomically, 0600 in a 0700 directory: it holds the
 * metadata itself (the resumed run must apply exactly what the stopped one
 * validated, and may need it with no network), which can hold secrets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DurableWriter } from '../durable-write';
import { ConfigError } from '../errors';
import { DEFAULT_MAX_DEPTH } from '../json-depth';
import { readJsonFile } from '../json-file';
import { canonicalHash } from '../metadata-hash';
import { stateDir } from '../paths';
import { ChangeSet } from './handlers/types';

export const PROGRESS_FILE = 'progress.json';
/** Version of the progress file's layout; another version is refused, not guessed at. */
export const CHECKPOINT_FORMAT = 1 as const;
/** The largest progress file read: the metadata (at most 64 MiB as fetched) written indented, and the changes. */
const MAX_PROGRESS_BYTES = 256 * 1024 * 1024;

/** Where in the run list to continue. Only commands can stop a run, so every key before `commands` of that config is done. */
export interface Position {
  /** Index into the run's list of selected configs (a config listed twice has two). */
  config: number;
  /** Name of that config, to detect a mismatching run list. */
  configName: string;
  /** Commands of that config already run (including the one that stopped the run). */
  commandsDone: string[];
}

export interface SerializedChanges {
  packages: Record<string, string[]>;
  groups: string[];
  users: string[];
  sources: string[];
  files: string[];
  commands: string[];
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** sha256 of the metadata, key order ignored. */
  metadataHash: string;
  /** The whole resource metadata the run applies. */
  metadata: unknown;
  /** Requested configSets; null for the default. */
  configSets: string[] | null;
  /** The stack and resource the metadata came from, to update the cache once the run completes. */
  stack?: string;
  resource?: string;
  /** Human-readable origin of the metadata, for logs. */
  source: string;
  position: Position;
  /** Changes made before the stop: services after the reboot still restart for them. */
  changes: SerializedChanges;
  /** Key path of the command the run stopped after. */
  stoppedAt: string;
  savedAt: string;
}

export function serializeChanges(c: ChangeSet): SerializedChanges {
  const sorted = (s: Set<string>) => [...s].sort();
  return {
    packages: Object.fromEntries([...c.packages].map(([m, names]) => [m, sorted(names)])),
    groups: sorted(c.groups),
    users: sorted(c.users),
    sources: sorted(c.sources),
    files: sorted(c.files),
    commands: sorted(c.commands),
  };
}

export function restoreChanges(s: SerializedChanges): ChangeSet {
  const c = new ChangeSet();
  for (const [manager, names] of Object.entries(s.packages)) for (const name of names) c.record({ key: 'packages', manager, name });
  for (const key of ['groups', 'users', 'sources', 'files', 'commands'] as const) for (const name of s[key]) c.record({ key, name });
  return c;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Shape check of a read checkpoint: a damaged file must fail clearly, not resume at a wrong place. */
function checkShape(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return 'not a JSON object';
  const c = v as Partial<Checkpoint>;
  if (c.format !== CHECKPOINT_FORMAT) return `unknown format ${JSON.stringify(c.format)} (expected ${CHECKPOINT_FORMAT})`;
  if (typeof c.metadataHash !== 'string' || typeof c.source !== 'string' || typeof c.stoppedAt !== 'string') return 'missing metadataHash, source or stoppedAt';
  if (c.configSets !== null && !isStrings(c.configSets)) return 'configSets is not a list of names';
  const pos = c.position;
  if (!pos || !Number.isInteger(pos.config) || pos.config < 0 || typeof pos.configName !== 'string' || !isStrings(pos.commandsDone)) return 'bad position';
  const ch = c.changes;
  if (!ch || typeof ch.packages !== 'object' || !Object.values(ch.packages).every(isStrings)) return 'bad changes';
  for (const key of ['groups', 'users', 'sources', 'files', 'commands'] as const) if (!isStrings(ch[key])) return `bad changes.${key}`;
  if (canonicalHash(c.metadata) !== c.metadataHash) return 'the metadata does not match its hash';
  return undefined;
}

/** Where killed writes are journalled (shared/durable-write.ts), under the state directory. */
export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'journal');
}

export class ProgressStore {
  readonly file: string;
  constructor(
    readonly dir: string,
    private readonly writer: DurableWriter,
  ) {
    this.file = path.join(dir, PROGRESS_FILE);
  }

  /** The saved checkpoint; its metadata may nest `metadataDepth` levels (the run's bound), the checkpoint one more. */
  read(metadataDepth = DEFAULT_MAX_DEPTH): Checkpoint | undefined {
    let read: { value: unknown } | undefined;
    try {
      read = readJsonFile(this.file, { what: 'saved progress', noFollow: true, maxBytes: MAX_PROGRESS_BYTES, maxDepth: metadataDepth + 1 });
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${err.message} (delete the file to start over)`);
      throw new ConfigError(`cannot read saved progress: ${(err as Error).message}`, this.file);
    }
    if (!read) return undefined;
    const parsed = read.value;
    const bad = checkShape(parsed);
    if (bad) throw new ConfigError(`saved progress is damaged: ${bad} (delete the file to start over)`, this.file);
    return parsed as Checkpoint;
  }

  async write(checkpoint: Checkpoint): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await this.writer.writeFile(this.file, JSON.stringify(checkpoint, null, 2) + '\n', { mode: 0o600 });
  }

  clear(): void {
    fs.rmSync(this.file, { force: true });
  }
}
