/**
 * CloudWatch's own error answers, for what AWS refuses and Heat never did
 * (throttling, PutMetricData's limits): the Query protocol's namespaced
 * ErrorResponse with a RequestId, as text/xml. Clients read the Code from
 * it exactly as from Heat's un-namespaced form.
 */
import { randomUUID } from 'node:crypto';
import { xmlText } from './aws-format';
import type { Reply } from './heat-format';

export const CLOUDWATCH_XMLNS = 'http://monitoring.amazonaws.com/doc/2010-08-01/';

export class CloudWatchError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Throttling: whole seconds until the client may try again (`Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'CloudWatchError';
  }

  toReply(requestId: string = randomUUID()): Reply {
    const body =
      `<ErrorResponse xmlns="${CLOUDWATCH_XMLNS}"><Error><Type>Sender</Type><Code>${xmlText(this.code)}</Code>` +
      `<Message>${xmlText(this.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    const headers: Record<string, string> = { 'Content-Type': 'text/xml' };
    if (this.retryAfterSeconds !== undefined) headers['Retry-After'] = String(this.retryAfterSeconds);
    return { status: this.status, headers, body };
  }
}

export const CloudWatchErrors = {
  throttling: (retryAfterSeconds: number) => new CloudWatchError(400, 'Throttling', 'Rate exceeded', retryAfterSeconds),
  requestEntityTooLarge: (size: number, max: number) => new CloudWatchError(413, 'RequestEntityTooLarge', `Request size ${size} exceeded ${max} bytes`),
  missingParameter: (message: string) => new CloudWatchError(400, 'MissingParameter', message),
  invalidParameterValue: (message: string) => new CloudWatchError(400, 'InvalidParameterValue', message),
  invalidParameterCombination: (message: string) => new CloudWatchError(400, 'InvalidParameterCombination', message),
};
