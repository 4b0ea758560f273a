import * as assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as http from 'node:http';
import {
  AUTHENTICATION_KEY,
  blockUse,
  createDownloader,
  downloadsOf,
  DownloadError,
  matchUri,
  parseAuthentication,
  parseS3Url,
  parseUriPattern,
  type DownloaderDeps,
  type UriPattern,
} from '../../shared/init/auth';
import { ImdsClient } from '../../shared/credentials/imds';
import { HttpClient } from '../../shared/http';
import { MemoryLogger } from '../../shared/log';
import { redact } from '../../shared/redact';
import { Problems } from '../../shared/init/validation';
import { roleDocument, ROLE_PATH, startFakeImds, type FakeImds } from '../support/imds-server';
import { startServer, type RecordedRequest, type TestServer } from '../support/server';
import { tempDir } from './support/handler-harness';

const http1 = () => new HttpClient({ sleep: async () => undefined, transport: { env: {}, systemCaFiles: [] }, retry: { maxAttempts: 2 } });

function downloader(raw: unknown, extra: Partial<DownloaderDeps> = {}) {
  const problems = new Problems();
  const logger = new MemoryLogger();
  const http = http1();
  const d = createDownloader(raw, { http: () => http, problems, logger, env: {}, ...extra });
  return { d, problems, logger };
}

