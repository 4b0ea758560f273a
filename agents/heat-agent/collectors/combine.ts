/**
 * The documents of every collector as one metadata: the deployments of all
 * of them, in collector order (local files after Heat's, each in its own
 * order), and everything else from the first collector that reads Heat's
 * metadata, its `os-collect-config` block included. A deployment id seen
 * twice keeps its first item. Pure.
 */
import { ConfigError } from '../../../shared/errors';
import type { CollectorName } from './settings';
import type { CollectedDocument } from './types';

export interface CollectorOutput {
  name: CollectorName;
  documents: CollectedDocument[];
}

export interface Combined {
  metadata: Record<string, unknown>;
  /** Items left out because an earlier document had their id, for the log. */
  duplicates: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function combine(outputs: readonly CollectorOutput[]): Combined {
  let metadata: Record<string, unknown> | undefined;
  const deployments: unknown[] = [];
  const ids = new Set<string>();
  const duplicates: string[] = [];
  for (const { name, documents } of outputs) {
    for (const doc of documents) {
      if (!isObject(doc.data)) throw new ConfigError('expected a JSON object', doc.source);
      if (name !== 'local') metadata ??= doc.data;
      const list = doc.data.deployments;
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw new ConfigError('expected a list', doc.source, 'deployments');
      for (const item of list) {
        const id = isObject(item) && typeof item.id === 'string' ? item.id : undefined;
        if (id !== undefined && ids.has(id)) {
          duplicates.push(`${doc.source}: deployment ${id} (an earlier collector has it)`);
          continue;
        }
        if (id !== undefined) ids.add(id);
        deployments.push(item);
      }
    }
  }
  return { metadata: { ...(metadata ?? {}), deployments }, duplicates };
}
