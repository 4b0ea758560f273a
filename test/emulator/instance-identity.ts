/**
 * The instance identity document and its signature, as EC2's metadata
 * service serves them: the document in EC2's JSON layout (two-space indent,
 * `"key" : value`, no final newline), the signature base64 of RSA-SHA256
 * (PKCS#1 v1.5) over the document's bytes, wrapped at 76 columns. The key is
 * the emulator's own, made at start; AWS's public certificate is replaced by
 * its public key, which CloudFormation's side (cfn-v1.ts) checks against.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';

/** EC2's JSON text layout, for the identity document and role credentials. */
export function ec2Json(fields: Record<string, string | null>): string {
  const lines = Object.entries(fields).map(([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

export interface InstanceFacts {
  accountId: string;
  region: string;
  availabilityZone: string;
  instanceId: string;
  instanceType: string;
  imageId: string;
  /** ISO time without fractions: when the instance was launched. */
  pendingTime: string;
}

/** A private address derived from the instance id, so that each instance keeps its own. */
export function privateIp(instanceId: string): string {
  const h = createHash('sha1').update(instanceId).digest();
  return `10.0.${h[0]}.${(h[1] % 254) + 1}`;
}

/** The document's fields in EC2's order (the EC2 User Guide's "Instance identity documents"). */
export function identityDocument(f: InstanceFacts): string {
  return ec2Json({
    accountId: f.accountId,
    architecture: 'x86_64',
    availabilityZone: f.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: f.imageId,
    instanceId: f.instanceId,
    instanceType: f.instanceType,
    kernelId: null,
    pendingTime: f.pendingTime,
    privateIp: privateIp(f.instanceId),
    ramdiskId: null,
    region: f.region,
    version: '2017-09-30',
  });
}

/** Base64 in lines of 76 characters, without a final newline. */
export function wrap76(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\n');
}

export class IdentitySigner {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor() {
    // 1024 bits: the size of AWS's key for `/signature`, so signatures have the real length (172 base64 characters).
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  /** SubjectPublicKeyInfo PEM: `openssl dgst -sha256 -verify` takes it. */
  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** The `/signature` body for this document text. */
  signature(document: string): string {
    return wrap76(sign('sha256', Buffer.from(document, 'utf8'), this.privateKey));
  }

  verify(document: Buffer, signature: Buffer): boolean {
    return verify('sha256', document, this.publicKey, signature);
  }
}
