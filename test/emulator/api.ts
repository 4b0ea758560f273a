/**
 * The signed API under /v1/: heat-api-cfn's Action routing and answers
 * (heat/api/cfn/v1), the wait-condition PUT and the resource-signal POST
 * (signal.py), the old heat-api-cloudwatch PutMetricData, and AWS's
 * SignalResource, which Heat lacks. Errors follow Heat's split: a controller that *returns* an error
 * answers 200 + JSON string under ContentType=JSON and 4xx/5xx XML otherwise;
 * a *raised* one (policy, routing, missing Namespace) is always XML. What
 * only CloudWatch refuses (throttling, its PutMetricData limits) is answered
 * in CloudWatch's own form.
 */
import { randomUUID } from 'node:crypto';
import {
  formatResponse,
  HeatApiError,
  HeatErrors,
  heatResult,
  heatXml,
  JSON_TYPE,
  percentDecode,
  pyJsonDumps,
  type Reply,
  webobPlain,
  XML_TYPE,
} from './heat-format';
import { CloudWatchError, CloudWatchErrors } from './cloudwatch-format';
import { checkPutMetricData, requestTooLarge } from './cloudwatch-limits';
import type { MetricGate } from './metric-policy';
import type { Credential, Datapoint, Model, ResourceState, StackState } from './model';
import { jsonBody } from './json-body';
import { extractParamList } from './query-params';
import { isoSeconds } from './signing';
import type { SignedRequest } from './sigverify';

export interface ApiRequest extends SignedRequest {
  /** The path below the `/v1` prefix: `/`, `/waitcondition/<arn>`... */
  route: string;
  cred: Credential;
}

export interface ApiContext {
  model: Model;
  now: () => number;
  metricGate: MetricGate;
}

/** Heat's wsgi picks the serializer from the `ContentType` parameter alone. */
function wantsJson(req: ApiRequest): boolean {
  return req.params.ContentType === 'JSON';
}

type RouteHandler = (req: ApiRequest, ctx: ApiContext) => Reply;

/** Routes under /v1 as heat/api/cfn/v1/__init__.py maps them. */
const ROUTES: Array<{ method?: string; match: (route: string) => boolean; handler: RouteHandler }> = [
  { match: (r) => r === '/' || r === '', handler: dispatchAction },
  { method: 'PUT', match: (r) => r.startsWith('/waitcondition/'), handler: updateWaitCondition },
  { method: 'POST', match: (r) => r.startsWith('/signal/'), handler: signal },
];

export function handleApi(req: ApiRequest, ctx: ApiContext): Reply {
  const route = ROUTES.find((r) => r.match(req.route) && (!r.method || r.method === req.method.toUpperCase()));
  if (!route) return webobPlain(404);
  try {
    return route.handler(req, ctx);
  } catch (err) {
    if (err instanceof HeatApiError) return err.toXmlReply();
    if (err instanceof CloudWatchError) return err.toReply();
    throw err;
  }
}

const ACTIONS: Record<string, RouteHandler> = {
  DescribeStackResource: describeStackResource,
  DescribeStackResources: describeStackResources,
  SignalResource: signalResource,
  PutMetricData: putMetricData,
};

function dispatchAction(req: ApiRequest, ctx: ApiContext): Reply {
  const action = ACTIONS[req.params.Action ?? ''];
  if (!action) throw HeatErrors.invalidAction();
  return action(req, ctx);
}

function returned(err: HeatApiError, req: ApiRequest): Reply {
  return err.toReturnedReply(wantsJson(req));
}

/** `_get_identity` + the engine's lookup; `undefined` answers as Heat's EntityNotFound does. */
function stackOf(req: ApiRequest, ctx: ApiContext, name: string): StackState | undefined {
  return ctx.model.findStack(name, req.cred);
}

function describeStackResource(req: ApiRequest, ctx: ApiContext): Reply {
  const stackName = req.params.StackName;
  // req.params['StackName'] raises KeyError in Heat's controller: an "internal error".
  if (stackName === undefined) return returned(HeatErrors.internalFailure(), req);
  const stack = stackOf(req, ctx, stackName);
  if (!stack) return returned(HeatErrors.invalidParameterValue(), req);
  const name = req.params.LogicalResourceId ?? '';
  // The engine checks a stack user's access before it looks the resource up.
  if (!ctx.model.mayDescribe(req.cred, stack, name)) return returned(HeatErrors.accessDenied(), req);
  const res = stack.resources.get(name);
  if (!res) return returned(HeatErrors.invalidParameterValue(), req);
  const { status, reason } = ctx.model.completionOf(stack, res);
  const detail = {
    Description: res.description,
    LastUpdatedTimestamp: res.lastUpdated,
    LogicalResourceId: res.name,
    Metadata: ctx.model.metadataOf(stack, res),
    PhysicalResourceId: res.physicalId,
    ResourceStatusReason: reason,
    ResourceType: res.type,
    StackId: stack.arn,
    StackName: stack.stackName,
    ResourceStatus: status,
  };
  return heatResult(formatResponse('DescribeStackResource', { StackResourceDetail: detail }), wantsJson(req));
}

