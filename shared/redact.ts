/**
 * Secret redaction. Everything that reaches a log line, an error message or
 * stdout goes through here first: secret keys, session tokens, URL signatures
 * and Authorization headers must never leak.
 */

const MASK = '<redacted>';

/** Query/form parameters whose values are secrets. Compared case-insensitively. */
const SECRET_PARAMS = ['signature', 'x-amz-signature', 'x-amz-security-token', 'securitytoken', 'awssecretkey', 'x-amz-credential', 'temp_url_sig'];

const PARAM_RE = new RegExp(`([?&;]|^|\\s)(${SECRET_PARAMS.join('|')})=(${MASK}|[^&\\s"'<>]*)`, 'gi');
const AUTH_HEADER_RE = /(authorization["']?\s*[:=]\s*["']?)[^\r\n"']+/gi;
const CRED_LINE_RE = /^(\s*(?:AWSSecretKey|AWSSessionToken)\s*=\s*).*$/gim;
const TOKEN_HEADER_RE = /((?:x-amz-security-token|x-aws-ec2-metadata-token|x-auth-token)["']?\s*[:=]\s*["']?)[^\r\n"',}]+/gi;

/**
 * Values registered at run time (resolved secret keys, session tokens,
 * metadata-service tokens...), at most MAX_SECRETS, the oldest forgotten
 * first: a daemon refreshes tokens for weeks, and every line would scan them
 * all. They are matched by one regular expression (raw and URL-encoded
 * forms), rebuilt when one is added: one pass per line however many there are.
 */
export const MAX_SECRETS = 64;
const knownSecrets = new Set<string>();
let knownRe: RegExp | undefined;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Remember a secret so that any later text containing it is masked. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4 || knownSecrets.has(value)) return;
  knownSecrets.add(value);
  if (knownSecrets.size > MAX_SECRETS) knownSecrets.delete(knownSecrets.values().next().value!);
  const forms = new Set<string>();
  for (const v of knownSecrets) {
    forms.add(v);
    forms.add(encodeURIComponent(v));
  }
  // Longest first, so that a secret containing another is masked whole.
  knownRe = new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRe).join('|'), 'g');
}

export function redact(text: string): string {
  const out = text
    .replace(PARAM_RE, (_m, lead: string, name: string) => `${lead}${name}=${MASK}`)
    .replace(AUTH_HEADER_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(TOKEN_HEADER_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(CRED_LINE_RE, (_m, lead: string) => `${lead}${MASK}`);
  return knownRe ? out.replace(knownRe, MASK) : out;
}

/** A URL safe to show: secret query parameters masked. */
export function redactUrl(url: string): string {
  return redact(url);
}
