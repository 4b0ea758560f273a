/** The HTTP request each kind of wait-condition handle expects. */
import type { HttpRequest } from '../../shared/request';
import { cfnHandleBody, nativeHandleBody, type SignalFields } from './body';

/**
 * AWS::CloudFormation::WaitConditionHandle: a PUT with NO Content-Type.
 * Heat parses the body only when the type is absent or JSON (a form type
 * gives 400), and AWS's S3 pre-signature covers the Content-Type, signed as
 * empty. heat-cfntools strips curl's default the same way (`-H 'Content-Type:'`).
 */
export function cfnHandleRequest(url: string, fields: SignalFields): HttpRequest {
  return { method: 'PUT', url, headers: {}, body: cfnHandleBody(fields) };
}

/**
 * OS::Heat::WaitConditionHandle: with a token, the POST its curl_cli
 * attribute spells out; without one (temp URL or pre-signed URL), a PUT
 * without Content-Type, for the same reasons as above.
 */
export function nativeHandleRequest(url: string, fields: SignalFields, token: string | undefined): HttpRequest {
  const body = nativeHandleBody(fields);
  if (token === undefined) return { method: 'PUT', url, headers: {}, body };
  return {
    method: 'POST',
    url,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', Accept: 'application/json' },
    body,
  };
}
