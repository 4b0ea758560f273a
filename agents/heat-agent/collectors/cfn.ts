/**
 * The `cfn` collector: heat-api-cfn's DescribeStackResource of the server
 * resource, signed with the stack user's keys (POLL_SERVER_CFN), and the part
 * of its Metadata that `path` selects below `<Resource>.Metadata`.
 */
import { ProtocolError } from '../../../shared/errors';
import { lookup } from '../../../shared/key-path';
import { describeResource } from '../../../shared/metadata-source';
import type { CollectorSettings } from './settings';
import type { Collector, CollectedDocument, CollectorDeps } from './types';

export type CfnSettings = Extract<CollectorSettings, { name: 'cfn' }>;

export class CfnCollector implements Collector {
  readonly name = 'cfn';

  constructor(
    private readonly s: CfnSettings,
    private readonly deps: Pick<CollectorDeps, 'ctx'>,
  ) {}

  async collect(): Promise<CollectedDocument[]> {
    const { stackName, resource, subPath } = this.s;
    const detail = await describeResource(this.deps.ctx, stackName, resource);
    const source = `DescribeStackResource ${stackName}/${resource} (${detail.endpoint})`;
    const below = lookup(detail.metadata ?? {}, subPath);
    if (!below.found) throw new ProtocolError(`${source}: the metadata has no ${[resource, 'Metadata', ...subPath].join('.')}`);
    return [{ data: below.value, source }];
  }
}
