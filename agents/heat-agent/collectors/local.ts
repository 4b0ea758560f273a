/**
 * The `local` collector, os-collect-config's: the JSON files of
 * /var/lib/os-collect-config/local-data (`[local] path`, repeatable), in C
 * byte order of their names, dot files and directories skipped. A directory
 * that is absent gives nothing; one another user could change or replace
 * (trusted-file.ts), or such a file, is refused, as os-collect-config
 * refuses it (anyone could make the agent run anything as root).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../../shared/errors';
import { readJsonFile } from '../../../shared/json-file';
import { untrustedReason } from '../../../shared/trusted-file';
import type { CollectorSettings } from './settings';
import { MAX_METADATA_BYTES, type Collector, type CollectedDocument, type CollectorDeps } from './types';

export type LocalSettings = Extract<CollectorSettings, { name: 'local' }>;

/** Files read per directory, at most. */
export const MAX_LOCAL_FILES = 1000;

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
      const why = untrustedReason(dir, st);
      if (why) throw new ConfigError(`the directory ${why}: refused`, dir);
      const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
      if (names.length > MAX_LOCAL_FILES) throw new ConfigError(`${names.length} entries, at most ${MAX_LOCAL_FILES}`, dir);
      // C locale: bytes, not the host's collation.
      names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const name of names) {
        const file = path.join(dir, name);
        if (fs.statSync(file).isDirectory()) continue;
        const read = readJsonFile(file, { what: 'the file', trusted: true, maxBytes: MAX_METADATA_BYTES });
        if (!read) continue; // gone since the directory was listed
        const data = read.value;
        out.push({ data, source: file });
      }
    }
    return out;
  }
}