describe('AWS::CloudFormation::Authentication', () => {
  describe('validation', () => {
    it('accepts basic and S3 blocks, type in any case, strings or lists for uris/buckets', () => {
      const p = new Problems();
      const blocks = parseAuthentication(
        {
          web: { type: 'BASIC', username: 'u', password: 'pw-1234', uris: 'example.com' },
          s3keys: { type: 's3', accessKeyId: 'AKID', secretKey: 'sk-5678', buckets: ['a-bucket', 'b.bucket'] },
          s3role: { type: 'S3', roleName: 'web-role', buckets: 'c-bucket' },
        },
        p,
      );
      assert.deepEqual(p.list, []);
      assert.deepEqual([...blocks.keys()], ['web', 's3keys', 's3role']);
      const web = blocks.get('web')!;
      assert.equal(web.type, 'basic');
      assert.deepEqual(web.type === 'basic' && web.uris.map((u) => u.host), ['example.com']);
      const s3 = blocks.get('s3keys')!;
      assert.deepEqual(s3.type === 'S3' && s3.buckets, ['a-bucket', 'b.bucket']);
      const role = blocks.get('s3role')!;
      assert.equal(role.type === 'S3' && role.roleName, 'web-role');
    });

    it('absent metadata means no blocks and no problems', () => {
      const p = new Problems();
      assert.equal(parseAuthentication(undefined, p).size, 0);
      assert.equal(parseAuthentication(null, p).size, 0);
      assert.ok(p.ok);
    });

    const bad: [string, unknown, string, RegExp][] = [
      ['not an object', ['x'], AUTHENTICATION_KEY, /expected an object/],
      ['a block that is not an object', { a: 'basic' }, `${AUTHENTICATION_KEY}.a`, /expected an object/],
      ['no type', { a: { username: 'u', password: 'p' } }, `${AUTHENTICATION_KEY}.a.type`, /expected a string/],
      ['an unknown type', { a: { type: 'digest' } }, `${AUTHENTICATION_KEY}.a.type`, /unknown authentication type "digest"/],
      ['basic without username', { a: { type: 'basic', password: 'p' } }, `${AUTHENTICATION_KEY}.a.username`, /required/],
      ['basic with an empty password', { a: { type: 'basic', username: 'u', password: '' } }, `${AUTHENTICATION_KEY}.a.password`, /must not be empty/],
      ['basic with S3 keys (typo or wrong type)', { a: { type: 'basic', username: 'u', password: 'p', buckets: ['b'] } }, `${AUTHENTICATION_KEY}.a.buckets`, /unknown key/],
      ['basic uris of another scheme', { a: { type: 'basic', username: 'u', password: 'p', uris: ['ftp://h/'] } }, `${AUTHENTICATION_KEY}.a.uris[0]`, /unsupported scheme ftp/],
      ['uris not strings', { a: { type: 'basic', username: 'u', password: 'p', uris: [1] } }, `${AUTHENTICATION_KEY}.a.uris`, /string or a list of strings/],
      ['S3 without credentials', { a: { type: 'S3', buckets: ['b'] } }, `${AUTHENTICATION_KEY}.a`, /accessKeyId and secretKey, or roleName/],
      ['S3 with half a key pair', { a: { type: 'S3', accessKeyId: 'AKID' } }, `${AUTHENTICATION_KEY}.a.secretKey`, /required/],
      ['S3 with keys and a role', { a: { type: 'S3', accessKeyId: 'A', secretKey: 'sssss', roleName: 'r' } }, `${AUTHENTICATION_KEY}.a.roleName`, /not both/],
      ['S3 with a bad bucket', { a: { type: 'S3', roleName: 'r', buckets: ['no/slash'] } }, `${AUTHENTICATION_KEY}.a.buckets[0]`, /not a bucket name/],
      ['S3 with uris', { a: { type: 'S3', roleName: 'r', uris: ['x'] } }, `${AUTHENTICATION_KEY}.a.uris`, /unknown key/],
    ];
    for (const [what, raw, at, message] of bad) {
      it(`reports ${what} at ${at}`, () => {
        const p = new Problems();
        const blocks = parseAuthentication(raw, p);
        const hit = p.list.find((x) => x.path === at);
        assert.ok(hit, `no problem at ${at}: ${JSON.stringify(p.list)}`);
        assert.match(hit.message, message);
        assert.equal(blocks.size, 0, 'a block with problems is not usable');
      });
    }

    it('uses the given key path prefix (createDownloader path option)', () => {
      const { problems } = downloader({ a: { type: 'x' } }, { path: 'Resources.Web.Metadata.AWS::CloudFormation::Authentication' });
      assert.equal(problems.list[0].path, 'Resources.Web.Metadata.AWS::CloudFormation::Authentication.a.type');
    });

    it('blockNames lists every declared block, broken ones too (no second "unknown block" problem)', () => {
      const { d, problems } = downloader({ good: { type: 'basic', username: 'u', password: 'pwpw' }, broken: { type: 'S3' } });
      assert.deepEqual([...d.blockNames].sort(), ['broken', 'good']);
      assert.deepEqual([...d.blocks.keys()], ['good']);
      assert.equal(problems.list.length, 1);
    });

    it('registers passwords, secret keys and the Basic header as secrets', () => {
      const p = new Problems();
      parseAuthentication(
        { a: { type: 'basic', username: 'alice', password: 'pw-Registered-1' }, b: { type: 'S3', accessKeyId: 'AKIDX', secretKey: 'sk/Registered+2' } },
        p,
      );
      const basic = Buffer.from('alice:pw-Registered-1').toString('base64');
      const text = redact(`pw-Registered-1 sk/Registered+2 ${basic}`);
      assert.ok(!text.includes('pw-Registered-1') && !text.includes('sk/Registered+2') && !text.includes(basic), text);
    });

    describe('a block no download uses is never read by aws-cfn-bootstrap: its problems are tolerated', () => {
      const init = {
        configSets: { default: ['web'] },
        web: {
          files: {
            '/etc/a': { source: 'https://bucket-a.s3.amazonaws.com/a', authentication: 'named' },
            '/etc/b': { content: 'b', authentication: 'contentOnly' },
          },
          sources: { '/srv/app': 'https://app.example.com:8443/dist/app.tgz', '/srv/local': '/tmp/app.tgz' },
          packages: { rpm: { tool: ['https://s3.eu-west-1.amazonaws.com/bucket-r/tool.rpm'] } },
        },
        // Not selected by default: its downloads count all the same (-c must not change what is checked).
        other: { files: { '/etc/o': { source: 'https://other.example.com/o' } } },
      };

      it('downloadsOf lists the URLs of every config and the blocks files with a source name', () => {
        const uses = downloadsOf(init);
        assert.deepEqual([...uses.names], ['named']);
        assert.deepEqual(uses.urls, ['https://bucket-a.s3.amazonaws.com/a', 'https://app.example.com:8443/dist/app.tgz', 'https://s3.eu-west-1.amazonaws.com/bucket-r/tool.rpm', 'https://other.example.com/o']);
      });

      it('a block is used by name, by bucket or by uris; not by a name on inline content nor by a type nobody matches', () => {
        const used = blockUse(downloadsOf(init));
        const cases: Array<[string, unknown, boolean]> = [
          ['named', { type: 'S3', roleName: ['a', 'list'] }, true],
          ['contentOnly', { type: 'basic', username: 'u' }, false],
          ['s3a', { type: 'S3', buckets: 'bucket-a' }, true],
          ['s3r', { type: 's3', buckets: ['x', 'bucket-r'] }, true],
          ['s3none', { type: 'S3', buckets: ['bucket-z'], roleName: ['r'] }, false],
          ['basicPrefix', { type: 'basic', uris: ['https://app.example.com:8443/dist'] }, true],
          ['basicHost', { type: 'basic', uris: 'other.example.com' }, true],
          ['basicOtherPort', { type: 'basic', uris: ['app.example.com'] }, false],
          ['unreadableList', { type: 'S3', buckets: [7] }, true],
          ['noType', { buckets: ['bucket-a'] }, false],
          ['digest', { type: 'digest', uris: ['app.example.com:8443'] }, false],
        ];
        for (const [name, raw, expected] of cases) assert.equal(used(name, raw), expected, name);
        assert.equal(blockUse({ names: new Set(), urls: [] })('unreadableList', { type: 'S3', buckets: [7] }), false, 'nothing downloaded: nothing used');
      });

      it('createDownloader with uses: an unused broken block is a warning and left out; a used one stays an error', () => {
        const { d, problems } = downloader(
          {
            unused: { type: 'S3', roleName: ['not', 'a', 'string'], buckets: 'bucket-z' },
            used: { type: 'S3', roleName: ['not', 'a', 'string'], buckets: 'bucket-a' },
            unusedGood: { type: 'basic', username: 'u', password: 'pw-unused-9', uris: 'nowhere.example.com' },
          },
          { uses: downloadsOf(init) },
        );
        assert.deepEqual(problems.list, [{ path: `${AUTHENTICATION_KEY}.used.roleName`, message: 'expected a string, got a list' }]);
        assert.deepEqual(problems.tolerated, [
          { path: `${AUTHENTICATION_KEY}.unused.roleName`, message: 'expected a string, got a list', tolerated: 'the block is used by no download, so a run never reads it' },
        ]);
        assert.deepEqual([...d.blocks.keys()], ['unusedGood']);
        assert.deepEqual([...d.blockNames].sort(), ['unused', 'unusedGood', 'used']);
      });
    });

    it('registers the secrets of blocks that have problems too', () => {
      parseAuthentication({ a: { type: 'S3', secretKey: 'only-a-Secret-3' } }, new Problems());
      assert.ok(!redact('only-a-Secret-3').includes('only-a-Secret-3'));
    });
  });

  describe('uris matching: the documented prefix semantics', () => {
    const pat = (s: string) => parseUriPattern(s) as UriPattern;
    const matches = (pattern: string, url: string) => matchUri(pat(pattern), new URL(url)) >= 0;

    it('a bare host (what aws-cfn-bootstrap matches) covers every path on the default ports', () => {
      assert.ok(matches('example.com', 'http://example.com/a/b'));
      assert.ok(matches('example.com', 'https://EXAMPLE.com/'));
      assert.ok(!matches('example.com', 'http://example.com:8080/'));
      assert.ok(!matches('example.com', 'http://www.example.com/'));
    });

    it('host:port matches that port only, whatever the scheme', () => {
      assert.ok(matches('example.com:8080', 'http://example.com:8080/x'));
      assert.ok(matches('example.com:8080', 'https://example.com:8080/x'));
      assert.ok(!matches('example.com:8080', 'http://example.com/x'));
      assert.ok(matches('example.com:80', 'http://example.com/x'), 'an explicit default port');
    });

    it('a scheme restricts to that scheme and its default port', () => {
      assert.ok(matches('https://example.com', 'https://example.com/x'));
      assert.ok(matches('https://example.com', 'https://example.com:443/x'));
      assert.ok(!matches('https://example.com', 'http://example.com/x'));
      assert.ok(!matches('https://example.com', 'https://example.com:8443/x'));
    });

    it('a path is a prefix on segment boundaries (the docs: http://www.example.com/test)', () => {
      assert.ok(matches('http://www.example.com/test', 'http://www.example.com/test'));
      assert.ok(matches('http://www.example.com/test', 'http://www.example.com/test/a/b.txt'));
      assert.ok(matches('example.com/test', 'https://example.com/test/x'));
      assert.ok(!matches('http://www.example.com/test', 'http://www.example.com/testing'));
      assert.ok(!matches('http://www.example.com/test', 'http://www.example.com/'));
      assert.ok(matches('http://www.example.com/test/', 'http://www.example.com/test/x'));
    });

    it('a longer prefix scores higher', () => {
      const u = new URL('http://h/a/b/c');
      assert.ok(matchUri(pat('h/a/b'), u) > matchUri(pat('h/a'), u));
    });
  });

  describe('S3 URL recognition', () => {
    const cases: [string, { bucket?: string; key: string; region: string; style: string } | undefined][] = [
      ['https://my-bucket.s3.amazonaws.com/dir/file.tgz', { bucket: 'my-bucket', key: 'dir/file.tgz', region: 'us-east-1', style: 'virtual' }],
      ['https://my-bucket.s3.eu-west-1.amazonaws.com/f', { bucket: 'my-bucket', key: 'f', region: 'eu-west-1', style: 'virtual' }],
      ['https://my.dotted.bucket.s3.us-west-2.amazonaws.com/f', { bucket: 'my.dotted.bucket', key: 'f', region: 'us-west-2', style: 'virtual' }],
      ['https://my-bucket.s3-ap-southeast-2.amazonaws.com/f', { bucket: 'my-bucket', key: 'f', region: 'ap-southeast-2', style: 'virtual' }],
      ['https://my-bucket.s3.dualstack.eu-central-1.amazonaws.com/f', { bucket: 'my-bucket', key: 'f', region: 'eu-central-1', style: 'virtual' }],
      ['https://my-bucket.s3-fips.us-gov-west-1.amazonaws.com/f', { bucket: 'my-bucket', key: 'f', region: 'us-gov-west-1', style: 'virtual' }],
      ['https://s3.amazonaws.com/my-bucket/a%20b/c', { bucket: 'my-bucket', key: 'a b/c', region: 'us-east-1', style: 'path' }],
      ['https://s3.us-east-2.amazonaws.com/my-bucket/k', { bucket: 'my-bucket', key: 'k', region: 'us-east-2', style: 'path' }],
      ['https://s3-eu-west-1.amazonaws.com/my-bucket/k', { bucket: 'my-bucket', key: 'k', region: 'eu-west-1', style: 'path' }],
      ['https://s3-external-1.amazonaws.com/my-bucket/k', { bucket: 'my-bucket', key: 'k', region: 'us-east-1', style: 'path' }],
      ['https://s3.cn-north-1.amazonaws.com.cn/my-bucket/k', { bucket: 'my-bucket', key: 'k', region: 'cn-north-1', style: 'path' }],
      ['https://my-bucket.s3.cn-northwest-1.amazonaws.com.cn/k', { bucket: 'my-bucket', key: 'k', region: 'cn-northwest-1', style: 'virtual' }],
      ['https://s3.amazonaws.com/', { key: '', region: 'us-east-1', style: 'path' }],
      ['https://s3-external-2.amazonaws.com/b/k', { bucket: 'b', key: 'k', region: 'us-east-1', style: 'path' }],
      ['https://b.s3.us-gov-east-1.amazonaws.com/k', { bucket: 'b', key: 'k', region: 'us-gov-east-1', style: 'virtual' }],
      ['https://b.s3.us-iso-east-1.c2s.ic.gov/k', { bucket: 'b', key: 'k', region: 'us-iso-east-1', style: 'virtual' }],
      ['https://s3.us-isob-east-1.sc2s.sgov.gov/b/k', { bucket: 'b', key: 'k', region: 'us-isob-east-1', style: 'path' }],
      ['https://b.s3.eu-isoe-west-1.cloud.adc-e.uk/k', { bucket: 'b', key: 'k', region: 'eu-isoe-west-1', style: 'virtual' }],
      ['https://s3.us-isof-south-1.csp.hci.ic.gov/b/k', { bucket: 'b', key: 'k', region: 'us-isof-south-1', style: 'path' }],
      ['https://b.s3.eusc-de-east-1.amazonaws.eu/k', { bucket: 'b', key: 'k', region: 'eusc-de-east-1', style: 'virtual' }],
      ['https://s3.amazonaws.com.cn/b/k', { bucket: 'b', key: 'k', region: 'cn-northwest-1', style: 'path' }],
      ['https://b.s3.cn-north-1.amazonaws.com/k', undefined],
      ['https://b.s3.eu-west-1.amazonaws.eu/k', undefined],
      ['https://b.s3.us-east-1.c2s.ic.gov/k', undefined],
      ['https://example.com/my-bucket/k', undefined],
      ['https://ec2.us-east-1.amazonaws.com/x', undefined],
      ['https://my-bucket.s3-website-us-east-1.amazonaws.com/index.html', undefined],
      ['ftp://s3.amazonaws.com/b/k', undefined],
    ];
    for (const [url, want] of cases) {
      it(`${url} → ${want ? `${want.style} ${want.bucket ?? '(none)'} in ${want.region}` : 'not S3'}`, () => {
        assert.deepEqual(parseS3Url(url), want);
      });
    }

    it('recognises the endpoint table\'s hosts, path and virtual-host style, on their port', () => {
      const table = [{ hostname: '127.0.0.1:9000', region: 'RegionOne' }];
      assert.deepEqual(parseS3Url('http://127.0.0.1:9000/b/k/x', table), { bucket: 'b', key: 'k/x', region: 'RegionOne', style: 'path' });
      assert.deepEqual(parseS3Url('http://b.s3.local:9000/k', [{ hostname: 's3.local:9000', region: 'r1' }]), { bucket: 'b', key: 'k', region: 'r1', style: 'virtual' });
      assert.equal(parseS3Url('http://127.0.0.1:9001/b/k', table), undefined, 'another port is another endpoint');
      assert.equal(parseS3Url('http://evils3.local:9000/b/k', [{ hostname: 's3.local:9000', region: 'r1' }]), undefined, 'a host only ending in the name is not it');
    });
  });

  describe('downloads', () => {
    let server: TestServer;
    let tmp: string;
    afterEach(async () => {
      await server?.close();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** Answers `/private...` only with Basic alice:s3cret-pw; everything else is public. */
    async function basicServer(): Promise<TestServer> {
      return startServer((req, res) => {
        const expected = `Basic ${Buffer.from('alice:s3cret-pw').toString('base64')}`;
        if (req.url.startsWith('/private') && req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="x"', 'content-type': 'text/html' });
          return void res.end('<html><body>401 Authorization Required</body></html>');
        }
        if (req.url.startsWith('/missing')) {
          res.writeHead(404, { 'content-type': 'text/html' });
          return void res.end('<html>Not Found</html>');
        }
        res.end(`body of ${req.url}`);
      });
    }

    it('GETs without authentication when no block applies', async () => {
      server = await basicServer();
      const { d } = downloader(undefined);
      assert.equal((await d.fetch(`${server.url}/public/a.txt`)).toString(), 'body of /public/a.txt');
      assert.equal(server.requests[0].headers.authorization, undefined);
    });

    it('an HTTP error is an error naming the (redacted) URL and status, never content', async () => {
      server = await basicServer();
      const { d } = downloader(undefined);
      const url = `${server.url}/missing/x?X-Amz-Signature=deadbeefcafe`;
      await assert.rejects(d.fetch(url), (e: unknown) => {
        assert.ok(e instanceof DownloadError);
        assert.equal(e.status, 404);
        assert.match(e.message, /cannot download http:\/\/127\.0\.0\.1:\d+\/missing\/x\?X-Amz-Signature=<redacted>: HTTP 404/);
        assert.ok(!e.message.includes('deadbeefcafe'));
        return true;
      });
    });

    it('basic: 401 without a matching block (with a hint), the header when uris match by prefix', async () => {
      server = await basicServer();
      const auth = { web: { type: 'basic', username: 'alice', password: 's3cret-pw', uris: [`${server.url}/private`] } };
      const { d, logger } = downloader(auth);
      assert.equal((await d.fetch(`${server.url}/private/app.conf`)).toString(), 'body of /private/app.conf');
      await assert.rejects(d.fetch(`${server.url}/privateer/x`), (e: unknown) => e instanceof DownloadError && e.status === 401 && /no AWS::CloudFormation::Authentication block applies/.test(e.message));
      assert.equal(server.requests.at(-1)!.headers.authorization, undefined, 'not sent outside the prefix');
      const { d: none } = downloader(undefined);
      await assert.rejects(none.fetch(`${server.url}/private/app.conf`), /HTTP 401/);
      assert.ok(!logger.lines.join('\n').includes('s3cret-pw'));
    });

    it('basic: the aws-cfn-bootstrap host:port form of uris matches', async () => {
      server = await basicServer();
      const { d } = downloader({ web: { type: 'basic', username: 'alice', password: 's3cret-pw', uris: [`127.0.0.1:${server.port}`] } });
      assert.equal((await d.fetch(`${server.url}/private/x`)).toString(), 'body of /private/x');
    });

    it('basic: a block named explicitly is used whatever its uris', async () => {
      server = await basicServer();
      const { d } = downloader({ web: { type: 'basic', username: 'alice', password: 's3cret-pw', uris: ['elsewhere.example'] } });
      await assert.rejects(d.fetch(`${server.url}/private/x`), /HTTP 401/);
      assert.equal((await d.fetch(`${server.url}/private/x`, { authentication: 'web' })).toString(), 'body of /private/x');
      await assert.rejects(d.fetch(`${server.url}/x`, { authentication: 'nope' }), /no AWS::CloudFormation::Authentication block named "nope"/);
    });

    it('basic: the most specific of several matching blocks wins', async () => {
      server = await basicServer();
      const { d } = downloader({
        wide: { type: 'basic', username: 'bob', password: 'wrong-pw', uris: [server.url] },
        narrow: { type: 'basic', username: 'alice', password: 's3cret-pw', uris: [`${server.url}/private`] },
      });
      assert.equal((await d.fetch(`${server.url}/private/x`)).toString(), 'body of /private/x');
    });

    it('reads local paths (sources) and refuses relative ones and other schemes', async () => {
      tmp = tempDir('cfntools-auth');
      const f = path.join(tmp, 'a.tgz');
      fs.writeFileSync(f, 'bytes');
      const { d } = downloader(undefined);
      assert.equal((await d.fetch(f)).toString(), 'bytes');
      await assert.rejects(d.fetch(path.join(tmp, 'missing.tgz')), /cannot read .*missing\.tgz: no such file/);
      await assert.rejects(d.fetch('relative.tgz'), /not an absolute path or a URL/);
      await assert.rejects(d.fetch('ftp://127.0.0.1/x.tgz'), /unsupported URL scheme ftp:/);
    });

    describe('S3 (SigV4)', () => {
      const AKID = 'AKIDS3TEST0000000001';
      const SECRET = 'S3/Test+Secret=Key-0001';
      let imds: FakeImds | undefined;
      afterEach(async () => {
        await imds?.close();
        imds = undefined;
      });

      /** A fake S3 holding `/bucket/key` objects that verifies SigV4 the way S3 does (header form, s3 scope, payload hash). */
      async function fakeS3(keys: Record<string, { secret: string; token?: string }>, objects: Record<string, string>, opts: { etag?: (body: string) => string; first?: (req: RecordedRequest, res: http.ServerResponse) => boolean } = {}): Promise<TestServer> {
        return startServer((req, res) => {
          if (opts.first?.(req, res)) return;
          const why = verifyS3(req, keys);
          if (why) {
            res.writeHead(403, { 'content-type': 'application/xml' });
            return void res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${why}</Message></Error>`);
          }
          const body = objects[req.url.split('?')[0]];
          if (body === undefined) {
            res.writeHead(404, { 'content-type': 'application/xml' });
            return void res.end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
          }
          res.writeHead(200, { etag: opts.etag ? opts.etag(body) : `"${createHash('md5').update(body).digest('hex')}"` });
          res.end(body);
        });
      }

      it('signs with static keys for a bucket listed in buckets: Credential scope /<region>/s3/aws4_request, x-amz-content-sha256', async () => {
        server = await fakeS3({ [AKID]: { secret: SECRET } }, { '/app-bucket/releases/app.tgz': 'tarball', '/other-bucket/x': 'x' });
        const { d, logger } = downloader(
          { s3: { type: 'S3', accessKeyId: AKID, secretKey: SECRET, buckets: ['app-bucket'] } },
          { s3Hosts: [{ hostname: new URL(server.url).host, region: 'us-west-2' }] },
        );
        assert.equal((await d.fetch(`${server.url}/app-bucket/releases/app.tgz`)).toString(), 'tarball');
        const req = server.requests[0];
        assert.match(String(req.headers.authorization), new RegExp(`^AWS4-HMAC-SHA256 Credential=${AKID}/\\d{8}/us-west-2/s3/aws4_request, SignedHeaders=[^,]*x-amz-content-sha256`));
        assert.equal(req.headers['x-amz-content-sha256'], createHash('sha256').update('').digest('hex'));
        // A bucket no block lists goes unsigned, and S3's refusal is reported with its code.
        await assert.rejects(d.fetch(`${server.url}/other-bucket/x`), (e: unknown) => e instanceof DownloadError && e.status === 403 && /AccessDenied: missing Authorization/.test(e.message));
        assert.equal(server.requests[1].headers.authorization, undefined);
        assert.ok(!logger.lines.join('\n').includes(SECRET));
      });

      it('a wrong secret is refused by the verifier (the check can fail)', async () => {
        server = await fakeS3({ [AKID]: { secret: SECRET } }, { '/b/k': 'x' });
        const { d } = downloader({ s3: { type: 'S3', accessKeyId: AKID, secretKey: 'not-the-secret', buckets: ['b'] } }, { s3Hosts: [{ hostname: new URL(server.url).host, region: 'us-west-2' }] });
        await assert.rejects(d.fetch(`${server.url}/b/k`), /HTTP 403 AccessDenied: signature mismatch/);
      });

      it('an S3 block named for a URL that is not S3 is an error, not a guess at the region', async () => {
        server = await fakeS3({}, {});
        const { d } = downloader({ s3: { type: 'S3', accessKeyId: AKID, secretKey: SECRET } });
        await assert.rejects(d.fetch(`${server.url}/b/k`, { authentication: 's3' }), /not an S3 URL/);
        assert.equal(server.requests.length, 0);
      });

      it('roleName: credentials from the metadata service (IMDSv2), session token sent, cached across downloads', async () => {
        const doc = roleDocument(new Date(Date.now() + 6 * 3600_000));
        imds = await startFakeImds({ tokens: 'required', roles: { 'web-role': doc } });
        server = await fakeS3({ [doc.AccessKeyId!]: { secret: doc.SecretAccessKey!, token: doc.Token } }, { '/b/one': '1', '/b/two': '2' });
        const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url };
        const { d, logger } = downloader({ s3: { type: 'S3', roleName: 'web-role', buckets: 'b' } }, { env, imds: new ImdsClient({ env }), s3Hosts: [{ hostname: new URL(server.url).host, region: 'RegionOne' }] });
        assert.equal((await d.fetch(`${server.url}/b/one`)).toString(), '1');
        assert.equal((await d.fetch(`${server.url}/b/two`)).toString(), '2');
        assert.equal(server.requests[0].headers['x-amz-security-token'], doc.Token);
        assert.match(String(server.requests[1].headers.authorization), /Credential=ASIAROLEKEY1\/\d{8}\/RegionOne\/s3\/aws4_request/);
        assert.equal(imds.count('GET', `${ROLE_PATH}web-role`), 1, 'role credentials cached until shortly before they expire');
        const logged = logger.lines.join('\n');
        assert.ok(!logged.includes(doc.SecretAccessKey!) && !logged.includes(doc.Token!));
      });

      it('roleName with the metadata service disabled fails clearly without sending the download', async () => {
        server = await fakeS3({}, { '/b/k': 'x' });
        const { d } = downloader({ s3: { type: 'S3', roleName: 'web-role', buckets: 'b' } }, { env: { AWS_EC2_METADATA_DISABLED: 'true' }, s3Hosts: [{ hostname: new URL(server.url).host, region: 'r' }] });
        await assert.rejects(d.fetch(`${server.url}/b/k`), /instance role web-role.*disabled/);
        assert.equal(server.requests.length, 0);
      });

      it('signs again for the region S3 names when it refuses ours (global endpoint, bucket elsewhere)', async () => {
        let refused = false;
        server = await fakeS3({ [AKID]: { secret: SECRET } }, { '/b/k': 'moved' }, {
          first: (req, res) => {
            if (refused || !String(req.headers.authorization).includes('/us-west-2/')) return false;
            refused = true;
            res.writeHead(400, { 'content-type': 'application/xml' });
            res.end("<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-west-2' is wrong; expecting 'eu-west-3'</Message></Error>");
            return true;
          },
        });
        const { d } = downloader({ s3: { type: 'S3', accessKeyId: AKID, secretKey: SECRET, buckets: ['b'] } }, { s3Hosts: [{ hostname: new URL(server.url).host, region: 'us-west-2' }] });
        assert.equal((await d.fetch(`${server.url}/b/k`)).toString(), 'moved');
        assert.match(String(server.requests[1].headers.authorization), /\/eu-west-3\/s3\/aws4_request/);
      });

      it('checks the body against an MD5 ETag, retrying, then failing', async () => {
        server = await fakeS3({ [AKID]: { secret: SECRET } }, { '/b/k': 'content' }, { etag: () => `"${'0'.repeat(32)}"` });
        const { d } = downloader({ s3: { type: 'S3', accessKeyId: AKID, secretKey: SECRET, buckets: ['b'] } }, { s3Hosts: [{ hostname: new URL(server.url).host, region: 'r' }] });
        await assert.rejects(d.fetch(`${server.url}/b/k`), /does not match its ETag .* after 3 attempts/);
        assert.equal(server.requests.length, 3);
        await server.close();
        // A multipart ETag is not an MD5 and is not checked.
        server = await fakeS3({ [AKID]: { secret: SECRET } }, { '/b/k': 'content' }, { etag: () => '"abc-2"' });
        const { d: d2 } = downloader({ s3: { type: 'S3', accessKeyId: AKID, secretKey: SECRET, buckets: ['b'] } }, { s3Hosts: [{ hostname: new URL(server.url).host, region: 'r' }] });
        assert.equal((await d2.fetch(`${server.url}/b/k`)).toString(), 'content');
      });
    });
  });
});

/**
 * S3's SigV4 check, written from the spec independently of shared/sigv4.ts:
 * undefined when valid, else why not.
 */
function verifyS3(req: RecordedRequest, keys: Record<string, { secret: string; token?: string }>): string | undefined {
  const auth = req.headers.authorization;
  if (!auth) return 'missing Authorization';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'malformed Authorization';
  const [, akid, day, region, service, signedHeaders, signature] = m;
  if (service !== 's3') return `service ${service} is not s3`;
  const key = keys[akid];
  if (!key) return 'unknown access key';
  const payload = req.headers['x-amz-content-sha256'];
  if (payload !== createHash('sha256').update(req.body).digest('hex')) return 'missing or wrong x-amz-content-sha256';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-content-sha256') || !names.includes('x-amz-date')) return 'required headers not signed';
  if (key.token !== undefined && (req.headers['x-amz-security-token'] !== key.token || !names.includes('x-amz-security-token'))) return 'missing session token';
  const date = String(req.headers['x-amz-date']);
  if (!date.startsWith(day)) return 'date mismatch';
  const [rawPath, query = ''] = req.url.split('?');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((p) => p.split('='))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v = '']) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = ['GET', rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payload].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secret}`, day), region), 's3'), 'aws4_request');
  return createHmac('sha256', signingKey).update(toSign).digest('hex') === signature ? undefined : 'signature mismatch';
}
