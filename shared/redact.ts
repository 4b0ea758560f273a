/**
 * Secret redaction. Everything that reaches a log line, an error message or
 * stdout goes through here first: secret keys, session tokens, URL signatures
 * and Authorization headers must never leak.
 */

import { LimitError } from './errors';
import { PREFIX, SecretSet } from './secret-set';

const MASK = '<redacted>';

/** Query/form parameters whose values are secrets. Compared case-insensitively. */
const SECRET_PARAMS = ['signature', 'x-amz-signature', 'x-amz-security-token', 'securitytoken', 'awssecretkey', 'x-amz-credential', 'temp_url_sig'];

const PARAM_RE = new RegExp(`([?&;]|^|\\s)(${SECRET_PARAMS.join('|')})=(${MASK}|[^&\\s"'<>]*)`, 'gi');
const AUTH_HEADER_RE = /(authorization["']?\s*[:=]\s*["']?)[^\r\n"']+/gi;
const CRED_LINE_RE = /^(\s*(?:AWSSecretKey|AWSSessionToken)\s*=\s*).*$/gim;
/** `://user:password@`: the password, up to the authority's last `@`. */
const USERINFO_RE = /(:\/\/[^\s/?#@:]*:)[^\s/?#]*@/g;
const TOKEN_HEADER_RE = /((?:x-amz-security-token|x-aws-ec2-metadata-token|x-auth-token)["']?\s*[:=]\s*["']?)[^\r\n"',}]+/gi;

/**
 * Values registered at run time (resolved secret keys, session tokens,
 * passwords, URL signatures...), in every form a log line may show them
 * (raw, URL-encoded, JSON-escaped). None is ever forgotten: a daemon may
 * learn a deployment's password in its first hour and log its output in
 * its hundredth. They are found in one pass per text whatever their number
 * and length (SecretSet). Bounded so that a runaway source of secrets
 * cannot grow the process without end: one more past the bound is refused
 * with a LimitError, and its caller then does not use it.
 */
export const MAX_SECRETS = 100_000;
/** Characters held by the registry, all forms included (at most 2 bytes each). */
export const MAX_SECRET_CHARS = 32 * 1024 * 1024;
const known = new SecretSet();
let registered = 0;

function secretForms(value: string): string[] {
  return [...new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])];
}

/** Remember a secret so that any later text containing it is masked. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < PREFIX || known.has(value)) return;
  const forms = secretForms(value).filter((f) => !known.has(f));
  const chars = forms.reduce((n, f) => n + f.length, 0);
  if (registered >= MAX_SECRETS || known.chars + chars > MAX_SECRET_CHARS) {
    throw new LimitError(
      'secrets',
      `cannot keep one more secret to mask in logs (${registered} held, ${known.chars} characters; at most ${MAX_SECRETS} and ${MAX_SECRET_CHARS}), so it is not used`,
    );
  }
  for (const f of forms) known.add(f);
  registered++;
}

/**
 * Register the secrets a URL carries: its userinfo password (as written and
 * percent-decoded) and its secret query parameters (decoded; redact() masks
 * them as parameters too). A string that is not a URL carries none.
 */
export function registerUrlSecrets(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return;
  }
  if (u.password) {
    registerSecret(u.password);
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(u.password);
    } catch (err) {
      if (!(err instanceof URIError)) throw err; // a malformed escape: no decoded form to mask
    }
    registerSecret(decoded);
  }
  for (const [name, value] of u.searchParams) {
    if (SECRET_PARAMS.includes(name.toLowerCase())) registerSecret(value);
  }
}

export function redact(text: string): string {
  // Registered secrets first: a pattern could cut one and leave a piece of it unmatched.
  return known
    .mask(text, MASK)
    .replace(PARAM_RE, (_m, lead: string, name: string) => `${lead}${name}=${MASK}`)
    .replace(AUTH_HEADER_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(TOKEN_HEADER_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(CRED_LINE_RE, (_m, lead: string) => `${lead}${MASK}`)
    .replace(USERINFO_RE, (_m, lead: string) => `${lead}${MASK}@`);
}

/**
 * A URL safe to show: its password and secret query parameters masked, and
 * registered, so that no later text shows them in another form.
 */
export function redactUrl(url: string): string {
  registerUrlSecrets(url);
  return redact(url);
}