function describeStackResources(req: ApiRequest, ctx: ApiContext): Reply {
  // Heat's policy: SYSTEM_OR_PROJECT_READER, so stack users are refused before anything else.
  if (req.cred.scope.kind !== 'project') throw HeatErrors.accessDenied();
  const { StackName: stackName, PhysicalResourceId: physicalId } = req.params;
  if (stackName && physicalId) return returned(HeatErrors.invalidParameterCombination('Use `StackName` or `PhysicalResourceId` but not both'), req);
  let stack: StackState | undefined;
  if (stackName !== undefined) stack = stackOf(req, ctx, stackName);
  else stack = [...ctx.model.stacks.values()].find((s) => [...s.resources.values()].some((r) => r.physicalId === physicalId));
  if (!stack) return returned(HeatErrors.invalidParameterValue(), req);
  const wanted = req.params.LogicalResourceId;
  const resources = [...stack.resources.values()]
    .filter((r) => wanted === undefined || r.name === wanted)
    .map((r) => {
      const { status, reason } = ctx.model.completionOf(stack, r);
      return {
        Description: r.description,
        LogicalResourceId: r.name,
        PhysicalResourceId: r.physicalId,
        ResourceStatusReason: reason,
        ResourceType: r.type,
        StackId: stack.arn,
        StackName: stack.stackName,
        Timestamp: r.lastUpdated,
        ResourceStatus: status,
      };
    });
  return heatResult(formatResponse('DescribeStackResources', { StackResources: resources }), wantsJson(req));
}

/** AWS CloudFormation's SignalResource (Heat has no such action); AWS's answer shape. */
function signalResource(req: ApiRequest, ctx: ApiContext): Reply {
  for (const p of ['StackName', 'LogicalResourceId', 'UniqueId', 'Status']) {
    if (!req.params[p]) return returned(HeatErrors.missingParameter(p), req);
  }
  const status = req.params.Status;
  if (status !== 'SUCCESS' && status !== 'FAILURE') return returned(HeatErrors.invalidParameterValue('Status must be SUCCESS or FAILURE'), req);
  const stack = stackOf(req, ctx, req.params.StackName);
  if (!stack) return returned(HeatErrors.invalidParameterValue(), req);
  const res = stack.resources.get(req.params.LogicalResourceId);
  if (!res) return returned(HeatErrors.invalidParameterValue(), req);
  if (!ctx.model.maySignal(req.cred, stack, res.name)) return returned(HeatErrors.accessDenied(), req);
  ctx.model.signalResource(stack, res, req.params.UniqueId, status, { accessKey: req.cred.accessKey });
  const requestId = randomUUID();
  if (wantsJson(req)) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: pyJsonDumps({ SignalResourceResponse: { ResponseMetadata: { RequestId: requestId } } }) };
  const body = `<SignalResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SignalResourceResponse>`;
  return { status: 200, headers: { 'Content-Type': XML_TYPE }, body };
}

/**
 * PutMetricData as the last heat-api-cloudwatch answered it, behind what the
 * metric policy adds: the per-key rate and, under 'aws', CloudWatch's limits,
 * both answered in CloudWatch's own error form. Heat stored only the first
 * member; the emulator keeps every datapoint so that tests see exactly what
 * a client sent.
 */
