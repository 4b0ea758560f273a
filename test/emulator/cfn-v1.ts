/**
 * CloudFormation's side of instance-identity authentication, which
 * aws-cfn-bootstrap uses when it has no keys:
 * `Authorization: CFN_V1 <base64 document>:<base64 signature>`, the
 * metadata service's identity document and its `/signature` without line
 * breaks. Nothing binds it to the request, so the check is the signature over
 * the document's bytes and the document's account and region; what the
 * instance may then touch is the caller's stack membership (aws-api.ts).
 * AWS has published no wording for these refusals; the messages say what
 * is wrong.
 */
import { AwsErrors, type AwsError } from './aws-format';
import type { IdentitySigner } from './instance-identity';

export interface CfnV1Identity {
  instanceId: string;
  accountId: string;
  region: string;
}

export type CfnV1Verdict =
  | { ok: true; identity: CfnV1Identity }
  /** `reason` is for the request log: it may say more than the answer. */
  | { ok: false; error: AwsError; reason: string };

/** A header whose scheme is CFN_V1, in any case: the caller means instance identity, even when the rest is malformed. */
export function isCfnV1(authorization: string | undefined): boolean {
  return /^cfn_v1(\s|$)/i.test(authorization ?? '');
}

/** One line of standard base64 (RFC 4648 alphabet, padded), not empty. */
const B64 = '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)';
const HEADER_RE = new RegExp(`^CFN_V1 (${B64}):(${B64})$`);

/** The decoded document and signature, or why the header is not `CFN_V1 <B64DOC>:<SIG>`. */
export function parseCfnV1(authorization: string): { document: Buffer; signature: Buffer } | string {
  const m = HEADER_RE.exec(authorization);
  if (m) return { document: Buffer.from(m[1], 'base64'), signature: Buffer.from(m[2], 'base64') };
  if (!authorization.startsWith('CFN_V1 ') || authorization.startsWith('CFN_V1  ')) return 'the scheme must be CFN_V1 followed by one space';
  const credential = authorization.slice('CFN_V1 '.length);
  const colon = credential.indexOf(':');
  if (colon < 0) return "no ':' between the document and the signature";
  const part = new RegExp(`^${B64}$`).test(credential.slice(0, colon)) ? 'signature' : 'document';
  return `the ${part} is not one line of standard base64`;
}

function documentFields(document: Buffer): CfnV1Identity | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(document.toString('utf8'));
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const { instanceId, accountId, region } = doc as Record<string, unknown>;
  if (typeof instanceId !== 'string' || typeof accountId !== 'string' || typeof region !== 'string') return undefined;
  return { instanceId, accountId, region };
}

/** Check a CFN_V1 header against the emulator's identity key and the endpoint's account and region. */
export function verifyCfnV1(authorization: string, signer: IdentitySigner, endpoint: { accountId: string; region: string }): CfnV1Verdict {
  const parsed = parseCfnV1(authorization);
  if (typeof parsed === 'string') {
    return { ok: false, error: AwsErrors.incompleteSignature("The Authorization header must be 'CFN_V1 <base64 instance identity document>:<base64 signature>'"), reason: parsed };
  }
  const claimed = documentFields(parsed.document);
  if (!signer.verify(parsed.document, parsed.signature)) {
    const who = claimed ? ` (the document names ${claimed.instanceId})` : '';
    return { ok: false, error: AwsErrors.accessDenied('The signature of the instance identity document is not valid'), reason: `signature does not verify with the identity key${who}` };
  }
  if (!claimed) return { ok: false, error: AwsErrors.accessDenied('The instance identity document is not valid'), reason: 'document is not JSON with instanceId, accountId and region' };
  if (claimed.accountId !== endpoint.accountId || claimed.region !== endpoint.region) {
    const message = `The instance identity document is for account ${claimed.accountId} in ${claimed.region}, not ${endpoint.accountId} in ${endpoint.region}`;
    return { ok: false, error: AwsErrors.accessDenied(message), reason: message };
  }
  return { ok: true, identity: claimed };
}
