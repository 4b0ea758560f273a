/**
 * Identifiers and secrets in the forms Heat and keystone make them:
 * Heat's 12-character short ids (the tail of physical resource names),
 * keystone's 32-hex ids, and Heat's generated stack-user passwords. Ids are
 * derived from a seed so that they stay the same across runs.
 */
import { createHash, randomInt } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Heat's short_id.get_id: the 60 random "time" bits of a v4 UUID, base32, lower case. */
export function shortId(uuid: string): string {
  const h = uuid.replace(/-/g, '');
  // UUID.time: time_hi (without the version nibble), time_mid, time_low.
  const time = (BigInt(`0x${h.slice(13, 16)}`) << 48n) | (BigInt(`0x${h.slice(8, 12)}`) << 32n) | BigInt(`0x${h.slice(0, 8)}`);
  let out = '';
  for (let shift = 55n; shift >= 0n; shift -= 5n) out += BASE32[Number((time >> shift) & 31n)];
  return out;
}

/** A keystone-style id (32 lower-case hex digits) derived from `seed`. */
export function hexId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

const CLASSES = ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', '!@#%^&*'];

/** Heat's generate_openstack_password: 32 characters, at least one of each class. */
export function openstackPassword(): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((c) => c[randomInt(c.length)]);
  while (chars.length < 32) chars.push(all[randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}
