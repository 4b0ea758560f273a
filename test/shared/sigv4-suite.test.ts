/**
 * SigV4 against fixed answers: every case of AWS's aws-sig-v4-test-suite, every
 * boto request recorded in heat-wire (as keystone verified it), and the S3
 * presigned-URL example of the AWS documentation. Plus the signer's contract:
 * no mutation, no secret in the output, Host and headers as sent.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Credentials } from '../../shared/credentials/types';
import { ConfigError } from '../../shared/errors';
import { redact } from '../../shared/redact';
import type { HttpRequest } from '../../shared/request';
import { presignV4, signV4, signV4Detailed, v4Signer } from '../../shared/sigv4';
import { HEAT_WIRE, header, readRecords, transcripts } from '../support/sigv-transcript';

const SUITE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'aws-sig-v4-test-suite');
const SUITE_CREDS: Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', source: 'test' };
const SUITE_SCOPE = { region: 'us-east-1', service: 'service' };

/** 20150830T123600Z -> Date */
function parseAmzDate(s: string): Date {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  assert.ok(m, `bad X-Amz-Date ${s}`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

interface RawRequest {
  method: string;
  target: string;
  /** Lower-case name -> first spelling and value. Repeated and folded lines are joined the suite's way. */
  headers: Map<string, { name: string; value: string }>;
  body: string;
}

/**
 * The suite's raw HTTP text. Repeated header lines and obs-fold continuation
 * lines are extra values of one header; as in the suite's canonical requests
 * they are trimmed and joined with ',' (an HttpRequest has one value per name).
 */
function parseRaw(text: string): RawRequest {
  const lines = text.replace(/\r/g, '').split('\n');
  const first = lines[0];
  const method = first.slice(0, first.indexOf(' '));
  const target = first.slice(first.indexOf(' ') + 1, first.lastIndexOf(' ')); // may hold spaces (get-space)
  const values = new Map<string, { name: string; values: string[] }>();
  let last: string[] | undefined;
  let i = 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const line = lines[i];
    if (/^[ \t]/.test(line)) {
      assert.ok(last, 'continuation line without a header');
      last.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const entry = values.get(name.toLowerCase()) ?? { name, values: [] };
    entry.values.push(line.slice(colon + 1));
    values.set(name.toLowerCase(), entry);
    last = entry.values;
  }
  const headers = new Map<string, { name: string; value: string }>();
  for (const [lower, { name, values: v }] of values) {
    headers.set(lower, { name, value: v.length === 1 ? v[0] : v.map((x) => x.trim()).join(',') });
  }
  return { method, target, headers, body: lines.slice(i + 1).join('\n') };
}

interface SuiteCase {
  name: string;
  dir: string;
}

function findCases(dir: string): SuiteCase[] {
  const name = path.basename(dir);
  const here = fs.existsSync(path.join(dir, `${name}.req`)) ? [{ name, dir }] : [];
  const below = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => findCases(path.join(dir, d.name)));
  return [...here, ...below].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Request lines no HTTP client can send as written: a raw space or raw UTF-8
 * in the path. The suite's canonical path is the request-line path encoded
 * once. Our request is a URL, which goes on the wire percent-encoded
 * (WHATWG URL, as node sends it: /example%20space/, /%E1%88%B4), and a non-S3
 * canonical path is the *wire* path encoded again (AWS's double encoding, as
 * botocore and aws4 do): /example%2520space/, /%25E1%2588%25B4. That is the
 * signature AWS computes for the request we really send, so these two suite
 * answers cannot be ours. The exact canonical request we produce instead is
 * asserted below, and the botocore differential covers such paths.
 */
const UNSENDABLE: Record<string, string> = {
  'get-space': '/example%2520space/',
  'get-utf8': '/%25E1%2588%25B4',
};

function read(c: SuiteCase, ext: string): string {
  return fs.readFileSync(path.join(c.dir, `${c.name}.${ext}`), 'utf8').replace(/\r/g, '');
}

/** Signs a suite case through signV4, exactly as an HttpRequest would carry it. */
function signCase(c: SuiteCase) {
  const raw = parseRaw(read(c, 'req'));
  const host = raw.headers.get('host')?.value;
  const date = raw.headers.get('x-amz-date')?.value;
  assert.ok(host && date, `${c.name}: no Host or X-Amz-Date`);
  const token = raw.headers.get('x-amz-security-token')?.value;
  const headers: Record<string, string> = {};
  for (const [lower, { name, value }] of raw.headers) {
    // Host comes from the URL; the date and the token are the signer's to set.
    if (!['host', 'x-amz-date', 'x-amz-security-token'].includes(lower)) headers[name] = value;
  }
  const req: HttpRequest = { method: raw.method, url: `https://${host}${raw.target}`, headers };
  if (raw.body !== '') req.body = raw.body;
  return { raw, signed: signV4Detailed(req, { ...SUITE_CREDS, sessionToken: token }, SUITE_SCOPE, parseAmzDate(date)) };
}

describe('SigV4: aws-sig-v4-test-suite', () => {
  const cases = findCases(SUITE);

  it('finds all 31 cases of the suite', () => {
    assert.equal(cases.length, 31, cases.map((c) => c.name).join(' '));
  });

  for (const c of cases) {
    if (c.name in UNSENDABLE) {
      // Pending on purpose: see UNSENDABLE. The next test pins what we sign instead.
      it(`${c.name}: suite answer needs a raw space/UTF-8 request line, which HTTP cannot carry (pending)`);
      it(`${c.name}: signs the percent-encoded path that is actually sent`, () => {
        const { signed } = signCase(c);
        const ours = signed.canonicalRequest.split('\n');
        const expected = read(c, 'creq').split('\n');
        assert.equal(ours[1], UNSENDABLE[c.name]);
        assert.deepEqual([ours[0], ...ours.slice(2)], [expected[0], ...expected.slice(2)]);
      });
      continue;
    }

    it(c.name, () => {
      const { raw, signed } = signCase(c);
      assert.equal(signed.canonicalRequest, read(c, 'creq'), 'canonical request');
      assert.equal(signed.stringToSign, read(c, 'sts'), 'string to sign');
      assert.equal(signed.request.headers.Authorization, read(c, 'authz'), 'Authorization');

      // The signed request carries exactly the .sreq headers (Host via the URL).
      const sreq = parseRaw(read(c, 'sreq'));
      const ours = new Map(Object.entries(signed.request.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
      ours.set('host', new URL(signed.request.url).host);
      if (sreq.headers.has('x-amz-security-token') && !raw.headers.has('x-amz-security-token')) {
        // post-sts-header-after: the token is added after signing, unsigned (readme.txt of post-sts-token).
        assert.doesNotMatch(signed.request.headers.Authorization, /x-amz-security-token/);
        ours.set('x-amz-security-token', sreq.headers.get('x-amz-security-token')!.value);
      }
      const expected = new Map([...sreq.headers].map(([k, { value }]) => [k, value.trim()]));
      assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(expected), 'signed request headers');
      assert.equal(signed.request.body ?? '', sreq.body, 'body');
    });
  }
});

describe('SigV4: boto requests recorded in heat-wire (keystone MATCH)', () => {
  const BOTO_CREDS: Credentials = { accessKeyId: 'AKIDEXAMPLE0000000000000000000001', secretAccessKey: 'SeCrEt/Key+With=Chars!', source: 'test' };

  /** Re-sign a recorded boto request and compare with what boto sent. */
  function resign(rec: ReturnType<typeof readRecords>[number]) {
    const auth = header(rec, 'Authorization')!;
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
    assert.ok(m, `${rec.file} ${rec.id}: unexpected Authorization ${auth}`);
    const [, access, , region, service, signedHeaders, signature] = m;
    assert.equal(access, BOTO_CREDS.accessKeyId);
    // Build the request with the headers boto signed, nothing more: our signer
    // also signs Content-Type and Accept when present, which keystone accepts too.
    const headers: Record<string, string> = {};
    for (const h of signedHeaders.split(';')) {
      if (h !== 'host' && h !== 'x-amz-date') headers[h] = header(rec, h)!;
    }
    const req: HttpRequest = { method: rec.method, url: `http://${header(rec, 'Host')}${rec.target}`, headers };
    if (rec.body.length) req.body = rec.body;
    const signed = signV4Detailed(req, BOTO_CREDS, { region, service }, parseAmzDate(header(rec, 'X-Amz-Date')!));
    return { signed, signedHeaders, signature, credential: `${access}/${m[2]}/${region}/${service}/aws4_request` };
  }

  function checkRecord(rec: ReturnType<typeof readRecords>[number]) {
    const { signed, signedHeaders, signature, credential } = resign(rec);
    assert.equal(signed.canonicalRequest, rec.canonical, `${rec.file} ${rec.id}: canonical request`);
    assert.equal(
      signed.request.headers.Authorization,
      `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
      `${rec.file} ${rec.id}`,
    );
    assert.equal(signed.request.headers['X-Amz-Date'], header(rec, 'X-Amz-Date'));
    return signed;
  }

  it('cfn-get-metadata-basic: canonical request, string to sign and signature bb6703bc...', () => {
    const [rec] = readRecords('cfn-get-metadata-basic.txt');
    const signed = checkRecord(rec);
    assert.match(signed.request.headers.Authorization, /Signature=bb6703bcfd95d892948c8e8eeb45374e8d4811d56451f23c6a89b4236e465028$/);
    const transcript = fs.readFileSync(path.join(HEAT_WIRE, 'cfn-get-metadata-basic.txt'), 'utf8');
    const sts = /StringToSign:\n((?:.*\n){3}.*)\n/.exec(transcript)?.[1];
    assert.equal(signed.stringToSign, sts);
    assert.match(signed.stringToSign, /\n2bcad1f4f83e81d7e7c6c510c37bbef0e26b66b275362b960c148ee7c08febab$/);
  });

  it('cfn-push-stats-heartbeat: POST with a 673-byte form body', () => {
    const [rec] = readRecords('cfn-push-stats-heartbeat.txt');
    assert.equal(rec.body.length, 673);
    const signed = checkRecord(rec);
    assert.match(signed.request.headers.Authorization, /Signature=8986572a199e636a465d10afb8307d3ebf777c56e7872e126f34c9ef0b7d5840$/);
  });

  const files = transcripts().filter((f) => readRecords(f).some((r) => header(r, 'Authorization')?.startsWith('AWS4-')));

  it('covers every SigV4 request of the transcripts (55)', () => {
    const n = files.flatMap((f) => readRecords(f)).filter((r) => header(r, 'Authorization')?.startsWith('AWS4-')).length;
    assert.equal(n, 55);
  });

  for (const f of files) {
    it(`reproduces every signature in ${f}`, () => {
      for (const rec of readRecords(f).filter((r) => header(r, 'Authorization')?.startsWith('AWS4-'))) checkRecord(rec);
    });
  }
});

describe('SigV4: presignV4', () => {
  it('reproduces the S3 presigned URL example of the AWS documentation', () => {
    // docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    const url = presignV4(
      'GET',
      'https://examplebucket.s3.amazonaws.com/test.txt',
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', source: 'test' },
      { region: 'us-east-1', service: 's3' },
      new Date('2013-05-24T00:00:00Z'),
      86400,
    );
    const q = new URL(url).searchParams;
    assert.equal(q.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(q.get('X-Amz-Credential'), 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    assert.equal(q.get('X-Amz-Date'), '20130524T000000Z');
    assert.equal(q.get('X-Amz-Expires'), '86400');
    assert.equal(q.get('X-Amz-SignedHeaders'), 'host');
    assert.equal(q.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
    assert.ok(url.startsWith('https://examplebucket.s3.amazonaws.com/test.txt?'));
  });

  const creds: Credentials = { accessKeyId: 'AKID', secretAccessKey: 'presign/secret+key', sessionToken: 'tok/en+==', source: 'test' };
  const scope = { region: 'eu-west-1', service: 's3' };
  const now = new Date('2026-11-24T10:00:00Z');

  it('puts the session token in the signed query and keeps the URL parameters', () => {
    const url = presignV4('GET', 'https://b.s3.amazonaws.com/k?versionId=3&x=a%20b', creds, scope, now, 300);
    const q = new URL(url).searchParams;
    assert.equal(q.get('X-Amz-Security-Token'), creds.sessionToken);
    assert.equal(q.get('versionId'), '3');
    assert.equal(q.get('x'), 'a b');
    assert.ok(!url.includes(creds.secretAccessKey) && !url.includes(encodeURIComponent(creds.secretAccessKey)));
  });

  it('presigning a presigned URL replaces the old X-Amz-* parameters', () => {
    const once = presignV4('GET', 'https://b.s3.amazonaws.com/k', creds, scope, now, 300);
    const twice = presignV4('GET', once, creds, scope, new Date(now.getTime() + 1000), 600);
    const q = new URL(twice).searchParams;
    for (const k of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Security-Token', 'X-Amz-Signature']) {
      assert.equal(q.getAll(k).length, 1, k);
    }
    assert.equal(q.get('X-Amz-Expires'), '600');
    assert.equal(twice, presignV4('GET', 'https://b.s3.amazonaws.com/k', creds, scope, new Date(now.getTime() + 1000), 600));
  });

  it('refuses lifetimes AWS refuses', () => {
    for (const bad of [0, -1, 1.5, 604801]) {
      assert.throws(() => presignV4('GET', 'https://b.s3.amazonaws.com/k', creds, scope, now, bad), ConfigError);
    }
  });
});

describe('SigV4: signV4 contract', () => {
  const creds: Credentials = { accessKeyId: 'AKIDCONTRACT', secretAccessKey: 'c0ntract/Secret+Key=', sessionToken: 'SeSsIoN/ToKeN+1==', source: 'test' };
  const scope = { region: 'RegionOne', service: 'cloudformation' };
  const now = new Date('2026-11-24T14:33:27.512Z');

  function deepFreeze<T>(o: T): T {
    if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
      for (const v of Object.values(o)) deepFreeze(v);
      Object.freeze(o);
    }
    return o;
  }

  it('does not mutate its input', () => {
    const input: HttpRequest = {
      method: 'POST',
      url: 'http://heat.example:8000/v1/?a=[1]',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', authorization: 'stale', 'x-amz-date': 'stale' },
      body: 'Action=DescribeStackResource&StackName=s',
    };
    const copy = structuredClone(input);
    const out = signV4(deepFreeze(input), creds, scope, now);
    assert.deepEqual(input, copy);
    assert.notEqual(out.headers, input.headers);
    assert.equal(out.body, input.body);
  });

  it('the secret key appears nowhere in the signed request, and is registered for redaction', () => {
    const out = signV4({ method: 'GET', url: 'https://cloudformation.eu-west-1.amazonaws.com/?Action=X', headers: {} }, creds, scope, now);
    const text = JSON.stringify(out);
    assert.ok(!text.includes(creds.secretAccessKey));
    assert.ok(!text.includes(encodeURIComponent(creds.secretAccessKey)));
    assert.ok(!redact(`key=${creds.secretAccessKey} token=${creds.sessionToken}`).includes(creds.secretAccessKey));
    assert.ok(!redact(`token ${creds.sessionToken}`).includes(creds.sessionToken!));
  });

  it('sets X-Amz-Date and a signed X-Amz-Security-Token, replacing stale copies', () => {
    const out = signV4(
      { method: 'GET', url: 'http://h:8000/v1/', headers: { 'x-amz-date': 'old', 'X-AMZ-SECURITY-TOKEN': 'old', AUTHORIZATION: 'old' } },
      creds,
      scope,
      now,
    );
    assert.deepEqual(Object.keys(out.headers).sort(), ['Authorization', 'X-Amz-Date', 'X-Amz-Security-Token']);
    assert.equal(out.headers['X-Amz-Date'], '20261124T143327Z');
    assert.equal(out.headers['X-Amz-Security-Token'], creds.sessionToken);
    assert.match(out.headers.Authorization, /Credential=AKIDCONTRACT\/20261124\/RegionOne\/cloudformation\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, /);
  });

  it('signs host[:port] as sent: default ports dropped, host lower-cased', () => {
    const host = (url: string) => /\nhost:([^\n]*)\n/.exec(signV4Detailed({ method: 'GET', url, headers: {} }, creds, scope, now).canonicalRequest)?.[1];
    assert.equal(host('http://127.0.0.1:8000/v1/'), '127.0.0.1:8000');
    assert.equal(host('http://Heat.EXAMPLE:80/v1/'), 'heat.example');
    assert.equal(host('https://heat.example:443/v1/'), 'heat.example');
    assert.equal(host('https://heat.example:80/v1/'), 'heat.example:80');
    assert.equal(host('http://[::1]:8000/'), '[::1]:8000');
  });

  it('adds no Content-Type or Content-Length and does not sign framing headers', () => {
    const out = signV4Detailed(
      { method: 'POST', url: 'http://h/', headers: { 'Content-Length': '3', 'User-Agent': 'cfntools', Accept: 'application/json' }, body: 'a=b' },
      creds,
      scope,
      now,
    );
    assert.deepEqual(Object.keys(out.request.headers).sort(), ['Accept', 'Authorization', 'Content-Length', 'User-Agent', 'X-Amz-Date', 'X-Amz-Security-Token']);
    assert.match(out.request.headers.Authorization, /SignedHeaders=accept;host;x-amz-date;x-amz-security-token,/);
  });

  it('joins header names that differ only in case, as one header', () => {
    const out = signV4Detailed({ method: 'GET', url: 'http://h/', headers: { 'X-Dup': ' a ', 'x-dup': 'b' } }, { ...creds, sessionToken: undefined }, scope, now);
    assert.equal(out.request.headers['X-Dup'], 'a,b');
    assert.ok(!('x-dup' in out.request.headers));
    assert.match(out.canonicalRequest, /\nx-dup:a,b\n/);
  });

  it('sends the path and query it signed when WHATWG leaves characters raw that aws4 would encode', () => {
    const out = signV4Detailed({ method: 'GET', url: 'http://h/a|b^c?k=[v]&x=%&y=`', headers: {} }, creds, scope, now);
    const u = new URL(out.request.url);
    assert.equal(u.pathname, '/a%7Cb%5Ec');
    assert.equal(out.canonicalRequest.split('\n')[1], '/a%257Cb%255Ec');
    assert.equal(out.canonicalRequest.split('\n')[2], 'k=%5Bv%5D&x=%25&y=%60');
    assert.deepEqual([...u.searchParams], [['k', '[v]'], ['x', '%'], ['y', '`']]);
  });

  it('drops query parameters with an empty name, which aws4 leaves unsigned', () => {
    const out = signV4Detailed({ method: 'GET', url: 'http://h/x?=v&a=1&&b', headers: {} }, creds, scope, now);
    assert.equal(out.request.url, 'http://h/x?a=1&b');
    assert.equal(out.canonicalRequest.split('\n')[2], 'a=1&b=');
  });

  it('S3: refuses a repeated query parameter (aws4 would sign only its first value)', () => {
    const s3 = { region: 'us-east-1', service: 's3' };
    assert.throws(() => signV4({ method: 'GET', url: 'https://b.s3.amazonaws.com/k?a=2&a=1', headers: {} }, creds, s3, now), ConfigError);
    assert.throws(() => presignV4('GET', 'https://b.s3.amazonaws.com/k?a=2&a=1', creds, s3, now, 60), ConfigError);
    assert.doesNotThrow(() => signV4({ method: 'GET', url: 'http://h/k?a=2&a=1', headers: {} }, creds, scope, now));
  });

  it("keeps a parameter name that starts with '?'", () => {
    const out = signV4Detailed({ method: 'GET', url: 'http://h/x??a=1', headers: {} }, creds, scope, now);
    assert.equal(out.request.url, 'http://h/x??a=1');
    assert.equal(out.canonicalRequest.split('\n')[2], '%3Fa=1');
  });

  it('keeps the URL exactly as given when nothing needs escaping', () => {
    const url = 'http://127.0.0.1:8000/v1/?Action=DescribeStackResource&StackName=arn%3Aopenstack%3Aheat';
    assert.equal(signV4({ method: 'GET', url, headers: {} }, creds, scope, now).url, url);
  });

  it('S3: adds X-Amz-Content-Sha256 and signs the path encoded once', () => {
    const out = signV4Detailed({ method: 'PUT', url: 'https://b.s3.amazonaws.com/a+b/c%20d/é', headers: {}, body: 'x' }, creds, { region: 'us-east-1', service: 's3' }, now);
    assert.equal(out.request.headers['X-Amz-Content-Sha256'], '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
    assert.equal(new URL(out.request.url).pathname, '/a%2Bb/c%20d/%C3%A9');
    assert.equal(out.canonicalRequest.split('\n')[1], '/a%2Bb/c%20d/%C3%A9');
  });

  it('refuses an empty region or service (aws4 would guess them from the host)', () => {
    assert.throws(() => signV4({ method: 'GET', url: 'http://h/', headers: {} }, creds, { region: '', service: 'x' }, now), ConfigError);
    assert.throws(() => signV4({ method: 'GET', url: 'http://h/', headers: {} }, creds, { region: 'x', service: '' }, now), ConfigError);
  });

  it('v4Signer signs with the provider credentials at the given time', async () => {
    const signer = v4Signer({ get: async () => creds }, scope);
    const req: HttpRequest = { method: 'GET', url: 'http://h:8000/v1/?A=1', headers: {} };
    assert.deepEqual(await signer(req, now), signV4(req, creds, scope, now));
  });
});
