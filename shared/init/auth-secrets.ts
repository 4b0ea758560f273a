/**
 * Where the metadata keeps secrets by design: the blocks of
 * AWS::CloudFormation::Authentication. Kept apart from auth.ts (the
 * downloader) so that what hands metadata on can leave them out cheaply.
 */
import { isObject } from './validation';

export const AUTHENTICATION_KEY = 'AWS::CloudFormation::Authentication';

/** A block's fields that are secrets, or half of a key pair (an access key id alone only helps a guess). */
export const BLOCK_SECRET_FIELDS: readonly string[] = ['password', 'secretKey', 'accessKeyId'];

function blockWithoutSecrets(block: unknown): unknown {
  if (!isObject(block)) return block;
  return Object.fromEntries(Object.entries(block).filter(([k]) => !BLOCK_SECRET_FIELDS.includes(k)));
}

function blocksWithoutSecrets(blocks: unknown): unknown {
  if (!isObject(blocks)) return blocks;
  return Object.fromEntries(Object.entries(blocks).map(([name, block]) => [name, blockWithoutSecrets(block)]));
}

/**
 * `value`, found at `segments` of a resource's metadata, without the
 * Authentication blocks' secret fields; undefined when `value` is one of
 * them. The input is not changed.
 */
export function withoutAuthenticationSecrets(value: unknown, segments: readonly string[]): unknown {
  if (segments.length === 0) {
    if (!isObject(value) || !(AUTHENTICATION_KEY in value)) return value;
    return { ...value, [AUTHENTICATION_KEY]: blocksWithoutSecrets(value[AUTHENTICATION_KEY]) };
  }
  if (segments[0] !== AUTHENTICATION_KEY) return value;
  if (segments.length === 1) return blocksWithoutSecrets(value);
  if (segments.length === 2) return blockWithoutSecrets(value);
  return BLOCK_SECRET_FIELDS.includes(segments[2]!) ? undefined : value;
}
