/**
 * The `local` collector, os-collect-config's: the JSON files of
 * /var/lib/os-collect-config/local-data (`[local] path`, repeatable), in C
 * byte order of their names, dot files and directories skipped. A directory
 * that is absent gives nothing; one owned by another user or writable by
 * all, or such a file, is refused, as os-collect-config refuses it (anyone
 * could make the agent run anything as root).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../../shared/errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from '../../../shared/json-depth';
import type { CollectorSettings } from './settings';
import { MAX_METADATA_BYTES, type Collector, type CollectedDocument, type CollectorDeps } from './types';

export type LocalSettings = Extract<CollectorSettings, { name: 'local' }>;

/** Files read per directory, at most. */
export const MAX_LOCAL_FILES = 1000;

function checkOwner(file: string, st: fs.Stats, what: string): void {
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new ConfigError(`${what} is owned by uid ${st.uid}, not by this user (${uid}): refused`, file);
  if (st.mode & 0o002) throw new ConfigError(`${what} is writable by everyone: refused`, file);
}

export class LocalCollector implements Collector {
  readonly name = 'local';

  constructor(
    private readonly s: LocalSettings,
    private readonly deps: Pick<CollectorDeps, 'logger'>,
  ) {}

  async collect(): Promise<CollectedDocument[]> {
    const out: CollectedDocument[] = [];
    for (const dir of this.s.paths) {
      let st: fs.Stats;
      try {
        st = fs.statSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.deps.logger.debug(`local collector: ${dir} does not exist`);
        continue;
      }
      checkOwner(dir, st, 'the directory');
      const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
      if (names.length > MAX_LOCAL_FILES) throw new ConfigError(`${names.length} entries, at most ${MAX_LOCAL_FILES}`, dir);
      // C locale: bytes, not the host's collation.
      names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const name of names) {
        const file = path.join(dir, name);
        const fst = fs.statSync(file);
        if (fst.isDirectory()) continue;
        checkOwner(file, fst, 'the file');
        if (fst.size > MAX_METADATA_BYTES) throw new ConfigError(`larger than ${MAX_METADATA_BYTES} bytes`, file);
        let data: unknown;
        try {
          data = JSON.parse(fs.readFileSync(file, 'utf8'));
        } catch (err) {
          throw new ConfigError(`not valid JSON: ${(err as Error).message}`, file);
        }
        assertDepth(data, DEFAULT_MAX_DEPTH, file);
        out.push({ data, source: file });
      }
    }
    return out;
  }
}
