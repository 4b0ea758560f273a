/**
 * The wait-condition handle URL: how it is given (plainly, or base64-encoded
 * as aws-cfn-bootstrap accepts for `Fn::Base64` of the handle) and how long
 * its pre-signature lasts, so a refusal of an expired URL can say so plainly
 * instead of a bare "403 AccessDenied".
 */
import { UsageError } from '../../shared/errors';
import { redact } from '../../shared/redact';

/**
 * Heat signs the handle URL once, when the handle is created, with a SigV2
 * `Timestamp`; keystone refuses signed requests older than its
 * `[credential] auth_ttl`, 15 minutes by default.
 */
export const HEAT_URL_VALIDITY_MS = 15 * 60_000;

const HTTP_URL = /^https?:\/\//i;

/** The URL to signal: given plainly, or the base64 encoding of one. */
export function decodeHandleUrl(raw: string): { url: string; fromBase64: boolean } {
  const text = raw.trim();
  let url = text;
  let fromBase64 = false;
  if (!HTTP_URL.test(text)) {
    const compact = text.replace(/\s+/g, '');
    if (compact !== '' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
      url = Buffer.from(compact, 'base64').toString('utf8').trim();
      fromBase64 = true;
    }
    if (!fromBase64 || !HTTP_URL.test(url)) {
      throw new UsageError(`the wait condition handle must be an http(s):// URL or the base64 encoding of one; got ${JSON.stringify(redact(text).slice(0, 80))}`);
    }
  }
  try {
    new URL(url);
  } catch {
    throw new UsageError(`the wait condition handle is not a valid URL: ${JSON.stringify(redact(url).slice(0, 120))}`);
  }
  return { url, fromBase64 };
}

export interface UrlValidity {
  /** When the URL was signed, when it says so (Heat's Timestamp, SigV4's X-Amz-Date). */
  issuedAt?: Date;
  expiresAt: Date;
  /** Heat's fixed 15-minute rule, or an expiry written in the URL (AWS/S3). */
  rule: 'heat-timestamp' | 'x-amz-expires' | 'expires';
}

/** What the URL's own parameters say about its lifetime; undefined when they say nothing. */
export function urlValidity(url: string): UrlValidity | undefined {
  const q = new URL(url).searchParams;
  const timestamp = q.get('Timestamp');
  if (timestamp) {
    const t = Date.parse(timestamp);
    if (!Number.isNaN(t)) return { issuedAt: new Date(t), expiresAt: new Date(t + HEAT_URL_VALIDITY_MS), rule: 'heat-timestamp' };
  }
  const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
  const amzExpires = Number(q.get('X-Amz-Expires') ?? NaN);
  if (amzDate && Number.isFinite(amzExpires)) {
    const [, y, mo, d, h, mi, s] = amzDate;
    const t = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
    return { issuedAt: new Date(t), expiresAt: new Date(t + amzExpires * 1000), rule: 'x-amz-expires' };
  }
  // S3 SigV2 pre-signed URLs say `Expires`, Swift temp URLs `temp_url_expires` (epoch seconds both).
  const expires = Number(q.get('Expires') ?? q.get('temp_url_expires') ?? NaN);
  if (Number.isFinite(expires) && expires > 0) return { expiresAt: new Date(expires * 1000), rule: 'expires' };
  return undefined;
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A sentence explaining a refusal by the URL's age, or undefined when the URL
 * was still valid at `now` (the server's clock when it sent a Date: it is
 * the server that judged).
 */
export function explainExpiry(url: string, now: Date, clock: 'server' | 'local'): string | undefined {
  const v = urlValidity(url);
  if (!v || now.getTime() <= v.expiresAt.getTime()) return undefined;
  const whose = clock === 'server' ? "the server's clock" : "this host's clock";
  if (v.rule === 'heat-timestamp') {
    const minutes = Math.floor((now.getTime() - v.issuedAt!.getTime()) / 60_000);
    return (
      `the pre-signed URL was issued at ${iso(v.issuedAt!)}, more than 15 minutes ago (${minutes} minutes before ${iso(now)} by ${whose}); ` +
      `Heat (keystone's [credential] auth_ttl) refuses signed URLs older than 15 minutes, so this handle can no longer be signalled: ` +
      `signal within 15 minutes of the handle's creation, or use an OS::Heat::WaitConditionHandle (cfn-signal --auth-token)`
    );
  }
  return `the pre-signed URL expired at ${iso(v.expiresAt)} (it is ${iso(now)} by ${whose}), so this handle can no longer be signalled`;
}
