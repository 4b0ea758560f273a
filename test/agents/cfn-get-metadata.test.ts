import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseKeyPath, lookup } from '../../shared/key-path';
import { UsageError } from '../../shared/errors';
import { MetadataCache } from '../../shared/metadata-source';
import { runTool, toolEnv } from '../support/cli';
import { startServer, type TestServer } from '../support/server';

const META = { 'AWS::CloudFormation::Init': { config: {} }, foo: { bar: 'baz', 'dotted.key': [1, 2.5] }, unicode: 'café' };
const answerBody = JSON.stringify({ DescribeStackResourceResponse: { DescribeStackResourceResult: { StackResourceDetail: { LogicalResourceId: 'WebServer', Metadata: META } } } });

describe('cfn-get-metadata key paths', () => {
  it('splits on dots, keeps quoted segments and \\. escapes whole', () => {
    assert.deepEqual(parseKeyPath('foo.bar'), ['foo', 'bar']);
    assert.deepEqual(parseKeyPath("foo.'dotted.key'"), ['foo', 'dotted.key']);
    assert.deepEqual(parseKeyPath('foo.dotted\\.key.1'), ['foo', 'dotted.key', '1']);
  });
  it('rejects empty segments and unterminated quotes', () => {
    assert.throws(() => parseKeyPath('a..b'), UsageError);
    assert.throws(() => parseKeyPath("a.'b"), UsageError);
  });
  it('looks up objects by key and arrays by index, naming the first missing segment', () => {
    assert.deepEqual(lookup(META, ['foo', 'dotted.key', '1']), { found: true, value: 2.5 });
    assert.deepEqual(lookup(META, ['foo', 'nothere', 'x']), { found: false, missing: 'foo.nothere' });
    assert.deepEqual(lookup(META, ['foo', 'bar', 'x']), { found: false, missing: 'foo.bar.x' });
  });
});

describe('cfn-get-metadata', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(answerBody);
    });
  });
  after(() => server.close());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-gm-'));
    server.requests.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const env = (extra: NodeJS.ProcessEnv = {}) => toolEnv({ CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), ...extra });
  const common = () => ['-s', 'teststack', '-r', 'WebServer', '--log-file', path.join(dir, 'log'), '-u', `${server.url}/v1/`, '--access-key', 'AK', '--secret-key', 'sk-secret'];

  it('prints the whole metadata as Python\'s json.dumps would (heat-cfntools output)', async () => {
    const r = await runTool('cfn-get-metadata', common(), { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '{"AWS::CloudFormation::Init": {"config": {}}, "foo": {"bar": "baz", "dotted.key": [1, 2.5]}, "unicode": "caf\\u00e9"}\n');
    assert.equal(server.requests.length, 1);
  });

  it('prints one key; a missing key is exit 1 naming it', async () => {
    const r = await runTool('cfn-get-metadata', [...common(), '-k', 'foo.bar'], { env: env() });
    assert.equal(r.stdout, '"baz"\n');
    const miss = await runTool('cfn-get-metadata', [...common(), '-k', 'foo.nothere'], { env: env() });
    assert.equal(miss.status, 1);
    assert.equal(miss.stdout, '');
    assert.match(miss.stderr, /key foo\.nothere not found in the metadata of teststack\/WebServer/);
  });

  it('without credentials reads Heat\'s cfn-init-data, saying so in the log', async () => {
    fs.mkdirSync(path.join(dir, 'heat'));
    fs.writeFileSync(path.join(dir, 'heat', 'cfn-init-data'), JSON.stringify({ local: true }));
    const r = await runTool('cfn-get-metadata', ['-s', 'st', '-r', 'R', '--log-file', path.join(dir, 'log')], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '{"local": true}\n');
    assert.match(fs.readFileSync(path.join(dir, 'log'), 'utf8'), /WARNING .*using local metadata .*cfn-init-data/);
    assert.equal(server.requests.length, 0);
  });

  it('when the endpoint is down uses the last good copy of that resource', async () => {
    new MetadataCache(path.join(dir, 'cache')).write('teststack', 'WebServer', { cached: 1 });
    const args = common();
    args[args.indexOf('-u') + 1] = 'http://127.0.0.1:9/v1/';
    const r = await runTool('cfn-get-metadata', [...args, '--timeout', '1'], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '{"cached": 1}\n');
    assert.match(fs.readFileSync(path.join(dir, 'log'), 'utf8'), /endpoint unreachable, using cached metadata/);
  });

  it('an answer of 3,000 nested XML elements: one line naming the endpoint and the bound, exit 1', async () => {
    const deep = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(`${'<a>'.repeat(3000)}x${'</a>'.repeat(3000)}`);
    });
    try {
      const args = common().map((a) => (a === `${server.url}/v1/` ? `${deep.url}/v1/` : a));
      const r = await runTool('cfn-get-metadata', args, { env: env() });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^cfn-get-metadata: [^\n]*answer from http:\/\/127\.0\.0\.1:\d+\/v1\/\?[^\n]*: XML elements nest deeper than 64 levels[^\n]*\n$/);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    } finally {
      await deep.close();
    }
  });

  it('an answer with an external entity or an entity expansion: one line, exit 1', async () => {
    const laughs = Array.from({ length: 9 }, (_, i) => `<!ENTITY e${i + 1} "${`&e${i};`.repeat(10)}">`).join('');
    for (const body of [
      '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "lol">${laughs}]><r>&e9;</r>`,
    ]) {
      const hostile = await startServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/xml' });
        res.end(body);
      });
      try {
        const args = common().map((a) => (a === `${server.url}/v1/` ? `${hostile.url}/v1/` : a));
        const r = await runTool('cfn-get-metadata', args, { env: env() });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /^cfn-get-metadata: [^\n]*\n$/);
        assert.doesNotMatch(r.stderr, /unexpected error/);
      } finally {
        await hostile.close();
      }
    }
  });

  it('--log-file - logs to stderr', async () => {
    const args = common();
    args[args.indexOf('--log-file') + 1] = '-';
    const r = await runTool('cfn-get-metadata', [...args, '-v'], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /DEBUG .*DescribeStackResource/);
  });

  it('usage errors exit 2; the secret key never reaches the log', async () => {
    const r = await runTool('cfn-get-metadata', ['-r', 'R'], { env: env() });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /stack/);
    await runTool('cfn-get-metadata', [...common(), '-v'], { env: env() });
    assert.ok(!fs.readFileSync(path.join(dir, 'log'), 'utf8').includes('sk-secret'));
  });
});
