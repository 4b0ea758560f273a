import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulatorCli } from './emulator-tests/helpers';

describe('demo (README main command)', () => {
  it('runs the tools against the emulator, completes the wait condition and leaves nothing behind', function () {
    this.timeout(60000);
    const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('cfntools-demo-'));
    const r = spawnSync(process.execPath, [path.join(__dirname, 'demo', 'run.js')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /-> "hello from cfntools"/);
    assert.match(r.stdout, /commands: 10_greet, 20_list, 30_skipped \(skipped: its test failed\)/);
    assert.match(r.stdout, /0640 {2}root\/etc\/demo\/app\.conf: "greeting=hello from cfntools\\nport=8080"/);
    assert.match(r.stdout, /WaitCondition CREATE_COMPLETE \(1\/1 signals\)/);
    assert.match(r.stdout, /post\.update fired, its cfn-init rewrote app\.conf: "greeting=hello again, after a stack update"/);
    assert.match(r.stdout, /-> sent 4 metric\(s\) in 1 request\(s\) to http:\/\/127\.0\.0\.1:\d+\/v1\//);
    assert.match(r.stdout, /status page http:\/\/127\.0\.0\.1:\d+\/ shows: (?=.*MemoryUtilization [\d.]+ Percent)(?=.*DiskSpaceUtilization [\d.]+ Percent)(?=.*CPUUtilization [\d.]+ Percent)(?=.*Heartbeat 1\.0 Count)/);
    assert.match(r.stdout, /root\/srv\/deployed\.txt: "deployed with hello from heat-agent\\n"/);
    assert.match(r.stdout, /stack: Deploy CREATE_COMPLETE, output result "hello from heat-agent" \(1 signal\)/);
    assert.match(r.stdout, /root\/var\/www\/html\/index\.html: "<h1>aws-demo<\/h1>\\n"; DescribeStackResource \(cfn-v1, i-[0-9a-f]{17}\), SignalResource \(cfn-v1, i-[0-9a-f]{17}\); WebServerInstance CREATE_COMPLETE/);
    const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('cfntools-demo-'));
    assert.deepEqual(after, before, 'sandbox removed');
  });
});

describe("README's \"Trying your own Init metadata\"", () => {
  const REPO = path.resolve(__dirname, '..', '..');
  const section = () => {
    const text = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const start = text.indexOf('## Trying your own Init metadata');
    assert.ok(start >= 0, 'the section is gone');
    return text.slice(start, text.indexOf('\n## ', start + 1));
  };

  it('names the tools by paths that exist once `npm ci` has run (its prepare script builds)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.prepare, 'npm run build');
    const named = [...section().matchAll(/\.\/(bin\/[a-z-]+)/g)].map((m) => m[1]!);
    assert.ok(named.includes('bin/cfn-init'), named.join(', '));
    for (const p of named) assert.ok(fs.statSync(path.join(REPO, p)).mode & 0o111, `${p} is not executable`);
  });

  it('works as written: the emulator from the first block, the second block in another shell (port 8000 moved to a free one)', async function () {
    this.timeout(60_000);
    const blocks = [...section().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split('\n').filter((l) => l && !l.startsWith('#')).join('\n').replace(/\\\n\s*/g, ''));
    assert.equal(blocks.length, 2, 'one block per terminal');
    const emulatorLine = /^npm run emulator -- (.*)$/.exec(blocks[0]!.trim());
    assert.ok(emulatorLine, blocks[0]);
    const args = emulatorLine[1]!.split(/\s+/);
    assert.equal(args[args.indexOf('--port') + 1], '8000');
    args[args.indexOf('--port') + 1] = '0';
    // `npm run emulator` is `node dist/test/emulator/main.js`.
    const { child, base } = await startEmulatorCli(args);
    try {
      const command = blocks[1]!.replaceAll('http://127.0.0.1:8000', base);
      assert.notEqual(command, blocks[1], 'the tools do not use the emulator of the first block');
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-readme-'));
      try {
        const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
          const sh = spawn('sh', ['-c', command], { cwd: REPO, env: {
            PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true',
            // Saved progress or a cache another run left on this machine would change the plan.
            CFNTOOLS_STATE_DIR: path.join(home, 'state'), CFNTOOLS_CACHE_DIR: path.join(home, 'cache'), CFNTOOLS_HEAT_DIR: path.join(home, 'heat'),
          } });
          let out = '';
          sh.stdout.on('data', (d: Buffer) => (out += d));
          sh.stderr.on('data', (d: Buffer) => (out += d));
          sh.on('close', (status) => resolve({ status, out }));
        });
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /^configSet default\n {2}config config\n/);
        assert.deepEqual(fs.readdirSync(home), [], 'the dry run wrote state, a cache or into HOME');
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    } finally {
      child.kill();
    }
  });
});
