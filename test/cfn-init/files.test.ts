import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDownloader } from '../../shared/init/auth';
import { decodeBase64, filesHandler, FileError, type FilesSpec } from '../../shared/init/handlers/files';
import { ChangeSet } from '../../shared/init/handlers/types';
import { UnknownPrincipalError } from '../../shared/init/principals';
import { Problems } from '../../shared/init/validation';
import { HttpClient } from '../../shared/http';
import { startServer, type TestServer } from '../support/server';
import { applyKey, handlerContext, mapDownloader, tempDir, TestSystem, validate, validationContext } from './support/handler-harness';

/** One client per downloader, built when first used (as cfn-init does). */
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

describe('cfn-init files', () => {
  let dir: string;
  const system = new TestSystem(process.env);
  const ctx = (extra: Parameters<typeof handlerContext>[0] = { env: process.env }) => handlerContext({ system, ...extra });
  beforeEach(() => {
    dir = tempDir('cfntools-files');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const f = (name: string) => path.join(dir, name);
  const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;

  describe('validation', () => {
    function problemsOf(raw: unknown, opts: { users?: string[]; groups?: string[]; auth?: string[] } = {}) {
      const vctx = validationContext(system, opts);
      vctx.authenticationNames = new Set(opts.auth ?? []);
      return validate(filesHandler, raw, vctx);
    }
    function expectProblem(raw: unknown, at: string, message: RegExp, opts?: { users?: string[]; groups?: string[]; auth?: string[] }): void {
      const { spec, problems } = problemsOf(raw, opts);
      assert.equal(spec, undefined, 'no spec when there are problems');
      const hit = problems.find((p) => p.path === at);
      assert.ok(hit, `no problem at ${at}; got ${JSON.stringify(problems)}`);
      assert.match(hit.message, message);
    }

    const cases: [string, unknown, string, RegExp][] = [
      ['files not an object', ['/etc/x'], 'config.files', /expected an object/],
      ['a relative path', { 'etc/x': { content: 'x' } }, 'config.files.etc/x', /absolute/],
      ['a directory path', { '/etc/x/': { content: 'x' } }, 'config.files./etc/x/', /not a file name/],
      ['a Windows path', { 'C:\\cfn\\cfn-hup.conf': { content: 'x' } }, 'config.files.C:\\cfn\\cfn-hup.conf', /^a Windows path: Windows is not supported on Linux$/],
      ['a UNC path', { '\\\\server\\share\\x': { content: 'x' } }, 'config.files.\\\\server\\share\\x', /^a Windows path/],
      ['an entry that is not an object', { '/etc/x': 'x' }, 'config.files./etc/x', /expected an object/],
      ['content and source', { '/etc/x': { content: 'x', source: 'http://h/x' } }, 'config.files./etc/x', /either content or source/],
      ['neither content nor source', { '/etc/x': { mode: '000644' } }, 'config.files./etc/x', /needs content or source/],
      ['null content', { '/etc/x': { content: null } }, 'config.files./etc/x.content', /got null/],
      ['a numeric mode', { '/etc/x': { content: 'x', mode: 644 } }, 'config.files./etc/x.mode', /quote it/],
      ['a non-octal mode', { '/etc/x': { content: 'x', mode: '0o644' } }, 'config.files./etc/x.mode', /octal digits/],
      ['a 7-digit mode', { '/etc/x': { content: 'x', mode: '0000644' } }, 'config.files./etc/x.mode', /up to 6 octal digits/],
      ['a directory mode', { '/etc/x': { content: 'x', mode: '040755' } }, 'config.files./etc/x.mode', /file type bits 40000/],
      ['an unknown encoding', { '/etc/x': { content: 'x', encoding: 'hex' } }, 'config.files./etc/x.encoding', /plain or base64/],
      ['malformed base64', { '/etc/x': { content: 'not*base64', encoding: 'base64' } }, 'config.files./etc/x.content', /malformed base64/],
      ['base64 without padding', { '/etc/x': { content: 'aGVsbG8', encoding: 'base64' } }, 'config.files./etc/x.content', /padding/],
      ['base64 JSON content', { '/etc/x': { content: { a: 1 }, encoding: 'base64' } }, 'config.files./etc/x.content', /base64 applies to string content/],
      ['base64 with a source', { '/etc/x': { source: 'http://h/x', encoding: 'base64' } }, 'config.files./etc/x.encoding', /written as downloaded/],
      ['base64 with a context', { '/etc/x': { content: 'eA==', encoding: 'base64', context: { a: 1 } } }, 'config.files./etc/x.content', /base64/],
      ['a context that is not an object', { '/etc/x': { content: 'x', context: 'a=b' } }, 'config.files./etc/x.context', /Mustache context/],
      ['a broken template', { '/etc/x': { content: 'a {{#s}} b', context: { s: true } } }, 'config.files./etc/x.content', /cannot render content as a Mustache template/],
      ['a source that is not http(s)', { '/etc/x': { source: 'file:///etc/passwd' } }, 'config.files./etc/x.source', /http:\/\/ or https:\/\//],
      ['an unknown owner', { '/etc/x': { content: 'x', owner: 'no-such-user-cfnt' } }, 'config.files./etc/x.owner', /no such user "no-such-user-cfnt"/],
      ['an unknown group', { '/etc/x': { content: 'x', group: 'no-such-group-cfnt' } }, 'config.files./etc/x.group', /no such group/],
      ['an empty owner', { '/etc/x': { content: 'x', owner: '' } }, 'config.files./etc/x.owner', /must not be empty/],
      ['an unknown authentication block', { '/etc/x': { source: 'http://h/x', authentication: 'nope' } }, 'config.files./etc/x.authentication', /no AWS::CloudFormation::Authentication block named "nope"/],
      ['a symlink without target', { '/etc/x': { mode: '120777' } }, 'config.files./etc/x', /needs content: the link target/],
      ['a symlink with an empty target', { '/etc/x': { mode: '120777', content: '' } }, 'config.files./etc/x.content', /must not be empty/],
      ['a symlink from a source', { '/etc/x': { mode: '120777', source: 'http://h/x' } }, 'config.files./etc/x.source', /target from content/],
      ['a symlink target that is not a string', { '/etc/x': { mode: '120777', content: { a: 1 } } }, 'config.files./etc/x.content', /expected a string/],
    ];
    for (const [what, raw, at, message] of cases) {
      it(`reports ${what} at ${at}`, () => {
        // `web` exists so that only the intended problem shows.
        expectProblem(raw, at, message, { auth: ['web'] });
      });
    }

    it('tolerates what aws-cfn-bootstrap never reads: unknown keys, authentication without a source, context on JSON content (the file is still written)', () => {
      const { spec, problems, tolerated } = problemsOf(
        { '/etc/x': { content: 'x', mdoe: '000644', authentication: 'nope' }, '/etc/y': { content: { a: 1 }, context: { a: 2 } } },
        { auth: ['web'] },
      );
      assert.deepEqual(problems, []);
      assert.deepEqual(tolerated, [
        { path: 'config.files./etc/x.mdoe', message: 'unknown key; expected one of content, source, encoding, mode, owner, group, authentication, context', tolerated: 'ignored' },
        { path: 'config.files./etc/x.authentication', message: 'only applies to source downloads', tolerated: 'ignored' },
        { path: 'config.files./etc/y.content', message: 'context is not applied to JSON content (give the content as a string to use a template)', tolerated: 'context ignored' },
      ]);
      assert.deepEqual(spec!.map((s) => [s.path, s.content?.toString(), s.mode, s.authentication]), [['/etc/x', 'x', undefined, undefined], ['/etc/y', '{"a": 1}', undefined, undefined]]);
    });

    it('accepts owners and groups that a config creates, and numeric ids', () => {
      const { spec, problems } = problemsOf({ '/etc/x': { content: 'x', owner: 'cfn-new-user', group: 'cfn-new-group' }, '/etc/y': { content: 'y', owner: 4242, group: '4243' } }, { users: ['cfn-new-user'], groups: ['cfn-new-group'] });
      assert.deepEqual(problems, []);
      assert.deepEqual(spec!.map((s) => [s.owner, s.group]), [[{ name: 'cfn-new-user' }, { name: 'cfn-new-group' }], [{ name: '4242' }, { name: '4243' }]]);
    });

    it('collects every problem at once and touches nothing', () => {
      const target = f('never/created.txt');
      const { problems } = problemsOf({ [target]: { content: 'x', mode: 'rw', owner: 'no-such-user-cfnt' }, 'rel': { content: 1 } });
      assert.equal(problems.length, 3);
      assert.equal(fs.existsSync(path.dirname(target)), false);
    });

    it('types the spec: sorted paths, decoded, rendered and serialised content, modes as numbers', () => {
      const { spec, problems } = problemsOf({
        '/z': { content: 'Zm9vAGJhcg==\n', encoding: 'base64' },
        '/a': { content: 'x', mode: '004755' },
        '/m': { content: { k: ['v', 1.5, true, null], 'é': 'ü' } },
        '/l': { content: '/etc/target', mode: '120644' },
        '/t': { content: 'Hi {{name}}', context: { name: 'you' } },
      });
      assert.deepEqual(problems, []);
      const byPath = Object.fromEntries(spec!.map((s) => [s.path, s]));
      assert.deepEqual(spec!.map((s) => s.path), ['/a', '/l', '/m', '/t', '/z']);
      assert.equal(byPath['/a'].mode, 0o4755);
      assert.deepEqual(byPath['/z'].content, Buffer.from('foo\0bar'));
      assert.equal(byPath['/m'].content!.toString(), '{"k": ["v", 1.5, true, null], "\\u00e9": "\\u00fc"}');
      assert.equal(byPath['/l'].kind, 'symlink');
      assert.equal(byPath['/l'].mode, undefined);
      assert.equal(byPath['/t'].content!.toString(), 'Hi you');
    });

    it('decodes base64 with line breaks (wrapped output of base64(1))', () => {
      assert.deepEqual(decodeBase64('aGVs\nbG8g\r\nd29y bGQ=\n'), Buffer.from('hello world'));
      assert.equal(typeof decodeBase64('aGVsbG8=x'), 'string');
    });
  });

  describe('plan', () => {
    it('one action for the whole key (one batch), a line per file, and the changes it makes', async () => {
      const vctx = validationContext(system);
      const spec = filesHandler.validate(
        { [f('a')]: { content: 'hello', mode: '000640', owner: 'root', group: 'root' }, [f('b')]: { source: 'http://127.0.0.1:1/b?Signature=topsecret' }, [f('c')]: { content: '/t', mode: '120777' } },
        'config.files',
        vctx,
      ) as FilesSpec;
      const actions = await filesHandler.plan(spec, ctx());
      assert.deepEqual(actions.map((a) => a.summary), ['write 3 files']);
      assert.deepEqual(actions[0].details, [
        `write ${f('a')} (5 bytes, mode 0640, owner root, group root)`,
        `write ${f('b')} (from http://127.0.0.1:1/b?Signature=<redacted>)`,
        `symlink ${f('c')} -> /t`,
      ]);
      assert.deepEqual(actions[0].changes, [f('a'), f('b'), f('c')].map((name) => ({ key: 'files', name })));
      assert.equal(fs.readdirSync(dir).length, 0, 'planning writes nothing');
    });
  });

  describe('writing', () => {
    it('writes content with mode, owner and group by name, creating parent directories', async () => {
      const p = f('a/b/plain.txt');
      const c = ctx();
      await applyKey(filesHandler, { [p]: { content: 'line1\nline2\n', mode: '000600', owner: 'nobody', group: 'nogroup' } }, c);
      assert.equal(fs.readFileSync(p, 'utf8'), 'line1\nline2\n');
      const st = fs.statSync(p);
      assert.equal(st.mode & 0o7777, 0o600);
      assert.equal(st.uid, 65534);
      assert.equal(st.gid, 65534);
      assert.ok(c.changes.files.has(p));
      assert.deepEqual(fs.readdirSync(path.dirname(p)), ['plain.txt'], 'no temp file left');
    });

    it('a new file without mode is 0644; a replaced one keeps its mode and owner', async () => {
      await applyKey(filesHandler, { [f('new')]: { content: 'x' } }, ctx());
      assert.equal(mode(f('new')), 0o644);
      fs.writeFileSync(f('old'), 'old');
      fs.chmodSync(f('old'), 0o640);
      fs.chownSync(f('old'), 65534, 65534);
      await applyKey(filesHandler, { [f('old')]: { content: 'new' } }, ctx());
      assert.equal(fs.readFileSync(f('old'), 'utf8'), 'new');
      assert.equal(mode(f('old')), 0o640);
      assert.equal(fs.statSync(f('old')).uid, 65534);
    });

    it('replaces atomically (a new inode) and reports an identical file as unchanged without rewriting it', async () => {
      const p = f('conf');
      fs.writeFileSync(p, 'old');
      const inode = fs.statSync(p).ino;
      const first = ctx();
      await applyKey(filesHandler, { [p]: { content: 'new', mode: '000644' } }, first);
      assert.notEqual(fs.statSync(p).ino, inode);
      assert.ok(first.changes.files.has(p));

      const newInode = fs.statSync(p).ino;
      const mtime = fs.statSync(p).mtimeMs;
      const second = ctx();
      await applyKey(filesHandler, { [p]: { content: 'new', mode: '000644' } }, second);
      assert.equal(fs.statSync(p).ino, newInode);
      assert.equal(fs.statSync(p).mtimeMs, mtime);
      assert.equal(second.changes.files.size, 0, 'an up-to-date file is not a change');
    });

    it('replaces a file whose content matches but mode or owner differ (a change); a hard link to the old one keeps its mode', async () => {
      const p = f('conf');
      fs.writeFileSync(p, 'same');
      fs.chmodSync(p, 0o600);
      fs.linkSync(p, f('elsewhere'));
      const c = ctx();
      await applyKey(filesHandler, { [p]: { content: 'same', mode: '000644', owner: 'nobody' } }, c);
      assert.notEqual(fs.statSync(p).ino, fs.statSync(f('elsewhere')).ino);
      assert.equal(mode(p), 0o644);
      assert.equal(fs.statSync(p).uid, 65534);
      assert.equal(mode(f('elsewhere')), 0o600);
      assert.equal(fs.statSync(f('elsewhere')).uid, 0);
      assert.ok(c.changes.files.has(p));
    });

    it('keeps setuid/setgid bits when an owner is set too (chown clears them)', async () => {
      await applyKey(filesHandler, { [f('suid')]: { content: '#!/bin/sh\n', mode: '006755', owner: 'nobody', group: 'nogroup' } }, ctx());
      assert.equal(mode(f('suid')), 0o6755);
      // Same content, owner differs: replaced, bits still there.
      fs.chownSync(f('suid'), 0, 0);
      await applyKey(filesHandler, { [f('suid')]: { content: '#!/bin/sh\n', mode: '006755', owner: 'nobody', group: 'nogroup' } }, ctx());
      assert.equal(mode(f('suid')), 0o6755);
      assert.equal(fs.statSync(f('suid')).uid, 65534);
    });

    it('writes base64 content as bytes, JSON content as Python json.dump, and "" as an empty file', async () => {
      const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
      await applyKey(
        filesHandler,
        {
          [f('bin')]: { content: bin.toString('base64'), encoding: 'base64' },
          [f('app.json')]: { content: { name: 'app', ports: [80, 443], tls: true, extra: null } },
          [f('empty')]: { content: '' },
        },
        ctx(),
      );
      assert.deepEqual(fs.readFileSync(f('bin')), bin);
      assert.equal(fs.readFileSync(f('app.json'), 'utf8'), '{"name": "app", "ports": [80, 443], "tls": true, "extra": null}');
      assert.equal(fs.statSync(f('empty')).size, 0);
    });

    it('renders Mustache: {{x}} HTML-escaped (chevron\'s set: & < > "), {{{x}}} raw, nested keys', async () => {
      const context = { v: '<a href="/x?y=1&z=2">it\'s</a>', db: { host: 'db.internal', port: 5432 } };
      await applyKey(filesHandler, { [f('t')]: { content: 'esc={{v}}\nraw={{{v}}}\namp={{& v}}\ndb={{db.host}}:{{db.port}}\nnone=[{{missing}}]\n', context } }, ctx());
      assert.equal(
        fs.readFileSync(f('t'), 'utf8'),
        'esc=&lt;a href=&quot;/x?y=1&amp;z=2&quot;&gt;it\'s&lt;/a&gt;\nraw=<a href="/x?y=1&z=2">it\'s</a>\namp=<a href="/x?y=1&z=2">it\'s</a>\ndb=db.internal:5432\nnone=[]\n',
      );
    });

    it('fails with the key path when the parent is a file or the path is a directory; nothing else changes', async () => {
      fs.writeFileSync(f('file'), 'x');
      await assert.rejects(applyKey(filesHandler, { [f('file/sub')]: { content: 'x' } }, ctx()), (e: unknown) => e instanceof FileError && e.message.startsWith(`config.files.${f('file/sub')}: `) && /not a directory/.test(e.message));
      fs.mkdirSync(f('adir'));
      await assert.rejects(applyKey(filesHandler, { [f('adir')]: { content: 'x' } }, ctx()), /is a directory/);
      assert.equal(fs.readFileSync(f('file'), 'utf8'), 'x');
    });

    it('an owner or group that an earlier step may create: accepted, noted in the plan, looked up before anything of the key is written', async () => {
      const vctx = validationContext(system, { createdBy: 'packages' });
      const spec = filesHandler.validate({ [f('a')]: { content: 'a' }, [f('b')]: { content: 'b', owner: 'cfntest-from-pkg', group: 'cfntest-from-pkg' } }, 'config.files', vctx) as FilesSpec;
      assert.deepEqual(vctx.problems.list, []);
      assert.deepEqual(spec[1].owner, { name: 'cfntest-from-pkg', after: 'packages' });
      const [action] = await filesHandler.plan(spec, ctx());
      assert.equal(
        action.details![1],
        `write ${f('b')} (1 bytes, owner cfntest-from-pkg, group cfntest-from-pkg); owner cfntest-from-pkg: looked up when the file is written, after packages; group cfntest-from-pkg: looked up when the file is written, after packages`,
      );
      await assert.rejects(action.apply({ ...ctx(), keyPath: 'config.files' }), (e: unknown) => e instanceof UnknownPrincipalError && e.message === `config.files.${f('b')}.owner: no such user "cfntest-from-pkg" (it was expected to exist after packages)`);
      assert.deepEqual(fs.readdirSync(dir), [], 'not even the file before it is written');
      // Without an earlier step that could create it, validation refuses it.
      const strict = validationContext(system);
      filesHandler.validate({ [f('b')]: { content: 'b', owner: 'cfntest-from-pkg' } }, 'config.files', strict);
      assert.deepEqual(strict.problems.list, [{ path: `config.files.${f('b')}.owner`, message: 'no such user "cfntest-from-pkg" on this machine, and no selected config creates it' }]);
    });

    it('an owner that a config was to create but that is missing when applying is an error', async () => {
      await assert.rejects(applyKey(filesHandler, { [f('x')]: { content: 'x', owner: 'cfn-never-created' } }, ctx(), { users: ['cfn-never-created'] }), /no such user "cfn-never-created"/);
      assert.equal(fs.existsSync(f('x')), false);
    });
  });

  describe('symlinks (mode 120xxx)', () => {
    it('creates the link, never chmods through it, and is idempotent', async () => {
      fs.writeFileSync(f('target'), 'secret');
      fs.chmodSync(f('target'), 0o600);
      const c = ctx();
      await applyKey(filesHandler, { [f('link')]: { content: f('target'), mode: '120000' } }, c);
      assert.equal(fs.readlinkSync(f('link')), f('target'));
      assert.equal(mode(f('target')), 0o600, 'the target keeps its mode (aws-cfn-bootstrap would make it 0000)');
      assert.ok(c.changes.files.has(f('link')));
      const again = ctx();
      await applyKey(filesHandler, { [f('link')]: { content: f('target'), mode: '120000' } }, again);
      assert.equal(again.changes.files.size, 0);
    });

    it('retargets an existing link or replaces a file atomically; owner applies to the link itself', async () => {
      fs.writeFileSync(f('t1'), '1');
      fs.symlinkSync('old-target', f('link'));
      fs.writeFileSync(f('was-file'), 'x');
      await applyKey(
        filesHandler,
        { [f('link')]: { content: 't1', mode: '120777', owner: 'nobody', group: 'nogroup' }, [f('was-file')]: { content: 't1', mode: '120777' } },
        ctx(),
      );
      assert.equal(fs.readlinkSync(f('link')), 't1');
      assert.equal(fs.lstatSync(f('link')).uid, 65534);
      assert.equal(fs.statSync(f('t1')).uid, 0, 'lchown: the target is not chowned');
      assert.equal(fs.readlinkSync(f('was-file')), 't1');
      assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.tmp')));
    });

    it('a dangling target is fine (the link is what is asked for)', async () => {
      await applyKey(filesHandler, { [f('dangling')]: { content: '/nonexistent/cfntools', mode: '120644' } }, ctx());
      assert.equal(fs.readlinkSync(f('dangling')), '/nonexistent/cfntools');
    });
  });

  describe('sources (downloads)', () => {
    let server: TestServer;
    afterEach(() => server?.close());

    it('downloads, renders the context on the downloaded text, records the change', async () => {
      server = await startServer((req, res) => {
        if (req.url === '/tmpl') return void res.end('server={{host}} path={{path}}\n');
        res.writeHead(404);
        res.end('<html>Not Found</html>');
      });
      const c = ctx({ env: process.env, downloader: createDownloader(undefined, { http: once(() => new HttpClient({ transport: { env: {} } })), problems: new Problems() }) });
      await applyKey(filesHandler, { [f('app.conf')]: { source: `${server.url}/tmpl`, mode: '000640', context: { host: 'a&b', path: '/srv' } } }, c);
      assert.equal(fs.readFileSync(f('app.conf'), 'utf8'), 'server=a&amp;b path=/srv\n');
      assert.equal(mode(f('app.conf')), 0o640);
    });

    it('an HTTP error names the URL and status and writes nothing (heat-cfntools writes the error page)', async () => {
      server = await startServer((_req, res) => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      });
      const c = ctx({ env: process.env, downloader: createDownloader(undefined, { http: once(() => new HttpClient({ transport: { env: {} } })), problems: new Problems() }) });
      fs.writeFileSync(f('existing'), 'keep');
      await assert.rejects(
        applyKey(filesHandler, { [f('missing.txt')]: { source: `${server.url}/files/does-not-exist` } }, c),
        (e: unknown) => e instanceof FileError && e.message === `config.files.${f('missing.txt')}: cannot download ${server.url}/files/does-not-exist: HTTP 404: not found`,
      );
      assert.equal(fs.existsSync(f('missing.txt')), false);
      await assert.rejects(applyKey(filesHandler, { [f('existing')]: { source: `${server.url}/x` } }, c), /HTTP 404/);
      assert.equal(fs.readFileSync(f('existing'), 'utf8'), 'keep');
    });

    it('refuses to apply a context to a source that is not UTF-8', async () => {
      const c = ctx({ env: process.env, downloader: mapDownloader({ 'http://h/bin': Buffer.from([0xff, 0xfe, 0x00]) }) });
      await assert.rejects(applyKey(filesHandler, { [f('bin')]: { source: 'http://h/bin', context: { a: 1 } } }, c), /not UTF-8 text/);
    });

    it('passes the authentication block name to the downloader; basic auth against a server that requires it', async () => {
      server = await startServer((req, res) => {
        if (req.headers.authorization !== `Basic ${Buffer.from('deploy:pa55-word').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="files"' });
          return void res.end('401 Authorization Required');
        }
        res.end('secret config\n');
      });
      const auth = { creds: { type: 'basic', username: 'deploy', password: 'pa55-word', uris: ['unrelated.example'] } };
      const problems = new Problems();
      const downloader = createDownloader(auth, { http: once(() => new HttpClient({ transport: { env: {} } })), problems });
      assert.ok(problems.ok);
      const c = ctx({ env: process.env, downloader });
      await assert.rejects(applyKey(filesHandler, { [f('noauth')]: { source: `${server.url}/conf` } }, c), /HTTP 401/);
      const vctxAuth = { ...validationContext(system), authenticationNames: downloader.blockNames };
      const spec = filesHandler.validate({ [f('withauth')]: { source: `${server.url}/conf`, authentication: 'creds' } }, 'config.files', vctxAuth) as FilesSpec;
      assert.ok(vctxAuth.problems.ok);
      const changes = new ChangeSet();
      for (const a of await filesHandler.plan(spec, c)) await a.apply({ ...c, changes });
      assert.equal(fs.readFileSync(f('withauth'), 'utf8'), 'secret config\n');
      assert.equal(server.requests.length, 2);
      assert.equal(server.requests[0].headers.authorization, undefined);
    });
  });
});
