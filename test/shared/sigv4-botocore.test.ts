/**
 * Differential test of signV4/presignV4 against the real botocore (Debian's
 * python3-botocore): a few hundred requests generated from a fixed seed, all
 * signed by one python process at the same fixed time with the same keys.
 *
 * What botocore is given: the URL *as our signer returns it* (that is what the
 * HTTP layer sends; botocore canonicalises the path from it on its own), the
 * query as the decoded name/value pairs the generator started from (botocore
 * encodes them itself), the same headers, body, token, region and service.
 * botocore signs every header but expect, user-agent and x-amzn-trace-id; we
 * also leave out the ones the HTTP layer owns (content-length, ...), so a
 * Content-Length we send is not handed to botocore.
 *
 * Excluded on purpose (see shared/sigv4.ts and the report):
 * - S3 requests with a repeated query parameter: aws4 signs only the first
 *   value for S3; signV4/presignV4 refuse them rather than sign wrongly.
 * - presigned URLs with a repeated parameter: botocore's SigV4QueryAuth keeps
 *   parameters in a dict and cannot express them.
 */
import * as assert from 'node:assert/strict';
import type { Credentials } from '../../shared/credentials/types';
import type { HttpRequest } from '../../shared/request';
import { amzDate, presignV4, type SignedV4, signV4Detailed, unquote, uriEncode } from '../../shared/sigv4';
import { type BotoCase, type BotoResult, requireBotocore, runBotocore } from '../support/sigv-botocore';
import { Rng } from '../support/sigv-random';

const NOW = new Date('2026-01-05T03:04:05Z');
const ACCESS = 'AKIDBOTOCOREDIFF0001';
const SECRET = 'b0to/Core+Secret=Key!~';
const TOKEN = 'AQoDYXdzEPT//////////wEXAMPLE+tok/en==';

const HOSTS = ['example.amazonaws.com', 'cloudformation.eu-west-1.amazonaws.com', '127.0.0.1', 'localhost', 'Heat.Example.ORG', '[::1]', '192.0.2.10', 'bücher.example'];
const REGIONS = ['us-east-1', 'eu-west-2', '0', 'localhost', 'RegionOne', 'heat'];
const SERVICES = ['cloudformation', 'monitoring', '127', 'localhost', 'sts', 'ec2', 'execute-api'];
const SEGMENTS = ['v1', 'waitcondition', 'a b', 'ünïcödé', '日本', '😀', '%', '100%', '%41', '+', 'a+b', '=', '&', '~', 'a;b', 'x:y', '@', "!$'()*,", '.', '..', '', 'arn:openstack:heat::t:stacks', '|', '[x]', '^', '{}', '"q"', '?', '#', '`', 'tab\there'];
const KEYS = ['Action', 'Version', 'a', 'A', 'b', 'Param1', 'key with space', 'ü', '日本', '😀', 'x.y', 'Tilde~', 'a&b', 'a=b', 'plus+', 'pct%', 'MetricData.member.1.Value', "q'(*)!", 'x[]', '`'];
const VALUES = ['', 'value', 'a b', 'a+b', '100%', '%41', '=', '&', '~', 'ünïcödé', '日本語', '😀', '/', '?', '#', "!'()*", ' leading', 'trailing ', 'a/b:c@d', 'arn:openstack:heat::tenant0:stacks/teststack/f00d', '[1]', '{"j": 1}', '\\', '|^`'];

type Pair = [string, string];

interface Generated {
  id: number;
  category: string;
  req: HttpRequest;
  pairs: Pair[];
  creds: Credentials;
  region: string;
  service: string;
  /** For coverage accounting. */
  features: string[];
}

