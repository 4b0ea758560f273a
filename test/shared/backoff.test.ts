import * as assert from 'node:assert/strict';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  isClockSkewError,
  isRetryable,
  isRetryableNetworkCode,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  planRetry,
  resolveRetryPolicy,
} from '../../shared/backoff';
import { ApiError, ConfigError, NetworkError } from '../../shared/errors';

describe('backoff policy', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 20_000 };

  it('uses full jitter: random() * min(cap, base * 2^retry)', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => backoffDelay(i, policy, () => 1)), [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    assert.equal(backoffDelay(3, policy, () => 0.5), 2000);
    assert.equal(backoffDelay(3, policy, () => 0), 0);
  });

  it('stops at maxAttempts', () => {
    assert.deepEqual(planRetry(1, 0, policy, () => 0.5), { retry: true, delayMs: 250 });
    assert.deepEqual(planRetry(4, 0, policy, () => 0.5), { retry: true, delayMs: 2000 });
    assert.deepEqual(planRetry(5, 0, policy, () => 0.5), { retry: false, reason: 'attempts' });
  });

  it('waits out a Retry-After longer than the backoff: capped without a deadline, refused past one', () => {
    assert.deepEqual(planRetry(1, 0, policy, () => 0.5, 7000), { retry: true, delayMs: 7000 });
    assert.deepEqual(planRetry(1, 0, policy, () => 0.5, 10), { retry: true, delayMs: 250 });
    assert.deepEqual(planRetry(1, 0, policy, () => 0.5, 86_400_000), { retry: true, delayMs: MAX_RETRY_AFTER_MS });
    assert.deepEqual(planRetry(1, 0, { ...policy, deadlineMs: 60_000 }, () => 0.5, 120_000), { retry: false, reason: 'deadline' });
    const now = new Date('2026-12-01T12:00:00Z');
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('Tue, 01 Dec 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Tue, 01 Dec 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('does not start a retry that would begin after the deadline', () => {
    const p = { ...policy, deadlineMs: 3000 };
    assert.deepEqual(planRetry(2, 2000, p, () => 0.5), { retry: true, delayMs: 500 });
    assert.deepEqual(planRetry(2, 2600, p, () => 0.5), { retry: false, reason: 'deadline' });
    assert.deepEqual(planRetry(1, 3000, p, () => 0), { retry: false, reason: 'deadline' });
  });

  it('merges overrides over the defaults and validates them', () => {
    assert.deepEqual(resolveRetryPolicy(), DEFAULT_RETRY_POLICY);
    assert.deepEqual(resolveRetryPolicy({ maxAttempts: 2 }, undefined, { baseDelayMs: 10, maxAttempts: undefined }), {
      maxAttempts: 2,
      baseDelayMs: 10,
      maxDelayMs: 20_000,
    });
    assert.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), ConfigError);
    assert.throws(() => resolveRetryPolicy({ baseDelayMs: -1 }), ConfigError);
    assert.throws(() => resolveRetryPolicy({ deadlineMs: Number.NaN }), ConfigError);
  });

  it('retries 5xx (not 501), 429 and throttling codes whatever the status; never other 4xx', () => {
    for (const s of [500, 502, 503, 504, 429]) assert.ok(isRetryableStatus(s), String(s));
    for (const s of [400, 401, 403, 404, 408, 409, 501]) assert.ok(!isRetryableStatus(s), String(s));
    for (const c of ['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown', 'RequestThrottled']) {
      assert.ok(isRetryableStatus(400, c), c);
    }
    assert.ok(!isRetryableStatus(400, 'ValidationError'));
    assert.ok(!isRetryableStatus(403, 'AccessDenied'));
  });

  it('retries transient network failures, not DNS NXDOMAIN or certificate errors', () => {
    for (const c of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']) assert.ok(isRetryableNetworkCode(c), c);
    for (const c of [undefined, 'ENOTFOUND', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      assert.ok(!isRetryableNetworkCode(c), String(c));
    }
  });

  it('classifies typed errors and never retries anything else', () => {
    assert.ok(isRetryable(new ApiError(503, 'ServiceUnavailable', '', 'u')));
    assert.ok(isRetryable(new ApiError(400, 'Throttling', 'Rate exceeded', 'u')));
    assert.ok(!isRetryable(new ApiError(404, 'HTTP404', '', 'u')));
    assert.ok(isRetryable(new NetworkError('x', 'u', 'ECONNRESET')));
    assert.ok(!isRetryable(new NetworkError('x', 'u')));
    assert.ok(!isRetryable(new Error('ECONNRESET')));
    assert.ok(!isRetryable(new ConfigError('bad')));
  });

  describe('clock skew', () => {
    const now = new Date('2026-11-24T14:00:00Z');
    const hourAhead = 'Tue, 24 Nov 2026 15:00:00 GMT';
    const accurate = 'Tue, 24 Nov 2026 14:00:03 GMT';

    it('recognises codes that blame the request time', () => {
      assert.ok(isClockSkewError(400, 'RequestExpired', 'Request expired or more than 15mins in the future', undefined, now));
      assert.ok(isClockSkewError(403, 'RequestTimeTooSkewed', 'too skewed', accurate, now));
      assert.ok(isClockSkewError(403, 'SignatureDoesNotMatch', 'Signature expired: 20261124T130000Z is now earlier than 20261124T135500Z', undefined, now));
      assert.ok(isClockSkewError(400, 'InvalidSignatureException', 'Signature expired: ...', undefined, now));
      assert.ok(isClockSkewError(401, 'AuthFailure', 'Request has expired', undefined, now));
    });

    it('does not blame the clock for a plain bad signature with an accurate Date', () => {
      assert.ok(!isClockSkewError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match', accurate, now));
      assert.ok(!isClockSkewError(403, 'AccessDenied', 'User is not authorized to perform action', accurate, now));
      assert.ok(!isClockSkewError(403, 'AccessDenied', 'no Date', undefined, now));
    });

    it('blames the clock for any 401/403 whose Date is more than 5 minutes off (Heat/keystone answer AccessDenied)', () => {
      assert.ok(isClockSkewError(403, 'AccessDenied', 'User is not authorized to perform action', hourAhead, now));
      assert.ok(isClockSkewError(401, 'HTTP401', '', 'Tue, 24 Nov 2026 13:54:00 GMT', now));
      assert.ok(!isClockSkewError(403, 'AccessDenied', '', 'Tue, 24 Nov 2026 14:04:00 GMT', now));
      assert.ok(!isClockSkewError(404, 'HTTP404', '', hourAhead, now), 'not an auth failure');
      assert.ok(!isClockSkewError(500, 'RequestExpired', '', hourAhead, now), 'not a 4xx');
      assert.ok(!isClockSkewError(403, 'AccessDenied', '', 'not a date', now));
    });
  });
});
