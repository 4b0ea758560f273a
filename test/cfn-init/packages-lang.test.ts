/**
 * python (pip in a virtualenv, local wheels only) and rubygems (a local
 * file:// gem source, private GEM_HOME), for real.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packagesHandler } from '../../shared/init/handlers/packages';
import { CommandError, HandlerError } from '../../shared/init/handlers/command';
import { applyKey, handlerContext, tempDir, uniqueName } from './support/handler-harness';
import { makeGemWorld, type GemWorld } from './support/gem-repo';
import { buildWheel, makeVenv, offlinePipEnv, SYSTEM_PYTHON, type Venv } from './support/python-wheel';

describe('cfn-init packages: python (pip from a virtualenv first on PATH)', function () {
  this.timeout(120_000);
  let dir: string;
  let venv: Venv;
  const dist = uniqueName();

  before(() => {
    dir = tempDir('cfntest-pip');
    const wheels = path.join(dir, 'wheels');
    for (const v of ['1.0', '1.2']) buildWheel(wheels, dist, v);
    venv = makeVenv(path.join(dir, 'venv'), wheels);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('installs name==version with the pip found first on PATH, and plans nothing the second time', async () => {
    const ctx = handlerContext({ env: venv.env });
    const actions = await applyKey(packagesHandler, { python: { [dist]: '1.0' } }, ctx);
    assert.deepEqual(actions.map((a) => a.summary), [`python: install ${dist}==1.0 (with ${venv.bin}/pip3)`]);
    assert.equal(venv.version(dist), '1.0');
    assert.deepEqual([...(ctx.changes.packages.get('python') ?? [])], [dist]);
    // PEP 503 / PEP 440 equivalence: another spelling of the name, 1.0.0 == 1.0.
    for (const [name, v] of [[dist, '1.0'], [dist.toUpperCase().replace('-', '_'), '1.0.0'], [dist, ''], [dist, []]] as const) {
      assert.deepEqual(await applyKey(packagesHandler, { python: { [name]: v } }, handlerContext({ env: venv.env })), [], `${name} ${JSON.stringify(v)}`);
    }
  });

  it('changes the version when another one is pinned', async () => {
    await applyKey(packagesHandler, { python: { [dist]: ['1.2'] } }, handlerContext({ env: venv.env }));
    assert.equal(venv.version(dist), '1.2');
  });

  it("reports an externally managed system Python's refusal clearly, without --break-system-packages", async function () {
    const marker = fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).some((d) => fs.existsSync(`/usr/lib/${d}/EXTERNALLY-MANAGED`));
    if (!marker || !fs.existsSync('/usr/bin/pip3')) this.skip(); // only Debian 12+/Ubuntu 23.04+ with python3-pip
    const env = { ...offlinePipEnv(process.env, path.join(dir, 'wheels')), PATH: '/usr/bin:/bin' };
    const other = uniqueName();
    buildWheel(path.join(dir, 'wheels'), other, '1.0');
    await assert.rejects(applyKey(packagesHandler, { python: { [other]: '' } }, handlerContext({ env })), (err: unknown) => {
      assert.ok(err instanceof HandlerError);
      assert.match(err.message, /^config\.packages\.python: pip refused to install .*externally managed Python \(PEP 668\).*virtualenv/);
      return true;
    });
    const r = spawnSync(SYSTEM_PYTHON, ['-c', `import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('${other.replace('-', '_')}') else 1)`]);
    assert.equal(r.status, 1, 'nothing was installed into the system Python');
  });
});

describe('cfn-init packages: rubygems (local gem source, private GEM_HOME)', function () {
  this.timeout(60_000);
  let dir: string;
  let g: GemWorld;
  const name = uniqueName();

  before(() => {
    dir = tempDir('cfntest-gem');
    g = makeGemWorld(dir);
    for (const v of ['1.0.0', '1.2.0']) g.add(name, v);
  });
  after(() => {
    g.uninstallAll(name);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs every version of a list (gems live side by side), then plans nothing', async () => {
    const ctx = handlerContext({ env: g.env });
    const actions = await applyKey(packagesHandler, { rubygems: { [name]: ['1.0.0', '1.2.0'] } }, ctx);
    assert.deepEqual(actions.map((a) => a.summary), [`rubygems: install ${name} -v 1.0.0, ${name} -v 1.2.0`]);
    assert.deepEqual(g.installed(name).sort(), ['1.0.0', '1.2.0']);
    assert.deepEqual([...(ctx.changes.packages.get('rubygems') ?? [])], [name]);
    for (const v of ['1.0.0', '', '~> 1.0', ['1.2.0', '1.0.0']]) {
      assert.deepEqual(await applyKey(packagesHandler, { rubygems: { [name]: v } }, handlerContext({ env: g.env })), [], JSON.stringify(v));
    }
  });

  it('a gem missing from the source is an error naming the key', async () => {
    await assert.rejects(applyKey(packagesHandler, { rubygems: { [`${name}-absent`]: '' } }, handlerContext({ env: g.env })), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.match(err.message, new RegExp(`^config\\.packages\\.rubygems: rubygems: install ${name}-absent failed: .*gem install --no-document ${name}-absent exited [1-9]\\d*`));
      return true;
    });
    assert.deepEqual(g.installed(`${name}-absent`), []);
  });
});
