/**
 * Secret redaction. Everything that reaches a log line, an error message or
 * stdout goes through here first: secret keys, session tokens, URL signatures
 * and Authorization headers must never leak.
 */

const MASK = '<redacted>';

/** Query/form parameters whose values are secrets. Compared case-insensitively. */
const SECRET_PARAMS = ['signature', 'x-amz-signature', 'x-amz-security-token', 'securitytoken', 'awssecretkey', 'x-amz-credential'];

const PARAM_RE = new RegExp(`([?&;]|^|\\s)(${SECRET_PARAMS.join('|')})=(${MASK}|[^&\\s"'<>]*)`, 'gi');
const AUTH_HEADER_RE = /(authorization["']?\s*[:=]\s*["']?)[^\r\n"']+/gi;
const CRED_LINE_RE = /^(\s*(?:AWSSecretKey|AWSSessionToken)\s*=\s*).*$/gim;
const TOKEN_HEADER_RE = /((?:x-amz-security-token|x-aws-ec2-metadata-token|x-auth-token)["']?\s*[:=]\s*["']?)[^\r\n"',}]+/gi;

/** Values registered at run time (the resolved secret key, session token...). */
const knownSecrets = new Set<string>();

/** Remember a secret so that any later text containing it is masked. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

export function redact(text: string): string {
  let out = text
    .replace(PARAM_RE, (_m, lead: string, name: string) => `${lead}${name}=${MASK}`)
    .replace(AUTH_HEADER_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(TOKEN_HEADER_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(CRED_LINE_RE, (_m, lead: string) => `${lead}${MASK}`);
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(MASK);
  }
  return out;
}

/** A URL safe to show: secret query parameters masked. */
export function redactUrl(url: string): string {
  return redact(url);
}
