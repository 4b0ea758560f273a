/**
 * scripts/build-packages.js itself, where it needs no executable: without
 * packaging/out/cfntools it stops at once with one line saying what to run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGING, REPO, removeTemp, run, tempDir } from './artifacts';

describe('packaging: scripts/build-packages.js', function () {
  let dir: string | undefined;
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  it('without packaging/out/cfntools: exit 1 and one line, "run npm run package"', () => {
    // A copy of the repository's packaging inputs, with no executable built.
    dir = tempDir('build-packages');
    fs.mkdirSync(path.join(dir, 'scripts'));
    for (const f of ['build-packages.js', 'bundled-libs.js', 'arches.js', 'launcher.js']) fs.copyFileSync(path.join(REPO, 'scripts', f), path.join(dir, 'scripts', f));
    fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
    fs.cpSync(path.join(PACKAGING, 'systemd'), path.join(dir, 'packaging', 'systemd'), { recursive: true });
    fs.cpSync(path.join(PACKAGING, 'logrotate'), path.join(dir, 'packaging', 'logrotate'), { recursive: true });
    const r = run(process.execPath, [path.join(dir, 'scripts', 'build-packages.js')], { cwd: dir });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'build-packages: packaging/out/cfntools is missing: run npm run package\n');
    assert.ok(!fs.existsSync(path.join(dir, 'packaging', 'out')), 'wrote into packaging/out anyway');
  });

  it('refuses an unknown argument with one line', () => {
    const r = run(process.execPath, [path.join(REPO, 'scripts', 'build-packages.js'), '--only', 'zip']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'build-packages: --only: unknown kind zip (tar, deb, rpm)\n');
    const a = run(process.execPath, [path.join(REPO, 'scripts', 'build-packages.js'), '--arch', 'mips']);
    assert.equal(a.status, 1);
    assert.equal(a.stderr, 'build-packages: --arch: unknown architecture mips (x64, arm64, all)\n');
  });
});

describe('packaging: scripts/package.js', function () {
  it('refuses a command line it does not know with exit 2 and one line, before building anything', () => {
    for (const args of [['--bogus'], ['--floor'], ['--floor', '--executable-only'], ['--executable-only', 'extra'], ['--arch', 'mips'], ['--arch'], ['--arch', 'all', '--floor', 'out'], ['--executable-only', '--arch', 'x64']]) {
      const r = run(process.execPath, [path.join(REPO, 'scripts', 'package.js'), ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr, `package: expected [--arch x64|arm64|all] then no argument, --executable-only, or --floor OUT (one arch); got: ${args.join(' ')}\n`);
      assert.equal(r.stdout, '');
    }
  });

  it('without the arm64 root, the default build stops at once with one line saying what to run, before building x64 or fetching anything', () => {
    const exe = path.join(PACKAGING, 'out', 'cfntools');
    const before = fs.existsSync(exe) ? fs.statSync(exe).mtimeMs : undefined;
    const r = run(process.execPath, [path.join(REPO, 'scripts', 'package.js')], { env: { PATH: process.env.PATH, CFNTOOLS_TEST_ROOT_ARM64: '/nonexistent/cfntools-arm64-root' } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    // Whichever of the arm64 build's needs this machine lacks first: its strip, qemu, or (here, surely) the root.
    assert.match(r.stderr, /^package: (aarch64-linux-gnu-strip is not installed|the arm64 build .*(qemu-aarch64-static is not installed|none at \/nonexistent\/cfntools-arm64-root .*run bash scripts\/make-test-root\.sh --arch arm64)).*; or build only x64 with --arch x64\n$/);
    assert.equal(fs.existsSync(exe) ? fs.statSync(exe).mtimeMs : undefined, before);
  });
});
