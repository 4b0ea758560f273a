/**
 * OS::Heat::WaitConditionHandle, Heat's native handle, which no peer's
 * cfn-signal speaks. Its attributes give what to send:
 *
 * - signal_transport TOKEN_SIGNAL (the default): `endpoint` and `token`, and
 *   `curl_cli` = `curl -i -X POST -H 'X-Auth-Token: <token>'
 *   -H 'Content-Type: application/json' -H 'Accept: application/json'
 *   <endpoint>`. cfntools: `cfn-signal --auth-token <token> <endpoint>`, or
 *   the token in CFN_SIGNAL_AUTH_TOKEN (argv is visible to every user of the
 *   instance, the environment is not).
 * - TEMP_URL_SIGNAL (a Swift temp URL) and CFN_SIGNAL (a pre-signed
 *   heat-api-cfn URL): a PUT of the same JSON to the URL.
 *   cfntools: `cfn-signal --native <url>`.
 *
 * The body has lower-case keys (body.ts nativeHandleBody).
 */
import { UsageError } from '../../shared/errors';
import { registerSecret } from '../../shared/redact';

export const AUTH_TOKEN_ENV = 'CFN_SIGNAL_AUTH_TOKEN';

/**
 * The keystone token for a TOKEN_SIGNAL handle: --auth-token, else the
 * environment. Registered as a secret before anything can log it.
 */
export function resolveAuthToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) {
    registerSecret(flag.trim());
    // An unresolved template parameter gives "": refuse rather than send an unauthenticated signal.
    if (!flag.trim()) throw new UsageError('--auth-token is empty');
    return flag.trim();
  }
  const fromEnv = env[AUTH_TOKEN_ENV]?.trim();
  registerSecret(fromEnv);
  return fromEnv || undefined;
}
