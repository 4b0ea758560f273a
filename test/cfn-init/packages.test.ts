/**
 * The packages key as a whole: validation (unknown managers, missing
 * programs, bad versions), the manager order, two managers in one config
 * for real, and the version orderings.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANAGER_ORDER, packagesHandler, type PackagesSpec } from '../../shared/init/handlers/packages';
import { debvercmp } from '../../shared/init/handlers/packages/debver';
import { compareEvr, highest, rpmvercmp } from '../../shared/init/handlers/packages/rpmver';
import { makeGemWorld, type GemWorld } from './support/gem-repo';
import { applyKey, handlerContext, tempDir, TestSystem, uniqueName, validate, validationContext } from './support/handler-harness';
import { makeRpmWorld, type RpmWorld } from './support/rpm-build';

/** A PATH holding do-nothing programs with the given names, and nothing else. */
function fakePath(dir: string, programs: string[]): TestSystem {
  const bin = path.join(dir, `bin-${programs.join('-') || 'none'}`);
  fs.mkdirSync(bin, { recursive: true });
  for (const p of programs) fs.writeFileSync(path.join(bin, p), '#!/bin/sh\nexit 99\n', { mode: 0o755 });
  return new TestSystem({ PATH: bin });
}

const ALL = ['rpm', 'apt-get', 'apt-cache', 'dpkg-query', 'yum', 'dnf', 'pip3', 'gem'];

describe('cfn-init packages: validation', () => {
  let dir: string;
  before(() => (dir = tempDir('cfntest-pkgval')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a manager aws-cfn-bootstrap has no tool for is skipped with a warning at config.packages.<manager>; one it runs but cfntools does not (msi, zypper) is an error', () => {
    const { spec, problems, tolerated } = validate(packagesHandler, { yumm: { httpd: [] }, apt: { curl: '' }, dpkg: { x: '' }, msi: { x: 'http://h/x.msi' }, zypper: { x: '' } }, validationContext(fakePath(dir, ALL)));
    assert.equal(spec, undefined);
    assert.deepEqual(problems.map((p) => p.path), ['config.packages.msi', 'config.packages.zypper']);
    assert.equal(problems[0].message, 'msi packages: Windows is not supported on Linux');
    assert.match(problems[1].message, /^unknown package manager \(zypper is not supported by cfntools\); expected one of rpm, apt/);
    assert.deepEqual(tolerated, [
      { path: 'config.packages.yumm', message: 'unknown package manager; expected one of rpm, apt, yum, dnf, python, rubygems', tolerated: 'skipped' },
      { path: 'config.packages.dpkg', message: 'unknown package manager (use the apt key for Debian packages); expected one of rpm, apt, yum, dnf, python, rubygems', tolerated: 'skipped' },
    ]);
    const valid = validate(packagesHandler, { yumm: { httpd: [] }, apt: { curl: '' } }, validationContext(fakePath(dir, ALL)));
    assert.deepEqual(valid.spec?.map((b) => b.manager), ['apt'], 'the unknown manager is left out; the rest is installed');
  });

  it("a manager whose program is missing is a problem (nothing is half-applied later)", () => {
    const sys = fakePath(dir, ['apt-get', 'apt-cache', 'dpkg-query']);
    const { spec, problems } = validate(packagesHandler, { apt: { curl: '' }, rubygems: { rake: '' }, yum: { httpd: '' }, python: { boto3: '' } }, validationContext(sys));
    assert.equal(spec, undefined);
    assert.deepEqual(
      problems.map((p) => `${p.path}: ${p.message}`),
      [
        'config.packages.rubygems: rubygems packages requested, but gem is not on PATH',
        'config.packages.yum: yum packages requested, but neither yum nor dnf is on PATH',
        'config.packages.python: python packages requested, but none of pip3, pip, python3 is on PATH',
      ],
    );
  });

  it('an empty manager needs no program', () => {
    const { spec, problems } = validate(packagesHandler, { rubygems: {}, apt: {} }, validationContext(fakePath(dir, [])));
    assert.deepEqual(problems, []);
    assert.deepEqual(spec, []);
  });

  it('checks versions and names: strings, numbers, lists; "" and [] mean any', () => {
    const vctx = validationContext(fakePath(dir, ALL));
    const { spec, problems } = validate(
      packagesHandler,
      {
        apt: { a: '1.2', b: 1.5, c: '', d: [], e: ['1', '2'], f: { bad: 1 }, 'bad name': '' },
        python: { p: ['1.0', '2.0'], q: '>=1.0' },
        rpm: { r: 'relative/x.rpm', s: '' },
      },
      vctx,
    );
    assert.equal(spec, undefined);
    assert.deepEqual(problems.map((p) => p.path), ['config.packages.apt.f', 'config.packages.apt.bad name', 'config.packages.python.p', 'config.packages.python.q', 'config.packages.rpm.r', 'config.packages.rpm.s']);
    const ok = validate(packagesHandler, { apt: { a: '1.2', b: 1.5, c: '', d: [], e: ['1', '2', '1'] } }, validationContext(fakePath(dir, ALL))).spec as PackagesSpec;
    assert.deepEqual(ok[0].packages, [
      { name: 'a', versions: ['1.2'] },
      { name: 'b', versions: ['1.5'] },
      { name: 'c', versions: [] },
      { name: 'd', versions: [] },
      { name: 'e', versions: ['1', '2'] },
    ]);
  });

  it('orders managers rpm, apt, yum, dnf, python, rubygems whatever the JSON order', () => {
    const raw = { rubygems: { g: '' }, python: { p: '' }, dnf: { d: '' }, yum: { y: '' }, apt: { a: '' }, rpm: { r: '/x.rpm' } };
    const spec = validate(packagesHandler, raw, validationContext(fakePath(dir, ALL))).spec as PackagesSpec;
    assert.deepEqual(spec.map((b) => b.manager), ['rpm', 'apt', 'yum', 'dnf', 'python', 'rubygems']);
    assert.deepEqual(MANAGER_ORDER, ['rpm', 'apt', 'yum', 'dnf', 'python', 'rubygems']);
  });
});

