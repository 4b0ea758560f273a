/**
 * Stack files: YAML and JSON load; every mistake is reported with the file
 * and the key path; the CLI starts from them and prints its URL first.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator } from '../emulator/server';
import { loadStackFile, StackFileError } from '../emulator/stackfile';
import { failingEmulatorCli, REPO, send, startEmulatorCli } from './helpers';

const DEMO = path.join(REPO, 'test', 'emulator', 'stacks', 'demo.yaml');

describe('emulator: stack files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-emulator-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  const good = `
stacks:
  - name: s1
    resources:
      Web:
        type: AWS::EC2::Instance
        metadata: {a: 1}
      Handle: {type: AWS::CloudFormation::WaitConditionHandle}
      Wait: {type: AWS::CloudFormation::WaitCondition, handle: Handle, count: 2, timeout: 300}
    credentials:
      - {accessKey: AK1, secretKey: sk1, resources: [Web]}
`;

  it('loads the demo stack file and a minimal YAML and JSON file', () => {
    const demo = loadStackFile(DEMO);
    assert.equal(demo.stacks[0].name, 'teststack');
    assert.equal(loadStackFile(write('a.yaml', good)).stacks[0].resources.Wait.count, 2);
    const json = loadStackFile(write('b.json', JSON.stringify({ stacks: [{ name: 'j', resources: { R: { type: 'T' } } }] })));
    assert.equal(json.stacks[0].resources.R.type, 'T');
  });

  const cases: Array<[string, string, RegExp]> = [
    ['missing type', good.replace('type: AWS::EC2::Instance', 'metadata2: {}'), /stacks\[0\]\.resources\.Web\.metadata2: unknown key/],
    ['type absent', good.replace('        type: AWS::EC2::Instance\n', ''), /stacks\[0\]\.resources\.Web\.type: is required/],
    ['bad status', good.replace('metadata: {a: 1}', 'status: DONE'), /stacks\[0\]\.resources\.Web\.status: "DONE" is not a Heat status like CREATE_COMPLETE/],
    ['count 0', good.replace('count: 2', 'count: 0'), /stacks\[0\]\.resources\.Wait\.count: must be a positive integer, not number 0/],
    ['missing handle', good.replace('handle: Handle', 'handle: Nope'), /stacks\[0\]\.resources\.Wait\.handle: no resource "Nope" in this stack/],
    ['handle of wrong type', good.replace('handle: Handle', 'handle: Web'), /stacks\[0\]\.resources\.Wait\.handle: Web is a AWS::EC2::Instance, not a AWS::CloudFormation::WaitConditionHandle/],
    ['unknown credential resource', good.replace('resources: [Web]', 'resources: [Web, Db]'), /stacks\[0\]\.credentials\[0\]\.resources\[1\]: no resource "Db" in this stack/],
    ['secret missing', good.replace(', secretKey: sk1', ''), /stacks\[0\]\.credentials\[0\]\.secretKey: is required/],
    ['bad stack name', good.replace('name: s1', 'name: 1abc'), /stacks\[0\]\.name: "1abc" is not a Heat stack name/],
    ['no stacks', 'credentials: []\n', /: stacks: is required/],
    ['top-level typo', `${good}\nfile: {}\n`, /: file: unknown key \(expected one of: stacks, credentials, files, ec2\)/],
    ['handle key on an EC2 instance', good.replace('metadata: {a: 1}', 'accessKey: x'), /stacks\[0\]\.resources\.Web\.accessKey: only allowed on AWS::CloudFormation::WaitConditionHandle, OS::Heat::DeployedServer or OS::Nova::Server resources/],
    ['files dir missing', `${good}\nfiles: {dir: nowhere}\n`, /files\.dir: .*nowhere is not a directory/],
    ['invalid YAML', 'stacks: [\n', /not valid YAML/],
  ];
  for (const [name, text, message] of cases) {
    it(`names the file and key path: ${name}`, () => {
      const file = write('bad.yaml', text);
      assert.throws(
        () => loadStackFile(file),
        (err: unknown) => {
          assert.ok(err instanceof StackFileError, String(err));
          assert.ok(err.message.startsWith(`${file}: `), err.message);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('finds duplicates across files and in programmatic specs', async () => {
    const a = write('a.yaml', good);
    const b = write('b.yaml', good.replace('name: s1', 'name: s2'));
    await assert.rejects(startEmulator({ stacks: [a, b] }), /b\.yaml: stacks\[0\]\.credentials\[0\]\.accessKey: access key AK1 is defined twice/);
    await assert.rejects(
      startEmulator({ stacks: [a, { name: 's1', resources: {} }] }),
      /<startEmulator options>: stacks\[0\]\.name: stack s1 is defined twice/,
    );
  });

  it('serves files from a directory relative to the stack file, with basic auth where asked', async () => {
    fs.mkdirSync(path.join(dir, 'files', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'files', 'sub', 'a.tgz'), Buffer.from([0x1f, 0x8b, 0]));
    const file = write('f.yaml', `${good}\nfiles:\n  dir: files\n  auth:\n    sub/a.tgz: {username: u, password: p}\n`);
    const emu = await startEmulator({ stacks: [file] });
    try {
      assert.equal((await send(`${emu.url}/files/sub/a.tgz`)).status, 401);
      const ok = await send(`${emu.url}/files/sub/a.tgz`, { headers: { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['content-type'], 'application/gzip');
      assert.deepEqual([...ok.body], [0x1f, 0x8b, 0]);
      for (const rawTarget of ['/files/../f.yaml', '/files/%2e%2e/f.yaml', '/files/sub/../../f.yaml', '/files/']) {
        const missing = await send(emu.url, { rawTarget });
        assert.equal(missing.status, 404, rawTarget);
        assert.equal(missing.text, 'not found', rawTarget);
      }
    } finally {
      await emu.stop();
    }
  });

  it('the CLI prints its URL first, serves the demo, and exits 1 naming a bad file', async function () {
    this.timeout(10_000);
    const { child, base } = await startEmulatorCli(['--port', '0', '--stack', DEMO, '--fault', 'latency=1', '--quiet']);
    try {
      const state = JSON.parse((await send(`${base}/_emulator/state`)).text);
      assert.equal(state.stacks[0].name, 'teststack');
      assert.deepEqual(state.faults, { latencyMs: 1 });
      assert.equal((await send(`${base}/files/src.txt`)).text, 'downloaded content\n');
    } finally {
      child.kill('SIGTERM');
    }
    const bad = write('bad.yaml', 'stacks: [{name: x}]\n');
    const { code, err } = await failingEmulatorCli(['--port', '0', '--stack', bad]);
    assert.equal(code, 1);
    assert.equal(err.trim(), `emulator: ${bad}: stacks[0].resources: is required`);
  });
});
