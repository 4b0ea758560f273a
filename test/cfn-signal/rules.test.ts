/**
 * cfn-signal's pure rules: Status from -e/--exit/-s, the two bodies, the
 * handle URL (plain, base64, lifetime, the expired-URL sentence) and the
 * native token.
 */
import * as assert from 'node:assert/strict';
import { cfnHandleBody, nativeHandleBody, DEFAULT_DATA, DEFAULT_REASON } from '../../agents/cfn-signal/body';
import { decodeHandleUrl, explainExpiry, urlValidity } from '../../agents/cfn-signal/handle-url';
import { AUTH_TOKEN_ENV, resolveAuthToken } from '../../agents/cfn-signal/native';
import { cfnHandleRequest, nativeHandleRequest } from '../../agents/cfn-signal/requests';
import { decideStatus } from '../../agents/cfn-signal/status';
import { UsageError } from '../../shared/errors';
import { redact } from '../../shared/redact';
import { WIRE_URL } from './support';

describe('cfn-signal status rules', () => {
  const cases: Array<[string, Parameters<typeof decideStatus>[0], 'SUCCESS' | 'FAILURE', number]> = [
    // [what, flags, status, number of warnings]
    ['no flags: SUCCESS', {}, 'SUCCESS', 0],
    ['-s true', { success: 'true' }, 'SUCCESS', 0],
    ['-s false', { success: 'false' }, 'FAILURE', 0],
    ['-s True (heat-cfntools: FAILURE; we read it without case)', { success: 'True' }, 'SUCCESS', 0],
    ['-s FALSE', { success: 'FALSE' }, 'FAILURE', 0],
    ['-s yes: neither true nor false, FAILURE with a warning', { success: 'yes' }, 'FAILURE', 1],
    ['-s 1: not a boolean here either', { success: '1' }, 'FAILURE', 1],
    ['-e 0 -s false: -e wins (heat-cfntools; aws-cfn-bootstrap sends FAILURE)', { exitCode: '0', success: 'false' }, 'SUCCESS', 0],
    ['-e 1 -s true: -e wins', { exitCode: '1', success: 'true' }, 'FAILURE', 0],
    ['-e 127', { exitCode: '127' }, 'FAILURE', 0],
    ['-e 00 is zero', { exitCode: '00' }, 'SUCCESS', 0],
    ["-e '' -s false: an empty -e is not given", { exitCode: '', success: 'false' }, 'FAILURE', 0],
    ["-e '' alone", { exitCode: '' }, 'SUCCESS', 0],
    ['-e abc: not a number, FAILURE with a warning', { exitCode: 'abc' }, 'FAILURE', 1],
    ['--exit 0: deprecated alias, warned', { exit: '0' }, 'SUCCESS', 1],
    ['--exit 2', { exit: '2' }, 'FAILURE', 1],
    ['-e 1 --exit 0: -e wins over --exit', { exitCode: '1', exit: '0' }, 'FAILURE', 1],
    ["-e '' --exit 1: --exit when -e is empty", { exitCode: '', exit: '1' }, 'FAILURE', 1],
  ];
  for (const [what, flags, status, warnings] of cases) {
    it(what, () => {
      const d = decideStatus(flags);
      assert.equal(d.status, status);
      assert.equal(d.warnings.length, warnings, d.warnings.join('; '));
    });
  }

  it('says which flag decided and why a value was not understood', () => {
    assert.equal(decideStatus({ exitCode: '3', success: 'true' }).decidedBy, '-e 3');
    assert.equal(decideStatus({}).decidedBy, 'default');
    assert.match(decideStatus({ success: 'ture' }).warnings[0]!, /-s "ture" is neither true nor false; sending FAILURE/);
    assert.match(decideStatus({ exit: '0' }).warnings[0]!, /--exit is deprecated; use -e or --exit-code/);
  });
});

describe('cfn-signal bodies', () => {
  const fields = { status: 'SUCCESS' as const, reason: 'Reason with ünïcode', data: '{"json": "in data"}', uniqueId: 'ünïcode "quoted"' };

  it('handle body: heat-cfntools bytes (heat-wire cfn-signal-options, -k case)', () => {
    assert.equal(
      cfnHandleBody(fields),
      '{"Status": "SUCCESS", "Reason": "Reason with \\u00fcn\\u00efcode", "UniqueId": "\\u00fcn\\u00efcode \\"quoted\\"", "Data": "{\\"json\\": \\"in data\\"}"}',
    );
  });

  it("heat-cfntools' defaults for -r and -d", () => {
    assert.equal(
      cfnHandleBody({ status: 'SUCCESS', reason: DEFAULT_REASON, data: DEFAULT_DATA, uniqueId: 'x' }),
      '{"Status": "SUCCESS", "Reason": "Configuration Complete", "UniqueId": "x", "Data": "Application has completed configuration."}',
    );
  });

  it('native body: lower-case keys in the order of OS::Heat::WaitConditionHandle', () => {
    assert.deepEqual(Object.keys(JSON.parse(nativeHandleBody(fields))), ['status', 'reason', 'data', 'id']);
    assert.equal(nativeHandleBody({ ...fields, status: 'FAILURE', uniqueId: 'i-1' }).slice(0, 45), '{"status": "FAILURE", "reason": "Reason with ');
  });

  it('control characters, DEL and astral characters escape as Python does', () => {
    const body = cfnHandleBody({ status: 'FAILURE', reason: 'a\tb\nc\u0001\u007f', data: '😀', uniqueId: 'x' });
    assert.equal(body, '{"Status": "FAILURE", "Reason": "a\\tb\\nc\\u0001\\u007f", "UniqueId": "x", "Data": "\\ud83d\\ude00"}');
  });

  it('a handle PUT has no Content-Type; the token POST has the headers of curl_cli', () => {
    const f = { status: 'SUCCESS' as const, reason: 'r', data: 'd', uniqueId: 'i' };
    assert.deepEqual(cfnHandleRequest('http://127.0.0.1/x', f).headers, {});
    assert.equal(cfnHandleRequest('http://127.0.0.1/x', f).method, 'PUT');
    const post = nativeHandleRequest('http://127.0.0.1/signal', f, 'tok-123');
    assert.equal(post.method, 'POST');
    assert.deepEqual(post.headers, { 'X-Auth-Token': 'tok-123', 'Content-Type': 'application/json', Accept: 'application/json' });
    const put = nativeHandleRequest('http://127.0.0.1/swift?temp_url_sig=abc', f, undefined);
    assert.equal(put.method, 'PUT');
    assert.deepEqual(put.headers, {});
  });
});

