/**
 * EC2 mode's CloudFormation: DescribeStackResource and SignalResource as AWS
 * answers them (aws-format.ts), for keys and for instances that sign with
 * their identity (CFN_V1). An instance may call these two actions on the
 * stack it belongs to and nothing else, as AWS documents for cfn-init
 * without credentials; a key is scoped as in Heat mode, and refused in IAM's
 * words. `StackName` is the name or the stack's ARN.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, AwsErrors, awsResult, javaDouble, JsonNumber } from './aws-format';
import type { Ec2Mode } from './ec2-mode';
import type { Credential, Model, ResourceState, StackState } from './model';
import type { Reply } from './heat-format';

/** Who calls: an instance by its verified identity document, or the holder of a key. */
export type AwsCaller = { kind: 'instance'; instanceId: string } | { kind: 'key'; cred: Credential };

export interface AwsApiContext {
  model: Model;
  ec2: Ec2Mode;
}

/** The actions EC2 mode answers as CloudFormation; the only ones an instance identity may call. */
export const AWS_ACTIONS: ReadonlySet<string> = new Set(['DescribeStackResource', 'SignalResource']);

/** UniqueId's limit in CloudFormation's API model. */
const MAX_UNIQUE_ID = 64;

type Action = 'DescribeStackResource' | 'SignalResource';

export function handleAwsApi(params: Record<string, string>, caller: AwsCaller, ctx: AwsApiContext): Reply {
  const json = params.ContentType === 'JSON';
  const requestId = randomUUID();
  try {
    const action = params.Action ?? '';
    if (action === 'DescribeStackResource') return describeStackResource(params, caller, ctx, json, requestId);
    if (action === 'SignalResource') return signalResource(params, caller, ctx, json, requestId);
    // Only instance identities come here with other actions (handleApi answers keys).
    const who = caller.kind === 'instance' ? `Instance ${caller.instanceId}` : ctx.ec2.principal(caller.cred);
    throw AwsErrors.accessDenied(`${who} may call only DescribeStackResource and SignalResource with its instance identity, not ${action || 'an empty Action'}`);
  } catch (err) {
    if (err instanceof AwsError) return err.toReply(json, requestId);
    throw err;
  }
}

function required(params: Record<string, string>, names: string[]): void {
  for (const name of names) {
    if (!params[name]) throw AwsErrors.missing(name[0].toLowerCase() + name.slice(1));
  }
}

/** The stack and resource named, once the caller may act on them. */
function target(params: Record<string, string>, action: Action, caller: AwsCaller, ctx: AwsApiContext): { stack: StackState; res: ResourceState } {
  const stack = ctx.ec2.findStack(params.StackName);
  if (!stack) throw AwsErrors.validation(`Stack with id ${params.StackName} does not exist`);
  const name = params.LogicalResourceId;
  if (caller.kind === 'instance') {
    if (!ctx.ec2.isMember(caller.instanceId, stack)) throw AwsErrors.accessDenied(`Instance ${caller.instanceId} is not allowed to call ${action} for stack ${stack.stackName}`);
  } else if (!(action === 'DescribeStackResource' ? ctx.model.mayDescribe(caller.cred, stack, name) : ctx.model.maySignal(caller.cred, stack, name))) {
    throw AwsErrors.accessDenied(
      `User: ${ctx.ec2.principal(caller.cred)} is not authorized to perform: cloudformation:${action} on resource: ${ctx.ec2.stackArn(stack)} ` +
        `because no identity-based policy allows the cloudformation:${action} action`,
    );
  }
  const res = stack.resources.get(name);
  if (!res) throw AwsErrors.validation(`Resource ${name} does not exist for stack ${stack.stackName}`);
  return { stack, res };
}

/** Empty metadata is no Metadata, as for a resource without any. */
function metadataText(metadata: unknown): string | null {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata === 'object' && !Array.isArray(metadata) && Object.keys(metadata).length === 0) return null;
  return JSON.stringify(metadata);
}

function describeStackResource(params: Record<string, string>, caller: AwsCaller, ctx: AwsApiContext, json: boolean, requestId: string): Reply {
  required(params, ['StackName', 'LogicalResourceId']);
  const { stack, res } = target(params, 'DescribeStackResource', caller, ctx);
  const { status, reason } = ctx.model.completionOf(stack, res);
  const updated = Date.parse(res.lastUpdated);
  const detail = {
    Description: res.description || null,
    DriftInformation: { LastCheckTimestamp: null, StackResourceDriftStatus: 'NOT_CHECKED' },
    // JSON: epoch seconds as a Java double (aws-cfn-bootstrap needs the number); XML: ISO 8601.
    LastUpdatedTimestamp: json ? new JsonNumber(javaDouble(updated / 1000)) : new Date(updated).toISOString(),
    LogicalResourceId: res.name,
    Metadata: metadataText(ctx.model.metadataOf(stack, res)),
    ModuleInfo: null,
    PhysicalResourceId: res.physicalId,
    ResourceStatus: status,
    ResourceStatusReason: reason || null,
    ResourceType: res.type,
    StackId: ctx.ec2.stackArn(stack),
    StackName: stack.stackName,
  };
  return awsResult('DescribeStackResource', { StackResourceDetail: detail }, json, requestId);
}

function signalResource(params: Record<string, string>, caller: AwsCaller, ctx: AwsApiContext, json: boolean, requestId: string): Reply {
  required(params, ['StackName', 'LogicalResourceId', 'UniqueId', 'Status']);
  const { UniqueId: uniqueId, Status: status } = params;
  if (status !== 'SUCCESS' && status !== 'FAILURE') {
    throw AwsErrors.validation(`1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [SUCCESS, FAILURE]`);
  }
  if (uniqueId.length > MAX_UNIQUE_ID) {
    throw AwsErrors.validation(`1 validation error detected: Value '${uniqueId}' at 'uniqueId' failed to satisfy constraint: Member must have length less than or equal to ${MAX_UNIQUE_ID}`);
  }
  const { stack, res } = target(params, 'SignalResource', caller, ctx);
  const current = ctx.model.completionOf(stack, res).status;
  // Only a resource that waits (a creation or update policy, a wait condition) takes signals.
  if (!current.endsWith('_IN_PROGRESS')) throw AwsErrors.validation(`Resource ${res.name} is in ${current} state and cannot be signaled`);
  ctx.model.signalResource(stack, res, uniqueId, status, caller.kind === 'instance' ? { instanceId: caller.instanceId } : { accessKey: caller.cred.accessKey });
  return awsResult('SignalResource', null, json, requestId);
}
