/**
 * rpm for real (Debian's rpm, packages built here with rpmbuild, a private
 * database through ~/.rpmmacros), and yum/dnf through a recording stand-in
 * that installs with that real rpm.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packagesHandler } from '../../shared/init/handlers/packages';
import { HandlerError } from '../../shared/init/handlers/command';
import { applyKey, handlerContext, mapDownloader, tempDir, TestSystem, uniqueName } from './support/handler-harness';
import { makeRpmWorld, writeYumStandIn, type RpmWorld } from './support/rpm-build';

describe('cfn-init packages: rpm (real rpm, private database)', function () {
  this.timeout(60_000);
  let dir: string;
  let w: RpmWorld;
  const a = uniqueName();
  const b = uniqueName();
  let fileA: string;
  let fileB: string;

  before(() => {
    dir = tempDir('cfntest-rpm');
    w = makeRpmWorld(dir);
    fileA = w.build(a, '1.0');
    fileB = w.build(b, '2.1');
  });
  after(() => {
    for (const n of [a, b]) w.erase(n);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs a local .rpm, names the change by the metadata key, and plans nothing the second time', async () => {
    const ctx = handlerContext({ env: w.env });
    const actions = await applyKey(packagesHandler, { rpm: { mytool: fileA } }, ctx);
    assert.deepEqual(actions.map((x) => x.summary), [`rpm: install mytool (${a}-1.0-1 from ${fileA})`]);
    assert.deepEqual(w.installed(a), ['1.0-1']);
    assert.deepEqual([...(ctx.changes.packages.get('rpm') ?? [])], ['mytool']);
    assert.deepEqual(await applyKey(packagesHandler, { rpm: { mytool: fileA } }, handlerContext({ env: w.env })), []);
  });

  it('downloads a URL through the Downloader into a temporary file that is removed after the install', async () => {
    const url = 'http://127.0.0.1:9/pkgs/b.rpm';
    const downloader = mapDownloader({ [url]: fs.readFileSync(fileB) });
    const ctx = handlerContext({ env: w.env, downloader });
    const scratch = () => (fs.existsSync(ctx.writer.journalDir) ? fs.readdirSync(ctx.writer.journalDir).filter((n) => n.endsWith('.rpm')) : []);
    const before = scratch();
    const actions = await applyKey(packagesHandler, { rpm: { other: [url] } }, ctx);
    assert.equal(actions.length, 1);
    assert.match(actions[0].summary, new RegExp(`^rpm: install other \\(${b}-2\\.1-1 from ${url.replace(/[.]/g, '\\.')}\\)$`));
    assert.deepEqual(downloader.fetched, [url]);
    assert.deepEqual(w.installed(b), ['2.1-1']);
    assert.deepEqual(scratch(), before);
    // Installed now: downloaded again to read its identity, nothing to do.
    assert.deepEqual(await applyKey(packagesHandler, { rpm: { other: url } }, handlerContext({ env: w.env, downloader })), []);
  });

  it('an unreadable package file is an error naming the key, not "treated as installed" (AWS without --strict)', async () => {
    const bogus = path.join(dir, 'bogus.rpm');
    fs.writeFileSync(bogus, 'not an rpm');
    await assert.rejects(applyKey(packagesHandler, { rpm: { broken: bogus } }, handlerContext({ env: w.env })), (err: unknown) => {
      assert.ok(err instanceof HandlerError);
      assert.match(err.message, /^config\.packages\.rpm\.broken: .*bogus\.rpm is not a readable rpm package/);
      return true;
    });
  });
});

describe('cfn-init packages: yum and dnf (recording stand-in over the real rpm)', function () {
  this.timeout(60_000);
  let dir: string;
  let w: RpmWorld;
  let log: string;
  let env: NodeJS.ProcessEnv;
  const p = uniqueName();
  const calls = (): string[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

  before(function () {
    dir = tempDir('cfntest-yum');
    w = makeRpmWorld(dir);
    for (const v of ['1.0', '1.2', '1.10']) w.build(p, v);
    log = path.join(dir, 'dnf.log');
    // Only dnf exists: `yum` must fall back to it.
    writeYumStandIn(path.join(dir, 'bin'), 'dnf', w.repo, log);
    env = { ...w.env, PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin` };
    assert.equal(new TestSystem(env).which('yum'), undefined, 'precondition: no real yum on /usr/bin:/bin');
  });
  after(() => {
    w.erase(p);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => fs.rmSync(log, { force: true }));

  it('`yum` with only dnf on the machine uses dnf, checking availability first', async () => {
    const ctx = handlerContext({ env });
    const actions = await applyKey(packagesHandler, { yum: { [p]: '1.0' } }, ctx);
    assert.deepEqual(actions.map((x) => x.summary), [`yum: install ${p}-1.0 (with ${path.join(dir, 'bin', 'dnf')})`]);
    assert.deepEqual(calls(), [`--setopt=exit_on_lock=True -y --showduplicates list available ${p}-1.0`, `--setopt=exit_on_lock=True -y install ${p}-1.0`]);
    assert.deepEqual(w.installed(p), ['1.0-1']);
    // Recorded under the key the metadata used, so services listing yum packages restart.
    assert.deepEqual([...(ctx.changes.packages.get('yum') ?? [])], [p]);
  });

  it('plans nothing when the version or any version is installed (an unversioned package is not upgraded)', async () => {
    for (const v of ['1.0', '', [], ['1.0']]) assert.deepEqual(await applyKey(packagesHandler, { yum: { [p]: v } }, handlerContext({ env })), [], JSON.stringify(v));
    assert.deepEqual(calls(), []);
  });

  it('a version list installs the highest by RPM ordering (1.10 > 1.2), which heat-cfntools crashes on', async () => {
    const actions = await applyKey(packagesHandler, { dnf: { [p]: ['1.2', '1.10', '1.0'] } }, handlerContext({ env }));
    assert.deepEqual(actions.map((x) => x.summary), [`dnf: install ${p}-1.10`]);
    assert.deepEqual(w.installed(p), ['1.10-1']);
  });

  it('a pinned version older than the installed one is a downgrade', async () => {
    const actions = await applyKey(packagesHandler, { yum: { [p]: '1.2' } }, handlerContext({ env }));
    assert.match(actions[0].summary, new RegExp(`^yum: downgrade ${p}-1\\.2 `));
    assert.deepEqual(calls(), [`--setopt=exit_on_lock=True -y --showduplicates list available ${p}-1.2`, `--setopt=exit_on_lock=True -y downgrade ${p}-1.2`]);
    assert.deepEqual(w.installed(p), ['1.2-1']);
  });

  it('a version the repository lacks is an error before anything is installed', async () => {
    await assert.rejects(applyKey(packagesHandler, { yum: { [p]: '9.9' } }, handlerContext({ env })), /config\.packages\.yum: .*dnf has no package .*-9\.9 available/);
    assert.ok(!calls().some((c) => c.includes('install')));
    assert.deepEqual(w.installed(p), ['1.2-1']);
  });
});
