/**
 * Resource-signal mode (aws-cfn-bootstrap's --stack/--resource): a signed
 * SignalResource call, for CreationPolicy/UpdatePolicy on AWS. Only Status
 * and UniqueId travel, as in aws-cfn-bootstrap; -r/-d have no field there.
 */
import { signalResource } from '../../shared/cfn-api';
import type { ToolContext } from '../../shared/context';
import { ApiError } from '../../shared/errors';
import { SignalNotAcceptedError, notAccepted } from './deliver';
import type { SignalStatus } from './status';

export interface ResourceSignal {
  stack: string;
  resource: string;
  uniqueId: string;
  status: SignalStatus;
}

/** Through `ctx`, whose retry policy is the signal's --timeout. */
export async function sendResourceSignal(ctx: ToolContext, signal: ResourceSignal): Promise<void> {
  const logger = ctx.logger;
  const query = ctx.queryClient('cloudformation');
  const endpoint = query.endpoint;
  const what = `SignalResource ${signal.status} for ${signal.stack}/${signal.resource}`;
  const started = Date.now();
  try {
    logger.info(`sending ${what} (UniqueId ${signal.uniqueId}) to ${endpoint.url}`);
    await signalResource(query, signal);
    logger.info(`${what} accepted`);
  } catch (err) {
    const translated = notAccepted(err, what, undefined, Date.now() - started);
    if (translated instanceof SignalNotAcceptedError && err instanceof ApiError && err.code === 'InvalidAction') {
      throw new SignalNotAcceptedError(
        `${translated.message}; heat-api-cfn has no SignalResource: on OpenStack Heat, signal the wait condition handle URL instead`,
        { cause: err },
      );
    }
    throw translated;
  }
}
