/**
 * Getting one signal accepted: retries with jittered backoff on what may
 * pass (network errors, 5xx, throttling) until --timeout, never on another
 * 4xx, and a refusal reported with the server's own code and message. A
 * retried signal is harmless: it carries the same UniqueId, which Heat and
 * AWS treat as the same signal.
 */
import { isRetryable } from '../../shared/backoff';
import { ApiError, CfnError, NetworkError } from '../../shared/errors';
import { HttpClient, type RetryPolicy } from '../../shared/http';
import type { Logger } from '../../shared/log';
import { redactUrl } from '../../shared/redact';
import type { HttpRequest, HttpResponse } from '../../shared/request';
import { explainExpiry } from './handle-url';

/** The signal was refused, or could not be delivered before --timeout. Exit 1. */
export class SignalNotAcceptedError extends CfnError {}

export function retryPolicy(timeoutSeconds: number): Partial<RetryPolicy> {
  const deadlineMs = Math.round(timeoutSeconds * 1000);
  // The deadline is the real bound; the attempt cap only has to stay out of its way.
  return { maxAttempts: Math.max(5, Math.ceil(timeoutSeconds) + 5), baseDelayMs: 500, maxDelayMs: 20_000, deadlineMs };
}

/**
 * Turn a failure of the signal request into one message that says what the
 * server said, whether it was retried, and for an expired pre-signed URL,
 * that it expired. `signedUrl` is the pre-signed URL, when there is one.
 */
export function notAccepted(err: unknown, what: string, signedUrl: string | undefined, elapsedMs: number): unknown {
  const waited = `${(elapsedMs / 1000).toFixed(1)} s`;
  if (err instanceof ApiError) {
    const where = withoutQuery(err.url);
    const said = `HTTP ${err.status} ${err.code}${err.serverMessage ? `: ${err.serverMessage}` : ''}`;
    if (isRetryable(err)) return new SignalNotAcceptedError(`${what} was not accepted by ${where} within ${waited} of retries: ${said}`, { cause: err });
    let msg = `${what} was refused by ${where} (not retried): ${said}`;
    if (signedUrl && (err.status === 401 || err.status === 403 || err.status === 400)) {
      const serverNow = err.serverDate ? Date.parse(err.serverDate) : NaN;
      const expired = Number.isNaN(serverNow)
        ? explainExpiry(signedUrl, new Date(), 'local')
        : explainExpiry(signedUrl, new Date(serverNow), 'server');
      if (expired) msg += `; ${expired}`;
    }
    return new SignalNotAcceptedError(msg, { cause: err });
  }
  if (err instanceof NetworkError) {
    return new SignalNotAcceptedError(`${what} was not delivered within ${waited}: ${err.message}`, { cause: err });
  }
  return err;
}

/** Where the signal went, without the query (the signature is redacted anyway, the rest is noise here). */
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Send the signal; resolves on 2xx, else throws SignalNotAcceptedError (or a ConfigError for a bad URL/TLS setup). */
export async function deliver(http: HttpClient, req: HttpRequest, what: string, logger: Logger, signedUrl?: string): Promise<HttpResponse> {
  const started = Date.now();
  logger.info(`sending ${what}: ${req.method} ${redactUrl(req.url)}`);
  if (req.body !== undefined) logger.debug(`body: ${String(req.body)}`);
  try {
    const res = await http.request(req);
    logger.info(`${what} accepted: HTTP ${res.status}`);
    return res;
  } catch (err) {
    throw notAccepted(err, what, signedUrl, Date.now() - started);
  }
}
