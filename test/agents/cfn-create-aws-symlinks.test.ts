import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runTool } from '../support/cli';

const TOOLS = ['cfn-create-aws-symlinks', 'cfn-get-metadata', 'cfn-hup', 'cfn-init', 'cfn-push-stats', 'cfn-signal'];

describe('cfn-create-aws-symlinks', () => {
  let dir: string;
  let src: string;
  let dst: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-links-'));
    src = path.join(dir, 'bin');
    dst = path.join(dir, 'opt', 'aws', 'bin');
    fs.mkdirSync(src);
    for (const t of [...TOOLS, 'unrelated']) fs.writeFileSync(path.join(src, t), '');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('links every tool found in the source, creating the target, as heat-cfntools prints it', async () => {
    const r = await runTool('cfn-create-aws-symlinks', ['-s', src, '-t', dst]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `${src} -> ${dst}`);
    for (const t of TOOLS) {
      assert.equal(fs.readlinkSync(path.join(dst, t)), path.join(src, t));
      assert.ok(lines.includes(`${path.join(src, t)} -> ${path.join(dst, t)}`));
    }
    assert.ok(!fs.existsSync(path.join(dst, 'unrelated')));
  });

  it('leaves existing files alone unless -f', async () => {
    fs.mkdirSync(dst, { recursive: true });
    fs.writeFileSync(path.join(dst, 'cfn-init'), 'old');
    const r = await runTool('cfn-create-aws-symlinks', ['-s', src, '-t', dst]);
    assert.match(r.stdout, /cfn-init already exists, will not replace with symlink/);
    assert.equal(fs.readFileSync(path.join(dst, 'cfn-init'), 'utf8'), 'old');
    await runTool('cfn-create-aws-symlinks', ['-s', src, '-t', dst, '-f']);
    assert.equal(fs.readlinkSync(path.join(dst, 'cfn-init')), path.join(src, 'cfn-init'));
  });

  it('the Heat image layout works: tools started through /opt/aws/bin-style links run', async () => {
    const repoBin = path.resolve(__dirname, '..', '..', '..', 'bin');
    const r = await runTool('cfn-create-aws-symlinks', ['-s', repoBin, '-t', dst]);
    assert.equal(r.status, 0, r.stderr);
    const v = spawnSync(path.join(dst, 'cfn-get-metadata'), ['--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^cfn-get-metadata \(cfntools\) /);
  });

  it('refuses the same source and target with exit 1', async () => {
    const r = await runTool('cfn-create-aws-symlinks', ['-s', src, '-t', src]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Source and target are the same/);
  });
});
