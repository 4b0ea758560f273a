/** The CloudFormation API calls the tools make (heat-api-cfn and AWS alike). */
import { ProtocolError } from './errors';
import { excerpt } from './aws-error';
import { dig, type QueryClient } from './query-api';

export const CFN_API_VERSION = '2010-05-15';

export interface StackResourceDetail {
  logicalResourceId: string;
  stackName?: string;
  stackId?: string;
  physicalResourceId?: string;
  resourceType?: string;
  resourceStatus?: string;
  lastUpdatedTimestamp?: string;
  /** The resource's Metadata, decoded; undefined when it has none. */
  metadata: unknown;
}

function optString(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return String(v);
}

/**
 * `Metadata` comes as a JSON object (Heat with ContentType=JSON), as JSON
 * text (AWS; Heat's XML form) or absent.
 */
export function decodeMetadata(raw: unknown, what: string): unknown {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ProtocolError(`${what}: Metadata is not valid JSON: ${excerpt(raw, 120)}`);
  }
}

// Parameters are listed in aws-cfn-bootstrap's order: a CFN_V1 request keeps it on the wire (formParams).

export async function describeStackResource(client: QueryClient, stack: string, resource: string): Promise<StackResourceDetail> {
  const what = `DescribeStackResource ${stack}/${resource}`;
  const body = await client.call('DescribeStackResource', { LogicalResourceId: resource, ContentType: 'JSON', StackName: stack });
  const d = dig(body, ['DescribeStackResourceResponse', 'DescribeStackResourceResult', 'StackResourceDetail'], what) as Record<string, unknown>;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new ProtocolError(`${what}: StackResourceDetail is not an object`);
  const metadata = decodeMetadata(d.Metadata, what);
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new ProtocolError(`${what}: Metadata is not a JSON object`);
  }
  return {
    logicalResourceId: optString(d.LogicalResourceId) ?? resource,
    stackName: optString(d.StackName),
    stackId: optString(d.StackId),
    physicalResourceId: optString(d.PhysicalResourceId),
    resourceType: optString(d.ResourceType),
    resourceStatus: optString(d.ResourceStatus),
    lastUpdatedTimestamp: optString(d.LastUpdatedTimestamp),
    metadata,
  };
}

export type SignalStatus = 'SUCCESS' | 'FAILURE';

export async function signalResource(
  client: QueryClient,
  args: { stack: string; resource: string; uniqueId: string; status: SignalStatus },
): Promise<void> {
  await client.call('SignalResource', {
    LogicalResourceId: args.resource,
    StackName: args.stack,
    UniqueId: args.uniqueId,
    Status: args.status,
    ContentType: 'JSON',
  });
}
