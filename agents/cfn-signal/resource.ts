/**
 * Resource-signal mode (aws-cfn-bootstrap's --stack/--resource): a signed
 * SignalResource call, for CreationPolicy/UpdatePolicy on AWS. Only Status
 * and UniqueId travel, as in aws-cfn-bootstrap; -r/-d have no field there.
 */
import { CFN_API_VERSION, signalResource } from '../../shared/cfn-api';
import { signatureVersion, type CommonArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import { ApiError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { QueryClient } from '../../shared/query-api';
import { SignalNotAcceptedError, notAccepted, signalHttpClient } from './deliver';
import type { SignalStatus } from './status';

export interface ResourceSignal {
  stack: string;
  resource: string;
  uniqueId: string;
  status: SignalStatus;
}

export async function sendResourceSignal(tool: string, args: CommonArgs, env: NodeJS.ProcessEnv, logger: Logger, timeoutSeconds: number, signal: ResourceSignal): Promise<void> {
  // A view of our logger: ctx.close() closes a FileLogger it is given, and the log outlives ctx.
  const view: Logger = { debug: (m) => logger.debug(m), info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) };
  const ctx = new ToolContext(tool, args, { env, logger: view });
  const endpoint = ctx.endpoint('cloudformation');
  logger.debug(`cloudformation endpoint ${endpoint.url} (from ${endpoint.source}), signing region ${endpoint.region}`);
  // Our own client rather than ctx.queryClient(): the signal retries until --timeout, not 5 attempts.
  const http = signalHttpClient(args, env, logger, timeoutSeconds, endpoint);
  const what = `SignalResource ${signal.status} for ${signal.stack}/${signal.resource}`;
  const started = Date.now();
  try {
    const query = new QueryClient({ endpoint, credentials: ctx.credentials, http, apiVersion: CFN_API_VERSION, signatureVersion: signatureVersion(args), method: 'GET' });
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
  } finally {
    http.close();
    ctx.close();
  }
}