describe('cfn-signal handle URL', () => {
  it('takes a plain http(s) URL as it is', () => {
    assert.deepEqual(decodeHandleUrl(WIRE_URL), { url: WIRE_URL, fromBase64: false });
    assert.equal(decodeHandleUrl(`  ${WIRE_URL}\n`).url, WIRE_URL);
  });

  it('decodes a base64-encoded URL (Fn::Base64 of the handle), standard or URL-safe, wrapped or not', () => {
    const b64 = Buffer.from(WIRE_URL).toString('base64');
    assert.deepEqual(decodeHandleUrl(b64), { url: WIRE_URL, fromBase64: true });
    assert.equal(decodeHandleUrl(b64.replace(/(.{60})/g, '$1\n')).url, WIRE_URL);
    assert.equal(decodeHandleUrl(Buffer.from(WIRE_URL).toString('base64url')).url, WIRE_URL);
  });

  it('refuses what is neither, without echoing a signature', () => {
    assert.throws(() => decodeHandleUrl('not a url'), (e: unknown) => e instanceof UsageError && /http\(s\):\/\/ URL or the base64 encoding/.test(e.message));
    assert.throws(() => decodeHandleUrl(Buffer.from('ftp://x/y').toString('base64')), UsageError);
    assert.throws(() => decodeHandleUrl('ftp://x/y?Signature=secretsig'), (e: unknown) => e instanceof UsageError && !e.message.includes('secretsig'));
  });

  it("reads Heat's Timestamp (15 minutes), AWS's X-Amz-Date/X-Amz-Expires, Expires and Swift's temp_url_expires", () => {
    const heat = urlValidity(WIRE_URL)!;
    assert.equal(heat.rule, 'heat-timestamp');
    assert.equal(heat.issuedAt!.toISOString(), '2026-11-24T14:36:10.000Z');
    assert.equal(heat.expiresAt.toISOString(), '2026-11-24T14:51:10.000Z');
    const v4 = urlValidity('https://s3.amazonaws.com/b/k?X-Amz-Date=20261124T143610Z&X-Amz-Expires=86400&X-Amz-Signature=ab')!;
    assert.equal(v4.expiresAt.toISOString(), '2026-11-25T14:36:10.000Z');
    assert.equal(urlValidity('https://s3.amazonaws.com/b/k?Expires=1800000000&Signature=x')!.expiresAt.getTime(), 1800000000_000);
    assert.equal(urlValidity('https://swift/v1/AUTH_x/c/o?temp_url_sig=x&temp_url_expires=1800000000')!.rule, 'expires');
    assert.equal(urlValidity('http://127.0.0.1/v1/signal/x'), undefined);
  });

  it('explains an expired Heat URL plainly, and says nothing while it is valid', () => {
    const late = explainExpiry(WIRE_URL, new Date('2026-11-24T15:36:10Z'), 'server')!;
    assert.match(late, /the pre-signed URL was issued at 2026-11-24T14:36:10Z, more than 15 minutes ago \(60 minutes before 2026-11-24T15:36:10Z by the server's clock\)/);
    assert.equal(explainExpiry(WIRE_URL, new Date('2026-11-24T14:50:00Z'), 'server'), undefined);
    const aws = explainExpiry('https://s3.amazonaws.com/b/k?Expires=1800000000&Signature=x', new Date(1800000100_000), 'local')!;
    assert.match(aws, /expired at 2027-01-15T08:00:00Z \(it is 2027-01-15T08:01:40Z by this host's clock\)/);
  });
});

describe('cfn-signal native token', () => {
  it('comes from --auth-token, else from the environment, and is masked from then on', () => {
    assert.equal(resolveAuthToken('gAAAAflagtoken1', {}), 'gAAAAflagtoken1');
    assert.equal(resolveAuthToken(undefined, { [AUTH_TOKEN_ENV]: 'gAAAAenvtoken22' }), 'gAAAAenvtoken22');
    assert.equal(resolveAuthToken(undefined, {}), undefined);
    assert.equal(resolveAuthToken(undefined, { [AUTH_TOKEN_ENV]: '  ' }), undefined);
    assert.equal(redact('token gAAAAflagtoken1 and gAAAAenvtoken22'), 'token <redacted> and <redacted>');
  });

  it('an empty --auth-token (an unresolved template parameter) is a usage error', () => {
    assert.throws(() => resolveAuthToken('', {}), UsageError);
  });
});
