/**
 * The real-world Init documents of ../shared/corpus (never committed here),
 * and how the tests move a document's paths under a temporary root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CORPUS = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'corpus', 'init-real-world');
const INIT = 'AWS::CloudFormation::Init';

/**
 * A copy of the document with its paths under `root`: files and sources
 * targets, the files and sources services watch, and commands' cwd and
 * the files they name.
 */
export function rebased(file: string, root: string): { doc: Record<string, unknown>; at: (p: string) => string } {
  const text = fs.readFileSync(path.join(CORPUS, file), 'utf8');
  const doc = JSON.parse(text) as Record<string, Record<string, Record<string, Record<string, unknown>>>>;
  const at = (p: string) => path.join(root, p);
  const moved = new Set<string>();
  for (const [name, config] of Object.entries(doc[INIT])) {
    if (name === 'configSets') continue;
    for (const key of ['files', 'sources'] as const) {
      if (!config[key]) continue;
      config[key] = Object.fromEntries(Object.entries(config[key]).map(([p, v]) => (moved.add(p), [at(p), v])));
    }
  }
  for (const [name, config] of Object.entries(doc[INIT])) {
    if (name === 'configSets') continue;
    for (const managed of Object.values(config.services ?? {}) as Array<Record<string, { files?: string[]; sources?: string[] }>>) {
      for (const svc of Object.values(managed)) for (const k of ['files', 'sources'] as const) if (svc[k]) svc[k] = svc[k]!.map(at);
    }
    for (const cmd of Object.values(config.commands ?? {}) as Array<{ command: string; cwd?: string }>) {
      if (cmd.cwd?.startsWith('/')) cmd.cwd = at(cmd.cwd);
      for (const p of moved) if (typeof cmd.command === 'string') cmd.command = cmd.command.split(p).join(at(p));
    }
  }
  return { doc, at };
}
