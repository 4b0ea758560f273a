/**
 * CloudFormation's instance-identity authentication (`Authorization: CFN_V1
 * <document>:<signature>`): what aws-cfn-bootstrap signs with on an EC2
 * instance that has no keys. CloudFormation checks the document's signature
 * and that the instance belongs to the stack, and limits the caller to that
 * stack; no IAM permission is needed.
 *
 * The header binds nothing of the request (no method, path or time), so the
 * same value serves every request of the instance: it is fetched once.
 * Both parts come from the metadata service, which an attacker may stand in
 * for: they are checked to be what EC2 serves (a small JSON object, one
 * base64 signature) so no answer can smuggle another header or a huge value.
 */
import { CredentialError } from '../errors';
import { jsonSyntaxProblem } from '../json-file';
import { registerSecret } from '../redact';
import type { HttpRequest, Signer } from '../request';
import type { ImdsClient } from './imds';
import type { InstanceIdentity } from './types';

export const IDENTITY_DOCUMENT_PATH = '/latest/dynamic/instance-identity/document';
export const IDENTITY_SIGNATURE_PATH = '/latest/dynamic/instance-identity/signature';

/** EC2's document is about 500 bytes; a header past a few KiB is refused by servers anyway. */
const MAX_DOCUMENT_BYTES = 4096;
/** An RSA-4096 signature is 684 base64 characters. */
const MAX_SIGNATURE_CHARS = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Check and normalise the two metadata answers as aws-cfn-bootstrap sends
 * them: the document with trailing whitespace removed (otherwise untouched:
 * the signature covers its exact bytes), the signature as one line.
 */
export function parseInstanceIdentity(documentText: string, signatureText: string): InstanceIdentity {
  const document = documentText.trimEnd();
  if (Buffer.byteLength(document) > MAX_DOCUMENT_BYTES) {
    throw new CredentialError(`the instance identity document from the metadata service is ${Buffer.byteLength(document)} bytes; expected at most ${MAX_DOCUMENT_BYTES}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(document);
  } catch (err) {
    throw new CredentialError(`the instance identity document from the metadata service is ${jsonSyntaxProblem(document)}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CredentialError('the instance identity document from the metadata service is not a JSON object');
  }
  const instanceId = (doc as Record<string, unknown>).instanceId;
  if (typeof instanceId !== 'string' || !instanceId) {
    throw new CredentialError('the instance identity document from the metadata service has no instanceId');
  }
  const signature = signatureText.trimEnd().replace(/\n/g, '');
  if (signature.length > MAX_SIGNATURE_CHARS || !BASE64.test(signature)) {
    throw new CredentialError(`the instance identity signature from the metadata service is not one base64 value of at most ${MAX_SIGNATURE_CHARS} characters`);
  }
  // Nothing binds the header to a request or a time: whoever copies it can read and signal the stack until the instance stops.
  registerSecret(signature);
  return { document, signature, instanceId, source: `instance identity of ${instanceId}` };
}

/** Both parts from the metadata service (IMDSv2 first, as every read of ImdsClient). */
export async function fetchInstanceIdentity(imds: ImdsClient): Promise<InstanceIdentity> {
  const document = await imds.get(IDENTITY_DOCUMENT_PATH);
  const signature = await imds.get(IDENTITY_SIGNATURE_PATH);
  return parseInstanceIdentity(document, signature);
}

export function cfnV1Authorization(id: InstanceIdentity): string {
  return `CFN_V1 ${Buffer.from(id.document, 'utf8').toString('base64')}:${id.signature}`;
}

/** The header is all there is: no date, no token, nothing of another scheme left over. */
export function cfnV1Signer(id: InstanceIdentity): Signer {
  return async (req: HttpRequest): Promise<HttpRequest> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!/^(authorization|x-amz-date|x-amz-security-token)$/i.test(name)) headers[name] = value;
    }
    headers.Authorization = cfnV1Authorization(id);
    return { ...req, headers };
  };
}
