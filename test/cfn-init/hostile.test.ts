/**
 * Hostile and broken input, one regression test per hole found by trying
 * the tools as an attacker would. Each test builds its hostile input itself
 * and fails without the fix it guards.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractArchive, UnsafeArchiveError, type ExtractOptions } from '../../shared/init/archive';
import { createDownloader } from '../../shared/init/auth';
import { filesHandler } from '../../shared/init/handlers/files';
import { sourcesHandler } from '../../shared/init/handlers/sources';
import { DEFAULT_LIMITS, parseLimits, type Limits } from '../../shared/init/limits';
import { renderTemplate } from '../../shared/init/mustache';
import { Problems } from '../../shared/init/validation';
import { DurableWriter } from '../../shared/durable-write';
import { LimitError, UsageError } from '../../shared/errors';
import { HttpClient } from '../../shared/http';
import { BUNDLE, runProcess, runTool, toolEnv } from '../support/cli';
import { startServer, type TestServer } from '../support/server';
import { listTree, pyTar, pyZip } from './support/archives';
import { applyKey, handlerContext, mapDownloader, tempDir, TestSystem, validate, validationContext } from './support/handler-harness';

const INIT = 'AWS::CloudFormation::Init';

describe('hostile and broken input', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = tempDir('cfntools-hostile');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const t = (...p: string[]) => path.join(tmp, ...p);
  const writer = () => new DurableWriter(t('journal'));
  const extract = (file: string, dest: string, opts: Partial<ExtractOptions> = {}) => extractArchive(file, dest, { writer: writer(), ...opts });
  const limits = (over: Partial<Limits>): Limits => ({ ...DEFAULT_LIMITS, ...over });

  describe('archives', () => {
    it('a symlink that climbs out through a symlink already in the target (pre -> ../outside, e -> pre/..) is refused; so is writing through one', async () => {
      fs.mkdirSync(t('outside'));
      fs.mkdirSync(t('dest'));
      fs.symlinkSync('../outside', t('dest', 'pre'));
      pyTar(t('a.tar'), [{ name: 'e', type: 'symlink', link: 'pre/..' }]);
      await assert.rejects(extract(t('a.tar'), t('dest')), (e: unknown) => e instanceof UnsafeArchiveError && /symlink "e" -> "pre\/\.\." points outside/.test(e.message));
      assert.deepEqual(fs.readdirSync(t('dest')), ['pre']);
      // As a tool that reads `..` textually left it: the next archive must not write through it.
      fs.symlinkSync('pre/..', t('dest', 'e'));
      pyTar(t('b.tar'), [{ name: 'e/ESCAPED.txt', type: 'file', data: 'x' }]);
      await assert.rejects(extract(t('b.tar'), t('dest')), (e: unknown) => e instanceof UnsafeArchiveError && /existing symlink that leads outside/.test(e.message));
      assert.equal(fs.existsSync(t('ESCAPED.txt')), false);
    });

    it('two sources keys naming the same directory (dest and dest/) cannot chain the escape in one run', async () => {
      fs.mkdirSync(t('outside'));
      fs.mkdirSync(t('dest'));
      fs.symlinkSync('../outside', t('dest', 'pre'));
      pyTar(t('a.tar'), [{ name: 'e', type: 'symlink', link: 'pre/..' }]);
      pyTar(t('b.tar'), [{ name: 'e/ESCAPED.txt', type: 'file', data: 'x' }]);
      const ctx = handlerContext({ env: process.env, downloader: mapDownloader({}) });
      await assert.rejects(applyKey(sourcesHandler, { [t('dest')]: t('a.tar'), [`${t('dest')}/`]: t('b.tar') }, ctx), /points outside/);
      assert.equal(fs.existsSync(t('ESCAPED.txt')), false);
      assert.deepEqual(fs.readdirSync(t('dest')), ['pre']);
    });

    it('a web of symlinks that would take exponential time to follow is refused at once', async function () {
      this.timeout(10_000);
      const entries = [{ name: 'real', type: 'dir' as const }];
      for (let i = 0; i < 20; i++) {
        const next = i === 19 ? 'real' : `l${i + 1}`;
        entries.push({ name: `l${i}`, type: 'symlink' as never, link: `${next}/../${next}/../${next}/../${next}` } as never);
      }
      pyTar(t('web.tar'), entries);
      const started = Date.now();
      await assert.rejects(extract(t('web.tar'), t('dest')), /more than 40 symlinks/);
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    });

    it('an archive that inflates past the size limit is refused, naming the limit, and nothing is written', async () => {
      execFileSync('truncate', ['-s', '20M', t('big')]);
      execFileSync('tar', ['czf', t('big.tgz'), '-C', tmp, 'big']);
      await assert.rejects(extract(t('big.tgz'), t('dest'), { limits: limits({ archiveSize: 8 * 1024 * 1024 }) }), (e: unknown) => e instanceof LimitError && e.limit === 'archive-size' && /--limit archive-size=/.test(e.message));
      assert.equal(fs.existsSync(t('dest')), false);
    });

    it('a zip bomb is refused from its central directory, before anything inflates', async () => {
      execFileSync('truncate', ['-s', '100M', t('zeros')]);
      execFileSync('zip', ['-q', '-9', t('bomb.zip'), 'zeros'], { cwd: tmp });
      assert.ok(fs.statSync(t('bomb.zip')).size < 200_000);
      await assert.rejects(extract(t('bomb.zip'), t('dest')), (e: unknown) => e instanceof LimitError && e.limit === 'archive-ratio');
      execFileSync('tar', ['czf', t('bomb.tgz'), '-C', tmp, 'zeros']);
      await assert.rejects(extract(t('bomb.tgz'), t('dest')), (e: unknown) => e instanceof LimitError && e.limit === 'archive-ratio');
      assert.equal(fs.existsSync(t('dest')), false);
    });

    it('too many entries, or entries too deep, are refused before anything is written', async () => {
      pyTar(t('many.tar'), Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, type: 'file' as const, data: 'x' })));
      await assert.rejects(extract(t('many.tar'), t('dest'), { limits: limits({ archiveEntries: 20 }) }), (e: unknown) => e instanceof LimitError && e.limit === 'archive-entries');
      pyTar(t('deep.tar'), [{ name: 'ok', type: 'file', data: 'x' }, { name: `${'d/'.repeat(200)}f`, type: 'file', data: 'x' }]);
      await assert.rejects(extract(t('deep.tar'), t('dest')), (e: unknown) => e instanceof LimitError && e.limit === 'archive-depth' && /201 directories deep/.test(e.message));
      assert.equal(fs.existsSync(t('dest')), false);
    });

    it('a member name the kernel cannot create (300 bytes) is refused before any member is extracted', async () => {
      pyTar(t('long.tar'), [{ name: 'first.txt', type: 'file', data: 'x' }, { name: 'n'.repeat(300), type: 'file', data: 'x' }]);
      await assert.rejects(extract(t('long.tar'), t('dest')), /has a name of 300 bytes; Linux allows 255/);
      assert.equal(fs.existsSync(t('dest')), false);
    });

    it('a zip member whose CRC-32 does not match is refused, and none of the archive is left', async () => {
      pyZip(t('ok.zip'), [{ name: 'a.txt', type: 'file', data: 'first member, intact' }, { name: 'b.txt', type: 'file', data: 'second member, to be damaged' }]);
      const zip = fs.readFileSync(t('ok.zip'));
      // pyZip stores members uncompressed: flip a byte of the second member's data.
      const at = zip.indexOf(Buffer.from('to be damaged'));
      zip[at] ^= 0x20;
      fs.writeFileSync(t('bad.zip'), zip);
      await assert.rejects(extract(t('bad.zip'), t('dest')), /zip entry "b\.txt" is corrupt: its CRC-32 is/);
      assert.deepEqual(fs.existsSync(t('dest')) ? listTree(t('dest')) : [], []);
    });

    it('a file with the right content but another mode is replaced, so a hard link to it elsewhere keeps its mode', async () => {
      fs.mkdirSync(t('dest'));
      fs.writeFileSync(t('dest', 'f'), 'same');
      fs.chmodSync(t('dest', 'f'), 0o600);
      fs.linkSync(t('dest', 'f'), t('elsewhere'));
      pyTar(t('a.tar'), [{ name: 'f', type: 'file', data: 'same', mode: 0o644 }]);
      await extract(t('a.tar'), t('dest'));
      assert.equal(fs.statSync(t('dest', 'f')).mode & 0o7777, 0o644);
      assert.equal(fs.statSync(t('elsewhere')).mode & 0o7777, 0o600);
    });
  });

  describe('files', () => {
    const system = new TestSystem(process.env);

    it('ids out of range (2^32 - 1 is "leave it", 2^32 does not fit) and NUL bytes in names are validation errors', () => {
      const { problems } = validate(
        filesHandler,
        { '/etc/a': { content: 'x', owner: '4294967296' }, '/etc/b': { content: 'x', owner: '4294967295' }, '/etc/c': { content: 'x', group: 'wheel\0x' } },
        validationContext(system),
      );
      assert.deepEqual(
        problems.map((p) => `${p.path}: ${p.message}`),
        [
          'config.files./etc/a.owner: user id 4294967296 is out of range (0 to 4294967294)',
          'config.files./etc/b.owner: user id 4294967295 is out of range (0 to 4294967294)',
          'config.files./etc/c.group: a group name cannot hold a NUL byte',
        ],
      );
    });

    it('a file name Linux cannot create is a validation error, so no file of the run is written', () => {
      // Bytes, not characters: 86 euro signs are 258 bytes; 63 of them (189 bytes) are a valid name.
      const files = { '/etc/ok': { content: 'x' }, [`/etc/${'€'.repeat(63)}`]: { content: 'x' }, [`/etc/${'n'.repeat(256)}`]: { content: 'x' }, [`/e/${'€'.repeat(86)}`]: { content: 'x' }, [`/${'d/'.repeat(2100)}f`]: { content: 'x' } };
      const { problems } = validate(filesHandler, files, validationContext(system));
      assert.deepEqual(problems.map((p) => p.message).sort(), ['cannot be created: a name of 256 bytes; Linux allows 255', 'cannot be created: a name of 258 bytes; Linux allows 255', 'cannot be created: a path of 4202 bytes; Linux allows 4095']);
    });

    it('a 250-character file name is written, with the other files of its key', async () => {
      const long = t('out', 'x'.repeat(250));
      await applyKey(filesHandler, { [t('out', 'a')]: { content: 'a' }, [long]: { content: 'long' } }, handlerContext({ env: process.env }));
      assert.equal(fs.readFileSync(long, 'utf8'), 'long');
      assert.equal(fs.readFileSync(t('out', 'a'), 'utf8'), 'a');
    });

    it('a Mustache template that explodes is stopped at its output limit, inline during validation and downloaded when applied', async () => {
      const bomb = '{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}xxxxxxxxxx{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}';
      const context = { l: Array.from({ length: 100 }, (_, i) => i) };
      assert.throws(() => renderTemplate(bomb, context, 'bomb', 1_000_000), (e: unknown) => e instanceof LimitError && e.limit === 'template-size');
      const { problems } = validate(filesHandler, { [t('a')]: { content: bomb, context } }, validationContext(system));
      assert.match(problems[0].message, /the output would be longer than 16777216 characters \(--limit template-size=\.\.\. raises it\)/);
      const ctx = handlerContext({ env: process.env, downloader: mapDownloader({ 'http://h/t': Buffer.from(bomb) }) });
      await assert.rejects(applyKey(filesHandler, { [t('b')]: { source: 'http://h/t', context } }, ctx), /longer than 16777216 characters/);
      assert.equal(fs.existsSync(t('b')), false);
    });
  });

  describe('downloads', () => {
    let server: TestServer;
    afterEach(() => server?.close());
    const downloader = (idleTimeoutMs: number, deadlineMs: number) =>
      createDownloader(undefined, { http: () => new HttpClient({ transport: { env: {} }, sleep: async () => undefined }), problems: new Problems(), idleTimeoutMs, deadlineMs });

    it('a server that accepts and sends nothing fails each attempt on the idle timeout, and the deadline ends the retries', async () => {
      server = await startServer(() => new Promise(() => undefined));
      const started = Date.now();
      await assert.rejects(downloader(200, 1500).fetch(`${server.url}/stall`), /no data for 200 ms/);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.ok(server.requests.length >= 2 && server.requests.length <= 8, `${server.requests.length} attempts`);
    });

    it('a server that drips a byte at a time is cut off by the deadline', async () => {
      server = await startServer((_req, res) => {
        res.writeHead(200, { 'content-length': '100000' });
        const drip = setInterval(() => res.write('x'), 50);
        res.on('close', () => clearInterval(drip));
      });
      const started = Date.now();
      await assert.rejects(downloader(1000, 1200).fetch(`${server.url}/drip`), /timed out/);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    });

    it('a body larger than allowed is refused as it arrives, not after', async () => {
      server = await startServer((_req, res) => {
        res.writeHead(200);
        res.end(Buffer.alloc(2 * 1024 * 1024));
      });
      await assert.rejects(downloader(1000, 5000).fetch(`${server.url}/big`, { maxBytes: 1024 * 1024, limitName: 'file-size' }), /larger than 1048576 bytes \(--limit file-size=SIZE raises it\)/);
      assert.equal(server.requests.length, 1, 'a limit is not retried');
    });
  });

  describe('limits on the command line', () => {
    it('parses sizes, counts and durations; refuses unknown names and bad values', () => {
      const l = parseLimits(['archive-size=20G', 'archive-entries=1000', 'download-idle=2m', 'file-size=512MiB', 'download-deadline=90s']);
      assert.equal(l.archiveSize, 20 * 1024 ** 3);
      assert.equal(l.archiveEntries, 1000);
      assert.equal(l.downloadIdle, 120_000);
      assert.equal(l.fileSize, 512 * 1024 ** 2);
      assert.equal(l.downloadDeadline, 90_000);
      assert.throws(() => parseLimits(['archive-sise=1G']), (e: unknown) => e instanceof UsageError && /unknown limit; one of metadata-depth/.test(e.message));
      assert.throws(() => parseLimits(['archive-size=lots']), /expected a positive size like 512M, 20G/);
      assert.throws(() => parseLimits(['archive-entries=0']), /expected a positive count/);
    });
  });

  describe('the CLI', () => {
    const env = (extra: NodeJS.ProcessEnv = {}) => toolEnv({ CFNTOOLS_HEAT_DIR: t('heat'), CFNTOOLS_CACHE_DIR: t('cache'), CFNTOOLS_STATE_DIR: t('state'), ...extra });
    const meta = (doc: unknown) => {
      fs.writeFileSync(t('meta.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
      return t('meta.json');
    };
    const cfnInit = (args: string[], extra: NodeJS.ProcessEnv = {}) => runTool('cfn-init', ['--log-file', t('cfn-init.log'), ...args], { env: env(extra) });

    it('metadata nested 5,000 deep is a clear error, for --dry-run too, never a stack overflow', async () => {
      const deep = `{"${INIT}": {"config": {"files": {"/tmp/x": {"content": ${'['.repeat(5000)}1${']'.repeat(5000)}}}}}}`;
      for (const args of [['--dry-run'], []]) {
        const r = await cfnInit([...args, meta(deep)]);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /nests deeper than 100 levels at AWS::CloudFormation::Init\.config\.files\.\/tmp\/x\.content\[0\]/);
        assert.doesNotMatch(r.stderr, /unexpected error|call stack/);
      }
      const sets = `{"${INIT}": {"configSets": {"default": ${'['.repeat(5000)}"c"${']'.repeat(5000)}}, "c": {}}}`;
      const r = await cfnInit(['--dry-run', meta(sets)]);
      assert.match(r.stderr, /nests deeper than 100 levels/);
    });

    it('a NUL byte in owner, group or runas is a validation error, not an unexpected error', async () => {
      const r = await cfnInit(['--dry-run', meta({ [INIT]: { config: { files: { '/tmp/x': { content: 'x', owner: 'ro\0ot' } }, commands: { a: { command: 'true', runas: 'ro\0ot' } } } } })]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /config\.files\.\/tmp\/x\.owner: a user name cannot hold a NUL byte/);
      assert.match(r.stderr, /config\.commands\.a\.runas: a user name cannot hold a NUL byte/);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    });

    it('an owner, group or runas that a program would read as an option (--service=files made getent list root first) is a validation error: nothing runs', async () => {
      const marker = t('ran-as');
      const doc = { [INIT]: { config: { files: { '/tmp/x': { content: 'x', group: '-g0' } }, commands: { a: { command: `id -u > ${marker}`, runas: '--service=files' } } } } };
      const r = await cfnInit([meta(doc)]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /config\.commands\.a\.runas: a user name cannot start with "-"/);
      assert.match(r.stderr, /config\.files\.\/tmp\/x\.group: a group name cannot start with "-"/);
      assert.ok(!fs.existsSync(marker), `the command ran as uid ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''}`);
    });

    it('secrets in AWS_* variables: not inherited by commands, and redacted from command output even when the metadata comes from a file', async () => {
      const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETKEY';
      const token = 'FQoGZXIvYXdzEBAaDSESSIONTOKENexample';
      // A command that finds them elsewhere still cannot print them.
      fs.writeFileSync(t('found.txt'), `found ${secret} ${token}\n`);
      const r = await cfnInit([meta({ [INIT]: { config: { commands: { leak: { command: `env; cat ${t('found.txt')}` } } } } })], { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token });
      assert.equal(r.status, 0, r.stderr);
      const cmdLog = fs.readFileSync(t('cfn-init-cmd.log'), 'utf8');
      assert.doesNotMatch(cmdLog, /AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)=/);
      assert.match(cmdLog, /found <redacted> <redacted>/);
      assert.ok(!cmdLog.includes(secret) && !cmdLog.includes(token), 'no secret in the command log');
    });

    describe('answers that are 200 but malformed', () => {
      let server: TestServer;
      let answer: { type: string; body: string };
      beforeEach(async () => {
        server = await startServer((_req, res) => {
          res.writeHead(200, { 'content-type': answer.type });
          res.end(answer.body);
        });
      });
      afterEach(() => server.close());
      const remote = () => ['-s', 'teststack', '-r', 'WebServer', '-u', `${server.url}/v1/`, '--access-key', 'AKIDEXAMPLE', '--secret-key', 'sk-secret'];
      const cases: Array<[string, { type: string; body: string }, RegExp]> = [
        ['truncated XML', { type: 'text/xml', body: '<DescribeStackResourceResponse><DescribeStackResourceResult><StackResourceDetail><Metadata>{"a": 1}</Meta' }, /not well-formed XML/],
        ['a StackResourceDetail that is a list', { type: 'application/json', body: '{"DescribeStackResourceResponse": {"DescribeStackResourceResult": {"StackResourceDetail": [1, 2]}}}' }, /StackResourceDetail is not an object/],
        ['Metadata that is a list', { type: 'application/json', body: '{"DescribeStackResourceResponse": {"DescribeStackResourceResult": {"StackResourceDetail": {"Metadata": [1]}}}}' }, /Metadata is not a JSON object/],
        // Quoted on one line: an answer cannot add lines to the error or the log.
        ['JSON cut short before lines that look like log lines', { type: 'application/json', body: '{"a":\nERROR [2026-01-01 00:00:00,000] forged\r\n' }, /^cfn-get-metadata: [^\n]*is not valid JSON: syntax error at offset \d+\n$/],
      ];
      for (const [what, body, message] of cases) {
        it(`${what}: cfn-get-metadata fails (not "null", exit 0); cfn-init falls back to its cache`, async () => {
          answer = body;
          const get = await runTool('cfn-get-metadata', [...remote(), '--log-file', t('get.log')], { env: env() });
          assert.equal(get.status, 1, get.stdout);
          assert.match(get.stderr, message);
          const cached = path.join(t('cache'), 'metadata', 'teststack.WebServer.json');
          fs.mkdirSync(path.dirname(cached), { recursive: true, mode: 0o700 });
          fs.writeFileSync(cached, JSON.stringify({ [INIT]: { config: { files: { [t('from-cache')]: { content: 'cached\n' } } } } }), { mode: 0o600 });
          const r = await cfnInit(remote());
          assert.equal(r.status, 0, r.stderr);
          assert.equal(fs.readFileSync(t('from-cache'), 'utf8'), 'cached\n');
          assert.match(fs.readFileSync(t('cfn-init.log'), 'utf8'), /using cached metadata/);
        });
      }
    });
  });

  it('SIGTERM stops a run with 143 and removes its unfinished download; SIGHUP does not stop it', async function () {
    this.timeout(20_000);
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000)); // then nothing: the run waits on it
    });
    try {
      fs.writeFileSync(t('m.json'), JSON.stringify({ [INIT]: { config: { sources: { [t('dest')]: `${server.url}/a.tgz` } } } }));
      const child = spawn(process.execPath, [BUNDLE, 'cfn-init', '--log-file', t('log'), t('m.json')], { env: toolEnv({ CFNTOOLS_STATE_DIR: t('state') }), stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const journal = t('state', 'journal');
      const downloads = () => (fs.existsSync(journal) ? fs.readdirSync(journal).filter((n) => n.endsWith('.download')) : []);
      while (!downloads().some((n) => fs.statSync(path.join(journal, n)).size > 0)) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(child.exitCode, null, 'still running after SIGHUP');
      child.kill('SIGTERM');
      const status = await new Promise((r) => child.once('close', (code) => r(code)));
      assert.equal(status, 143, stderr);
      assert.match(stderr, /cfn-init: stopped by SIGTERM/);
      assert.deepEqual(downloads(), []);
    } finally {
      await server.close();
    }
  });

  it('a bundle run never leaves a download behind in its journal directory', async () => {
    // A source that fails after downloading: the scratch file goes too.
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      res.end('not an archive');
    });
    try {
      const doc = { [INIT]: { config: { sources: { [t('dest')]: `${server.url}/a.tgz` } } } };
      fs.writeFileSync(t('m.json'), JSON.stringify(doc));
      const r = await runProcess([process.execPath, BUNDLE, 'cfn-init', '--log-file', t('log'), t('m.json')], { env: toolEnv({ CFNTOOLS_STATE_DIR: t('state') }) });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /not a tar or zip archive/);
      const journal = t('state', 'journal');
      assert.deepEqual(fs.existsSync(journal) ? fs.readdirSync(journal) : [], []);
    } finally {
      await server.close();
    }
  });
});