describe('cfn-init packages: two managers in one config (heat-cfntools crashes on Python 3)', function () {
  this.timeout(60_000);
  let dir: string;
  let w: RpmWorld;
  let g: GemWorld;
  const rpmName = uniqueName();
  const gemName = uniqueName();

  before(() => {
    dir = tempDir('cfntest-two');
    w = makeRpmWorld(path.join(dir, 'rpm'));
    g = makeGemWorld(path.join(dir, 'gem'));
    w.build(rpmName, '3.0');
    g.add(gemName, '0.1.0');
  });
  after(() => {
    w.erase(rpmName);
    g.uninstallAll(gemName);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies both, rpm first, records a change per manager, and plans nothing the second time', async () => {
    const env = { ...w.env, ...g.env, HOME: w.env.HOME };
    const raw = { rubygems: { [gemName]: '' }, rpm: { tool: path.join(w.repo, `${rpmName}-3.0-1.noarch.rpm`) } };
    const ctx = handlerContext({ env });
    const actions = await applyKey(packagesHandler, raw, ctx);
    assert.deepEqual(actions.map((a) => a.summary.split(':')[0]), ['rpm', 'rubygems']);
    const installs = ctx.logger.lines.filter((l) => l.includes('Installing packages'));
    assert.equal(installs.length, 2);
    assert.match(installs[0], /rpm -U/);
    assert.match(installs[1], /gem install/);
    assert.deepEqual(w.installed(rpmName), ['3.0-1']);
    assert.deepEqual(g.installed(gemName), ['0.1.0']);
    assert.deepEqual([...ctx.changes.packages.keys()].sort(), ['rpm', 'rubygems']);
    assert.deepEqual(await applyKey(packagesHandler, raw, handlerContext({ env })), []);
  });
});

/** Random version strings over the characters that matter to the orderings. */
function randomVersions(n: number, alphabet: string, seed = 7): [string, string][] {
  let x = seed;
  const rnd = (k: number): number => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % k);
  const one = (): string => {
    let s = String(rnd(10));
    for (let i = rnd(6); i > 0; i--) s += alphabet[rnd(alphabet.length)];
    return s;
  };
  return Array.from({ length: n }, () => [one(), one()]);
}

describe('cfn-init packages: version ordering', () => {
  it('rpmvercmp agrees with the real rpm (its Lua rpm.vercmp) on classic and random cases', () => {
    const cases: [string, string][] = [
      ['1.0', '1.0'], ['1.0', '2.0'], ['2.0.1', '2.0'], ['1.10', '1.9'], ['5.5p1', '5.5p10'], ['10xyz', '10.1xyz'], ['xyz10', 'xyz10.1'],
      ['1.0~rc1', '1.0'], ['1.0~rc1', '1.0~rc2'], ['1.0^', '1.0'], ['1.0^git1', '1.0'], ['1.0^git1', '1.01'], ['a', '1'], ['1.0a', '1.0.1'],
      ['001', '1'], ['1.0.0', '1.0'], ['6.0.rc1', '6.0'], ['1_0', '1.0'],
      ...randomVersions(300, '0123456789..abz~^_+'),
    ];
    const lua = cases.map(([a, b]) => `io.write(rpm.vercmp("${a}", "${b}"), "\\n")`).join(' ');
    const want = execFileSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.equal(want.length, cases.length);
    cases.forEach(([a, b], i) => assert.equal(rpmvercmp(a, b), want[i], `${a} vs ${b}`));
    // The hand-checked ones, so a broken rpm cannot hide a regression.
    assert.equal(rpmvercmp('1.10', '1.9'), 1);
    assert.equal(rpmvercmp('1.0~rc1', '1.0'), -1);
    assert.equal(rpmvercmp('1.0^git1', '1.0'), 1);
  });

  it('compares epoch first, release only when both sides give one', () => {
    assert.equal(compareEvr('1:1.0', '2.0'), 1);
    assert.equal(compareEvr('1.0-2', '1.0-10'), -1);
    assert.equal(compareEvr('1.0', '1.0-10'), 0);
    assert.equal(highest(['1.2', '1.10', '1.9']), '1.10');
    assert.equal(highest([]), undefined);
  });

  it('debvercmp agrees with dpkg --compare-versions on classic and random cases', () => {
    const cases: [string, string][] = [
      ['1.0', '1.0-0'], ['1.0~rc1', '1.0'], ['1:0.1', '2.0'], ['1.2-1', '1.10-1'], ['1.0-1', '1.0-1ubuntu1'], ['1.0+b1', '1.0'], ['1.0a', '1.0'],
      ['2.30-5', '2.30-5+deb12u1'], ...randomVersions(120, '0123456789..az~+', 11).map(([a, b], i): [string, string] => (i % 2 ? [`${a}-${b}`, `${b}-1`] : [a, b])),
    ];
    const script = cases.map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`).join('\n');
    const want = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.equal(want.length, cases.length);
    cases.forEach(([a, b], i) => assert.equal(Math.sign(debvercmp(a, b)), want[i], `${a} vs ${b}`));
    assert.ok(debvercmp('1.0~rc1', '1.0') < 0);
  });
});