function putMetricData(req: ApiRequest, ctx: ApiContext): Reply {
  const aws = ctx.metricGate.validation === 'aws';
  const tooLarge = aws ? requestTooLarge(req.body.length) : undefined;
  if (tooLarge) throw tooLarge;
  const wait = ctx.metricGate.admit(req.cred.accessKey, ctx.now());
  if (wait !== undefined) throw CloudWatchErrors.throttling(wait);
  // Policy comes before the parameters: a handle's key is refused whatever it sends.
  if (req.cred.scope.kind === 'handle') throw HeatErrors.accessDenied();
  const invalid = aws ? checkPutMetricData(req.params) : undefined;
  if (invalid) throw invalid;
  const namespace = req.params.Namespace;
  if (namespace === undefined) throw HeatErrors.missingParameter('Namespace');
  const members = extractParamList(req.params, 'MetricData');
  if (!members.length) return returned(HeatErrors.missingParameter('MetricData list'), req);
  const receivedAt = isoSeconds(ctx.now());
  const stack = req.cred.scope.kind === 'stack' ? req.cred.scope.stack : undefined;
  const points: Datapoint[] = members.map((m) => {
    const p: Datapoint = { receivedAt, accessKey: req.cred.accessKey, namespace, dimensions: [], extra: {} };
    if (stack !== undefined) p.stack = stack;
    for (const [k, v] of Object.entries(m)) {
      if (k === 'MetricName') p.metricName = v;
      else if (k === 'Value') p.value = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
      else if (k === 'Unit') p.unit = v;
      else if (k === 'Timestamp') p.timestamp = v;
      else if (!k.startsWith('Dimensions.member.')) p.extra[k] = v;
    }
    p.dimensions = extractParamList(m, 'Dimensions').map((d) => ({ name: d.Name ?? '', value: d.Value ?? '' }));
    return p;
  });
  const alarms = points.flatMap((p) => p.dimensions.filter((d) => d.name === 'AlarmName').map((d) => d.value));
  if (!ctx.model.mayPutMetrics(req.cred, alarms)) throw HeatErrors.accessDenied();
  ctx.model.addMetrics(points);
  return heatResult(formatResponse('PutMetricData', { ResponseMetadata: null }), wantsJson(req));
}

/** The stack and resource a signal path's ARN names, as the signal controller finds them. */
function signalTarget(req: ApiRequest, ctx: ApiContext, prefix: string): { stack: StackState; res: ResourceState } | { refused: Reply } {
  // Routes match webob's decoded path_info.
  const arn = percentDecode(req.route.slice(prefix.length)).toString('utf8');
  const m = /^arn:openstack:heat::([^:]*):stacks\/([^/]+)\/([^/]+)\/resources\/([^/]+)$/.exec(arn);
  // ResourceIdentifier.from_arn raises outside the controller's try: an internal error.
  if (!m) throw HeatErrors.internalFailure();
  const [, tenant, stackName, stackId, resourceName] = m.map((p) => percentDecode(p).toString('utf8'));
  const stack = ctx.model.findStack(`arn:openstack:heat::${tenant}:stacks/${stackName}/${stackId}`, req.cred);
  const res: ResourceState | undefined = stack?.resources.get(resourceName);
  if (!stack || !res) return { refused: returned(HeatErrors.invalidParameterValue(), req) };
  if (!ctx.model.maySignal(req.cred, stack, res.name)) return { refused: returned(HeatErrors.accessDenied(), req) };
  return { stack, res };
}

/** `PUT /waitcondition/<arn>`: SignalController.update_waitcondition. */
function updateWaitCondition(req: ApiRequest, ctx: ApiContext): Reply {
  const body = jsonBody(req.headers, req.body);
  // Without a body the controller misses its argument; webob's 400 escapes the app.
  if (!body) return webobPlain(400, 'The server could not comply with the request since it is either malformed or otherwise incorrect.');
  if ('refused' in body) return webobPlain(400, body.message);
  const target = signalTarget(req, ctx, '/waitcondition/');
  if ('refused' in target) return target.refused;
  const { stack, res } = target;
  try {
    ctx.model.signalHandle(stack, res, body.value, req.cred.accessKey);
  } catch (err) {
    if (err instanceof HeatApiError) return returned(err, req);
    throw err;
  }
  const result = { resource: res.name, metadata: ctx.model.metadataOf(stack, res) };
  // The XML serializer keeps only the first key: `<resource>NAME</resource>`.
  if (wantsJson(req)) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: pyJsonDumps(result) };
  return { status: 200, headers: { 'Content-Type': XML_TYPE }, body: heatXml(result) };
}

/**
 * `POST /signal/<arn>`: SignalController.signal, a CFN_SIGNAL deployment's
 * outputs. No body is a signal without details. The engine handles it after
 * answering, so the answer is empty (webob's default page for a controller
 * that returns nothing; JSON `null` under ContentType=JSON) whatever the
 * deployment makes of it. Resources without a signal handler are Heat's
 * ResourceActionNotSupported: InvalidParameterValue.
 */
function signal(req: ApiRequest, ctx: ApiContext): Reply {
  const body = jsonBody(req.headers, req.body);
  if (body && 'refused' in body) return webobPlain(400, body.message);
  const target = signalTarget(req, ctx, '/signal/');
  if ('refused' in target) return target.refused;
  const deployment = ctx.model.software.of(target.stack, target.res.name);
  if (!deployment) return returned(HeatErrors.invalidParameterValue(), req);
  ctx.model.software.signal(deployment, body?.value, 'CFN_SIGNAL');
  if (wantsJson(req)) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: 'null' };
  return { status: 200, headers: { 'Content-Type': 'text/html; charset=UTF-8' }, body: '' };
}