/** Query and form encodings callers may use. */
const ENCODERS: Record<string, (pairs: Pair[], rng: Rng) => string> = {
  encodeURIComponent: (pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
  URLSearchParams: (pairs) => new URLSearchParams(pairs).toString(), // space as '+', '~' as %7E
  rfc3986: (pairs) => pairs.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&'),
  // Only what would change the meaning is escaped (WHATWG URL drops tabs and
  // newlines, and spaces at the end of the URL); it encodes the rest, or not.
  raw: (pairs, rng) =>
    pairs
      .map(([k, v]) => {
        const esc = (s: string) => s.replace(/[%&=+#\t\n\r]/g, (c) => encodeURIComponent(c));
        return v === '' && rng.chance(0.5) ? esc(k) : `${esc(k)}=${esc(v)}`;
      })
      .join('&')
      .replace(/ $/, '%20'),
};

function genPairs(rng: Rng, max: number, repeats: boolean): Pair[] {
  const pairs: Pair[] = [];
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) {
    if (repeats && pairs.length && rng.chance(0.25)) {
      const [k, v] = rng.pick(pairs);
      pairs.push([k, rng.chance(0.3) ? v : rng.pick(VALUES)]);
    } else {
      pairs.push([rng.pick(KEYS), rng.pick(VALUES)]);
    }
  }
  if (!repeats) return [...new Map(pairs)];
  return pairs;
}

function genPath(rng: Rng, features: string[]): string {
  const segs = Array.from({ length: rng.int(5) }, () => rng.pick(SEGMENTS));
  const style = rng.pick(['raw', 'encodeURIComponent', 'rfc3986']);
  features.push(`path:${style}`);
  const enc = {
    // '?', '#' and '\' would end or change the path, WHATWG drops tabs; the rest goes in raw.
    raw: (s: string) => s.replace(/[?#\\\t\n\r]/g, (c) => encodeURIComponent(c)),
    encodeURIComponent,
    rfc3986: uriEncode,
  }[style]!;
  if (segs.some((s) => /[^\x20-\x7e]/.test(s))) features.push('path:non-ascii');
  if (segs.some((s) => / /.test(s))) features.push('path:space');
  if (segs.some((s) => /[%+=&~]/.test(s))) features.push('path:reserved');
  return `${rng.chance(0.1) ? '/' : ''}/${segs.map(enc).join('/')}${rng.chance(0.3) ? '/' : ''}`;
}

function generate(count: number, seed: number, s3: boolean): Generated[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, id) => {
    const features: string[] = [];
    const scheme = rng.pick(['http', 'https']);
    const portChoice = rng.pick(['none', 'none', 'default', 'other-default', '8000', '8003', '65535']);
    const port = { none: '', default: scheme === 'http' ? ':80' : ':443', 'other-default': scheme === 'http' ? ':443' : ':80' }[portChoice] ?? `:${portChoice}`;
    features.push(`port:${portChoice}`);
    const host = rng.pick(HOSTS);
    if (host.startsWith('[')) features.push('host:ipv6');
    const method = rng.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE']);
    const pairs = genPairs(rng, 5, !s3);
    const style = rng.pick(Object.keys(ENCODERS));
    const query = pairs.length ? `?${ENCODERS[style](pairs, rng)}` : rng.chance(0.1) ? '?' : '';
    if (pairs.length) features.push(`query:${style}`);
    if (new Set(pairs.map(([k]) => k)).size < pairs.length) features.push('query:repeated');
    if (pairs.some(([, v]) => v === '')) features.push('query:empty-value');
    if (pairs.some(([k, v]) => /[^\x20-\x7e]/.test(k + v))) features.push('query:non-ascii');
    if (pairs.some(([k, v]) => /[ %&=+#~/?]/.test(k + v))) features.push('query:reserved');

    const headers: Record<string, string> = {};
    let body: string | Buffer | undefined;
    let kind = 'none';
    if (method === 'POST' || method === 'PUT') {
      kind = rng.pick(['form', 'form', 'json', 'binary', 'empty', 'none']);
      if (kind === 'form') {
        body = ENCODERS[rng.pick(['URLSearchParams', 'rfc3986', 'encodeURIComponent'])](genPairs(rng, 8, true), rng);
        headers[rng.pick(['Content-Type', 'content-type'])] = rng.pick(['application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded']);
      } else if (kind === 'json') {
        body = JSON.stringify({ Status: 'SUCCESS', Reason: rng.pick(VALUES), UniqueId: 'ünïcode "quoted" 😀', Data: rng.pick(VALUES) });
        headers['Content-Type'] = rng.pick(['application/json', 'application/x-amz-json-1.0']);
        if (rng.chance(0.5)) headers['X-Amz-Target'] = 'DynamoDB_20120810.ListTables';
      } else if (kind === 'binary') {
        body = Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => rng.int(256)));
        headers['Content-Type'] = 'application/octet-stream';
      } else if (kind === 'empty') {
        body = '';
      }
    }
    features.push(`body:${kind}`);
    if (rng.chance(0.3)) headers['X-Custom-Meta'] = rng.pick(['  padded   value  ', 'a\t\tb', 'plain', ' "a   b   c" ']);
    if (rng.chance(0.2)) headers.Accept = 'application/json';
    if (rng.chance(0.2)) headers['User-Agent'] = 'cfntools/0.1 test';
    if (rng.chance(0.1)) {
      headers['X-Dup'] = 'first';
      headers['x-dup'] = ' second ';
      features.push('header:case-duplicate');
    }
    if (body !== undefined && rng.chance(0.3)) headers['Content-Length'] = String(Buffer.byteLength(body));

    const withToken = rng.chance(0.5);
    features.push(withToken ? 'token' : 'no-token');
    const region = rng.pick(REGIONS);
    const service = s3 ? 's3' : rng.pick(SERVICES);
    const req: HttpRequest = { method, url: `${scheme}://${host}${port}${genPath(rng, features)}${query}`, headers };
    if (body !== undefined) req.body = body;
    return {
      id,
      category: s3 ? 'S3' : `${method}${kind === 'none' ? '' : ` ${kind} body`}`,
      req,
      pairs,
      creds: { accessKeyId: ACCESS, secretAccessKey: SECRET, sessionToken: withToken ? TOKEN : undefined, source: 'test' },
      region,
      service,
      features,
    };
  });
}

const HEADER_CASES = [...generate(240, 20261124, false), ...generate(40, 4242, true).map((g) => ({ ...g, id: g.id + 240 }))];

function botoCase(g: Generated, signedUrl: string): BotoCase {
  const u = new URL(signedUrl);
  const headers = Object.fromEntries(Object.entries(g.req.headers).filter(([k]) => k.toLowerCase() !== 'content-length'));
  const body = g.req.body === undefined ? null : Buffer.from(g.req.body).toString('base64');
  return {
    mode: 'v4',
    method: g.req.method,
    url: `${u.protocol}//${u.host}${u.pathname}`,
    params: g.pairs,
    headers,
    body,
    accessKey: ACCESS,
    secretKey: SECRET,
    token: g.creds.sessionToken ?? null,
    region: g.region,
    service: g.service,
  };
}

/** Presign cases: no repeated parameters (botocore's SigV4QueryAuth keeps them in a dict). */
const PRESIGN_CASES = [...generate(40, 777, false), ...generate(20, 778, true)].map((g, id) => {
  const pairs = [...new Map(g.pairs)];
  const u = new URL(g.req.url);
  const query = pairs.length ? `?${ENCODERS.rfc3986(pairs, new Rng(0))}` : '';
  return { ...g, id, pairs, url: `${u.protocol}//${u.host}${u.pathname}${query}`, expires: [1, 60, 900, 3600, 604800][id % 5] };
});

describe('SigV4 differential: signV4 against botocore SigV4Auth / S3SigV4Auth', function () {
  this.timeout(120_000);
  let ours: SignedV4[] = [];
  let boto: BotoResult[] = [];

  before(function () {
    requireBotocore(this);
    ours = HEADER_CASES.map((g) => signV4Detailed(g.req, g.creds, { region: g.region, service: g.service }, NOW));
    boto = runBotocore(amzDate(NOW), HEADER_CASES.map((g, i) => botoCase(g, ours[i].request.url))).results;
  });

  it(`generates at least 200 requests covering every input class`, () => {
    assert.ok(HEADER_CASES.length >= 200);
    const seen = new Set(HEADER_CASES.flatMap((g) => g.features));
    for (const f of [
      'path:raw', 'path:encodeURIComponent', 'path:rfc3986', 'path:non-ascii', 'path:space', 'path:reserved',
      'query:raw', 'query:URLSearchParams', 'query:encodeURIComponent', 'query:rfc3986', 'query:repeated',
      'query:empty-value', 'query:non-ascii', 'query:reserved', 'body:form', 'body:json', 'body:binary', 'body:empty',
      'body:none', 'token', 'no-token', 'port:none', 'port:default', 'port:other-default', 'port:8000', 'host:ipv6',
      'header:case-duplicate',
    ]) {
      assert.ok(seen.has(f), `no generated request has ${f}`);
    }
    assert.ok(new Set(HEADER_CASES.map((g) => `${g.region}/${g.service}`)).size >= 20);
  });

  const categories = [...new Set(HEADER_CASES.map((g) => g.category))].sort();
  for (const category of categories) {
    const members = HEADER_CASES.filter((g) => g.category === category);
    it(`${category}: ${members.length} requests sign exactly as botocore`, () => {
      const bad: string[] = [];
      for (const g of members) {
        const o = ours[g.id];
        const b = boto[g.id];
        const h = o.request.headers;
        const same =
          h.Authorization === b.authorization &&
          h['X-Amz-Date'] === b.amzDate &&
          (h['X-Amz-Security-Token'] ?? null) === (b.token ?? null) &&
          (g.service !== 's3' || h['X-Amz-Content-Sha256'] === b.contentSha256);
        if (!same) {
          bad.push(`#${g.id} ${g.req.method} ${JSON.stringify(g.req.url)}\n--- ours\n${o.canonicalRequest}\n--- botocore\n${b.canonical}\n`);
        }
      }
      assert.equal(bad.length, 0, `${bad.length} of ${members.length} differ:\n${bad.slice(0, 5).join('\n')}`);
    });
  }

  it('the URL we send means what the caller wrote: same decoded path, same query pairs', () => {
    for (const [i, g] of HEADER_CASES.entries()) {
      const sent = new URL(ours[i].request.url);
      const given = new URL(g.req.url);
      assert.equal(unquote(sent.pathname), unquote(given.pathname), `#${i} path`);
      assert.deepEqual([...sent.searchParams], g.pairs, `#${i} query`);
      assert.equal(sent.host, given.host, `#${i} host`);
    }
  });
});

describe('SigV4 differential: presignV4 against botocore SigV4QueryAuth / S3SigV4QueryAuth', function () {
  this.timeout(120_000);
  let ours: string[] = [];
  let boto: BotoResult[] = [];

  before(function () {
    requireBotocore(this);
    ours = PRESIGN_CASES.map((g) => presignV4(g.req.method, g.url, g.creds, { region: g.region, service: g.service }, NOW, g.expires));
    const batch = PRESIGN_CASES.map((g, i): BotoCase => {
      const u = new URL(ours[i]);
      return {
        mode: 'v4-query',
        method: g.req.method,
        url: `${u.protocol}//${u.host}${u.pathname}`,
        params: g.pairs,
        headers: {},
        body: null,
        accessKey: ACCESS,
        secretKey: SECRET,
        token: g.creds.sessionToken ?? null,
        region: g.region,
        service: g.service,
        expires: g.expires,
      };
    });
    boto = runBotocore(amzDate(NOW), batch).results;
  });

  it(`${PRESIGN_CASES.length} presigned URLs carry botocore's signature and parameters`, () => {
    const bad: string[] = [];
    for (const [i, g] of PRESIGN_CASES.entries()) {
      const mine = new URL(ours[i]).searchParams;
      const theirs = new URL(boto[i].url!).searchParams;
      const sorted = (q: URLSearchParams) => [...q].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (mine.get('X-Amz-Signature') !== theirs.get('X-Amz-Signature') || JSON.stringify(sorted(mine)) !== JSON.stringify(sorted(theirs))) {
        bad.push(`#${i} ${g.service} ${ours[i]}\n  botocore ${boto[i].url}\n--- botocore canonical\n${boto[i].canonical}`);
      }
    }
    assert.equal(bad.length, 0, `${bad.length} differ:\n${bad.slice(0, 5).join('\n')}`);
  });
});
