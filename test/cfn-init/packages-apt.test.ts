/**
 * apt on the real machine: dpkg installs a package built here, served from a
 * local file: repository through a private APT_CONFIG (no network, the
 * machine's sources untouched); purged after.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { packagesHandler } from '../../shared/init/handlers/packages';
import { HandlerError } from '../../shared/init/handlers/command';
import { dpkgVersion, makeAptRepo, purgeDeb, type AptRepo } from './support/deb-repo';
import { applyKey, handlerContext, tempDir, uniqueName } from './support/handler-harness';

describe('cfn-init packages: apt (real dpkg, local repository)', function () {
  this.timeout(120_000);
  let dir: string;
  let repo: AptRepo;
  const pkg = uniqueName();
  const absent = uniqueName();

  before(() => {
    dir = tempDir('cfntest-apt');
    repo = makeAptRepo(dir);
    repo.add(pkg, '1.0-1');
    repo.add(pkg, '1.2-1');
  });
  after(() => {
    if (dpkgVersion(pkg)) purgeDeb(pkg);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs a version prefix as name=ver*, running apt-get update once because the lists lack it', async () => {
    const ctx = handlerContext({ env: repo.env });
    const actions = await applyKey(packagesHandler, { apt: { [pkg]: '1.0' } }, ctx);
    assert.deepEqual(actions.map((a) => a.summary), [`apt: install ${pkg}=1.0*`]);
    assert.equal(dpkgVersion(pkg), '1.0-1');
    assert.ok(ctx.logger.lines.some((l) => l.includes('running apt-get update')), ctx.logger.lines.join('\n'));
    assert.deepEqual([...(ctx.changes.packages.get('apt') ?? [])], [pkg]);
  });

  it('plans nothing when the installed version matches the prefix, or when no version is asked', async () => {
    for (const v of ['1.0', '1', '', [], ['1.0-1']]) {
      const ctx = handlerContext({ env: repo.env });
      assert.deepEqual(await applyKey(packagesHandler, { apt: { [pkg]: v } }, ctx), [], `version ${JSON.stringify(v)}`);
      assert.equal(ctx.changes.packages.size, 0);
    }
    assert.equal(dpkgVersion(pkg), '1.0-1');
  });

  it('a version list installs the highest entry (no update: the lists are current)', async () => {
    const ctx = handlerContext({ env: repo.env });
    const actions = await applyKey(packagesHandler, { apt: { [pkg]: ['1.0.9', '1.2', '1.1'] } }, ctx);
    assert.deepEqual(actions.map((a) => a.summary), [`apt: install ${pkg}=1.2*`]);
    assert.equal(dpkgVersion(pkg), '1.2-1');
    assert.ok(!ctx.logger.lines.some((l) => l.includes('apt-get update')));
  });

  it('goes back to an older pinned version (a pin is what was asked for)', async () => {
    await applyKey(packagesHandler, { apt: { [pkg]: '1.0' } }, handlerContext({ env: repo.env }));
    assert.equal(dpkgVersion(pkg), '1.0-1');
  });

  it('fails clearly, before installing anything, when a package is not in the repository even after update', async () => {
    const ctx = handlerContext({ env: repo.env });
    await assert.rejects(applyKey(packagesHandler, { apt: { [pkg]: '1.2', [absent]: '' } }, ctx), (err: unknown) => {
      assert.ok(err instanceof HandlerError);
      assert.match(err.message, new RegExp(`^config\\.packages\\.apt: no package available for ${absent} \\(after apt-get update\\)`));
      return true;
    });
    assert.equal(dpkgVersion(pkg), '1.0-1', 'the available package of the batch was not installed either');
    assert.equal(ctx.changes.packages.size, 0);
  });
});
