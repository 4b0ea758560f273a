/**
 * The `heat` collector (POLL_SERVER_HEAT): keystone v3 with the stack user's
 * id and password, scoped to its project, then heat-api's resource metadata
 * at the token catalog's orchestration endpoint:
 * `GET <orchestration>/stacks/<stack_id>/resources/<resource_name>/metadata`,
 * answered `{"metadata": {...}}`. The token is kept between checks.
 */
import { ProtocolError } from '../../../shared/errors';
import { assertDepth, DEFAULT_MAX_DEPTH } from '../../../shared/json-depth';
import { KeystoneSession } from '../keystone';
import type { CollectorSettings } from './settings';
import { COLLECT_TIMEOUT_MS, MAX_METADATA_BYTES, type Collector, type CollectedDocument, type CollectorDeps } from './types';

export type HeatSettings = Extract<CollectorSettings, { name: 'heat' }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `<name>/<id>` and the resource name, each segment escaped. */
export function resourceMetadataPath(stackId: string, resourceName: string): string {
  return `/stacks/${stackId.split('/').map(encodeURIComponent).join('/')}/resources/${encodeURIComponent(resourceName)}/metadata`;
}

export class HeatCollector implements Collector {
  readonly name = 'heat';
  private readonly session: KeystoneSession;

  constructor(
    private readonly s: HeatSettings,
    private readonly deps: Pick<CollectorDeps, 'http' | 'retry' | 'now'>,
  ) {
    this.session = new KeystoneSession(deps.http, s.keystone, deps.retry, deps.now, COLLECT_TIMEOUT_MS);
  }

  async collect(): Promise<CollectedDocument[]> {
    const path = resourceMetadataPath(this.s.stackId, this.s.resourceName);
    const { body, source } = await this.session.call('orchestration', async (token, endpoint) => {
      const res = await this.deps.http.request(
        { method: 'GET', url: `${endpoint}${path}`, headers: { 'X-Auth-Token': token, Accept: 'application/json' } },
        { retry: this.deps.retry, maxBodyBytes: MAX_METADATA_BYTES, timeoutMs: COLLECT_TIMEOUT_MS },
      );
      return { body: res.body, source: `heat-api ${endpoint}${path}` };
    });
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ProtocolError(`${source}: the answer is not JSON`);
    }
    if (!isObject(doc) || !isObject(doc.metadata)) throw new ProtocolError(`${source}: expected {"metadata": {...}}`);
    assertDepth(doc.metadata, DEFAULT_MAX_DEPTH, source);
    return [{ data: doc.metadata, source }];
  }
}
