import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDownloader } from '../../shared/init/auth';
import { isGitHubArchiveUrl, SourceError, sourcesHandler, type SourcesSpec } from '../../shared/init/handlers/sources';
import type { Downloader } from '../../shared/init/handlers/types';
import { Problems } from '../../shared/init/validation';
import { HttpClient } from '../../shared/http';
import { startServer, type TestServer } from '../support/server';
import { listTree, makeTree, pyTar, tarOf, zipOf } from './support/archives';
import { applyKey, handlerContext, mapDownloader, tempDir, TestSystem, validate, validationContext } from './support/handler-harness';

describe('cfn-init sources', () => {
  let tmp: string;
  let src: string;
  let server: TestServer | undefined;
  const system = new TestSystem(process.env);
  /** Archive bytes by URL path, served with a content type that says nothing. */
  let served: Record<string, Buffer>;

  beforeEach(async () => {
    tmp = tempDir('cfntools-sources');
    src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    served = {};
    server = await startServer((req, res) => {
      const body = served[req.url];
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return void res.end('not found');
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body);
    });
  });
  afterEach(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const realDownloader = (auth?: unknown) => {
    const problems = new Problems();
    const http = new HttpClient({ transport: { env: {} }, sleep: async () => undefined });
    const d = createDownloader(auth, { http: () => http, problems });
    assert.ok(problems.ok, JSON.stringify(problems.list));
    return d;
  };
  const ctx = (downloader: Downloader = realDownloader()) => handlerContext({ env: process.env, system, downloader });

  describe('validation', () => {
    const cases: [string, unknown, string, RegExp][] = [
      ['not an object', 'http://h/a.tgz', 'config.sources', /expected an object/],
      ['a relative target', { 'srv/app': 'http://h/a.tgz' }, 'config.sources.srv/app', /absolute/],
      ['a URL that is not a string', { '/srv/app': ['http://h/a.tgz'] }, 'config.sources./srv/app', /expected a string/],
      ['an empty source', { '/srv/app': '' }, 'config.sources./srv/app', /got ""/],
      ['an ftp URL', { '/srv/app': 'ftp://h/a.tgz' }, 'config.sources./srv/app', /only http:\/\/ and https:\/\//],
      ['a relative local path', { '/srv/app': 'a.tgz' }, 'config.sources./srv/app', /absolute path/],
      ['a Windows target', { 'C:\\inetpub\\app': 'http://h/a.zip' }, 'config.sources.C:\\inetpub\\app', /^a Windows path: Windows is not supported on Linux$/],
      ['a Windows archive path', { '/srv/app': 'c:\\cfn\\a.zip' }, 'config.sources./srv/app', /^a Windows path: Windows is not supported on Linux$/],
    ];
    for (const [what, raw, at, message] of cases) {
      it(`reports ${what} at ${at}`, () => {
        const { spec, problems } = validate(sourcesHandler, raw, validationContext(system));
        assert.equal(spec, undefined);
        const hit = problems.find((p) => p.path === at);
        assert.ok(hit, JSON.stringify(problems));
        assert.match(hit.message, message);
      });
    }

    it('returns the sources sorted by target directory', () => {
      const { spec, problems } = validate(sourcesHandler, { '/srv/b': 'https://h/b.zip', '/srv/a': '/var/tmp/a.tgz' }, validationContext(system));
      assert.deepEqual(problems, []);
      assert.deepEqual(spec!.map((s) => [s.dir, s.source]), [['/srv/a', '/var/tmp/a.tgz'], ['/srv/b', 'https://h/b.zip']]);
    });

    it('plans one action per directory with a redacted summary', async () => {
      const spec: SourcesSpec = [{ dir: '/srv/a', source: 'https://h/a.tgz?X-Amz-Signature=abcdef123', keyPath: 'config.sources./srv/a' }];
      const [a] = await sourcesHandler.plan(spec, ctx());
      assert.equal(a.summary, 'extract https://h/a.tgz?X-Amz-Signature=<redacted> into /srv/a');
      assert.deepEqual(a.changes, [{ key: 'sources', name: '/srv/a' }]);
    });
  });

  describe('extraction', () => {
    it('downloads archives of every format from URLs without extensions, recognising them by content', async () => {
      makeTree(src, { 'conf/app.ini': '[app]\n', 'bin/run': { content: '#!/bin/sh\n', mode: 0o755 } });
      served['/dl?id=1'] = tarOf(src, path.join(tmp, 'a.tgz'), 'z');
      served['/dl?id=2'] = tarOf(src, path.join(tmp, 'a.tbz2'), 'j');
      served['/dl?id=3'] = tarOf(src, path.join(tmp, 'a.txz'), 'J');
      served['/dl?id=4'] = zipOf(src, path.join(tmp, 'a.zip'));
      served['/dl?id=5'] = tarOf(src, path.join(tmp, 'a.tar'));
      const raw = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [path.join(tmp, `out${i}`), `${server!.url}/dl?id=${i}`]));
      const c = ctx();
      await applyKey(sourcesHandler, raw, c);
      for (let i = 1; i <= 5; i++) {
        const out = path.join(tmp, `out${i}`);
        assert.deepEqual(listTree(out), ['bin/', 'bin/run', 'conf/', 'conf/app.ini'], `out${i}`);
        assert.equal(fs.statSync(path.join(out, 'bin/run')).mode & 0o777, 0o755);
        assert.ok(c.changes.sources.has(out));
      }
      assert.match(c.logger.lines.join('\n'), /extracted http:\/\/127\.0\.0\.1:\d+\/dl\?id=3 \(tar\.xz\) into .*out3: \d+ entries, \d+ written/);
    });

    it('a second run over an unchanged target is not a change (aws-cfn-bootstrap always reports one)', async () => {
      makeTree(src, { 'a.txt': 'a' });
      served['/a.tgz'] = tarOf(src, path.join(tmp, 'a.tgz'), 'z');
      const out = path.join(tmp, 'out');
      await applyKey(sourcesHandler, { [out]: `${server!.url}/a.tgz` }, ctx());
      const again = ctx();
      await applyKey(sourcesHandler, { [out]: `${server!.url}/a.tgz` }, again);
      assert.equal(again.changes.sources.size, 0);
      fs.writeFileSync(path.join(out, 'a.txt'), 'edited');
      const third = ctx();
      await applyKey(sourcesHandler, { [out]: `${server!.url}/a.tgz` }, third);
      assert.ok(third.changes.sources.has(out));
      assert.equal(fs.readFileSync(path.join(out, 'a.txt'), 'utf8'), 'a');
    });

    it('extracts a local archive path', async () => {
      makeTree(src, { 'x/y.txt': 'local' });
      const archive = path.join(tmp, 'local.zip');
      zipOf(src, archive);
      const out = path.join(tmp, 'out');
      await applyKey(sourcesHandler, { [out]: archive }, ctx());
      assert.equal(fs.readFileSync(path.join(out, 'x/y.txt'), 'utf8'), 'local');
    });

    it('overwrites into an existing directory and never deletes what is there', async () => {
      makeTree(src, { 'a.txt': 'new' });
      served['/a.tar'] = tarOf(src, path.join(tmp, 'a.tar'));
      const out = path.join(tmp, 'out');
      makeTree(out, { 'a.txt': 'old', 'keep.txt': 'mine' });
      await applyKey(sourcesHandler, { [out]: `${server!.url}/a.tar` }, ctx());
      assert.equal(fs.readFileSync(path.join(out, 'a.txt'), 'utf8'), 'new');
      assert.equal(fs.readFileSync(path.join(out, 'keep.txt'), 'utf8'), 'mine');
    });

    it('an HTTP error fails the source with the URL and status; nothing is created', async () => {
      const out = path.join(tmp, 'out');
      await assert.rejects(applyKey(sourcesHandler, { [out]: `${server!.url}/files/SRC.TAR.GZ` }, ctx()), (e: unknown) => {
        assert.ok(e instanceof SourceError);
        assert.match(e.message, new RegExp(`^config\\.sources\\.${out.replace(/[/.]/g, '\\$&')}: .*SRC\\.TAR\\.GZ: cannot download .*HTTP 404`));
        return true;
      });
      assert.equal(fs.existsSync(out), false);
    });

    it('content that is not an archive (an HTML page) fails clearly', async () => {
      served['/page'] = Buffer.from('<html><body>Sign in</body></html>');
      await assert.rejects(applyKey(sourcesHandler, { [path.join(tmp, 'out')]: `${server!.url}/page` }, ctx()), /not a tar or zip archive/);
    });

    it('a hostile archive from a URL fails whole, writing nothing anywhere', async () => {
      served['/evil.tgz'] = pyTar(path.join(tmp, 'evil.tgz'), [{ name: 'fine.txt', type: 'file', data: 'ok' }, { name: '../escaped.txt', type: 'file', data: 'x' }], 'gz');
      const out = path.join(tmp, 'out');
      await assert.rejects(applyKey(sourcesHandler, { [out]: `${server!.url}/evil.tgz` }, ctx()), /"\.\.\/escaped\.txt" has "\.\." in its path/);
      assert.equal(fs.existsSync(out), false);
      assert.equal(fs.existsSync(path.join(tmp, 'escaped.txt')), false);
    });

    it('uses default authentication (uris) for archive downloads', async () => {
      makeTree(src, { 'p.txt': 'private' });
      const body = tarOf(src, path.join(tmp, 'p.tgz'), 'z');
      await server!.close();
      server = await startServer((req, res) => {
        if (req.headers.authorization !== `Basic ${Buffer.from('ci:t0ken-pw').toString('base64')}`) {
          res.writeHead(401);
          return void res.end('no');
        }
        res.end(body);
      });
      const out = path.join(tmp, 'out');
      await assert.rejects(applyKey(sourcesHandler, { [out]: `${server.url}/artifacts/p.tgz` }, ctx()), /HTTP 401/);
      const downloader = realDownloader({ ci: { type: 'basic', username: 'ci', password: 't0ken-pw', uris: [`${server.url}/artifacts`] } });
      await applyKey(sourcesHandler, { [out]: `${server.url}/artifacts/p.tgz` }, ctx(downloader));
      assert.equal(fs.readFileSync(path.join(out, 'p.txt'), 'utf8'), 'private');
    });
  });

  describe('GitHub archives', () => {
    it('recognises the archive URL forms', () => {
      for (const u of [
        'https://github.com/openstack/heat-cfntools/tarball/master',
        'https://github.com/o/r/zipball/v1.2',
        'HTTPS://GITHUB.COM/o/r/tarball/main',
        'https://github.com/o/r/archive/refs/heads/main.tar.gz',
        'https://github.com/o/r/archive/v1.0.zip',
        'https://codeload.github.com/o/r/tar.gz/refs/heads/main',
        'https://codeload.github.com/o/r/legacy.zip/main',
        'https://api.github.com/repos/o/r/tarball/main',
        'https://api.github.com/repos/o/r/zipball',
      ]) assert.ok(isGitHubArchiveUrl(u), u);
      for (const u of ['https://github.com/o/r/releases/download/v1/app.tgz', 'https://example.com/o/r/tarball/main', 'https://github.com/o/r/blob/main/x.tar.gz']) {
        assert.ok(!isGitHubArchiveUrl(u), u);
      }
    });

    it('strips the single top-level directory of a GitHub tarball and zipball, and only for GitHub URLs', async () => {
      makeTree(src, { 'o-r-1a2b3c4/README.md': '# r\n', 'o-r-1a2b3c4/src/main.c': 'int main;\n' });
      const tgz = pyTarFromTree();
      const zip = zipOf(src, path.join(tmp, 'gh.zip'));
      // No network: the downloader serves these URLs from memory.
      const downloader = mapDownloader({
        'https://github.com/o/r/tarball/main': tgz,
        'https://github.com/o/r/zipball/main': zip,
        'https://example.com/o/r/tarball/main': tgz,
      });
      const c = ctx(downloader);
      const [gh, ghZip, other] = ['gh', 'ghzip', 'other'].map((n) => path.join(tmp, n));
      await applyKey(sourcesHandler, { [gh]: 'https://github.com/o/r/tarball/main', [ghZip]: 'https://github.com/o/r/zipball/main', [other]: 'https://example.com/o/r/tarball/main' }, c);
      assert.deepEqual(listTree(gh), ['README.md', 'src/', 'src/main.c']);
      assert.deepEqual(listTree(ghZip), ['README.md', 'src/', 'src/main.c']);
      assert.deepEqual(listTree(other), ['o-r-1a2b3c4/', 'o-r-1a2b3c4/README.md', 'o-r-1a2b3c4/src/', 'o-r-1a2b3c4/src/main.c']);
      assert.match(c.logger.lines.join('\n'), /\(tar\.gz, top directory stripped\) into .*\/gh:/);

      function pyTarFromTree(): Buffer {
        // GitHub's tarballs are pax archives with a global header holding the commit id.
        return pyTar(
          path.join(tmp, 'gh.tgz'),
          [
            { name: 'o-r-1a2b3c4/', type: 'dir' },
            { name: 'o-r-1a2b3c4/README.md', type: 'file', data: '# r\n' },
            { name: 'o-r-1a2b3c4/src/', type: 'dir' },
            { name: 'o-r-1a2b3c4/src/main.c', type: 'file', data: 'int main;\n' },
          ],
          'gz',
          { comment: '1a2b3c4d5e6f' },
        );
      }
    });
  });
});
