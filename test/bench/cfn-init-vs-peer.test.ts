/**
 * The cfn-init bench's own logic: which build of ours it runs, how it finds
 * and probes a copy of aws-cfn-bootstrap (real python3 on stand-in
 * packages), and the arithmetic and wording of its rows.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { awsCfnInit, cells, type Comparison, ourCfnInit, splitOf } from './cfn-init-vs-peer';

const result = (files: number, commands: number, ours: number, heat: number): Comparison => ({
  workload: { name: `${files}/${commands}`, files, commands },
  by: { ours: { wallMs: ours, cpuMs: ours / 2, rssMiB: 1 }, heat: { wallMs: heat, cpuMs: heat / 2, rssMiB: 1 } },
});

describe('bench: cfn-init beside its peers', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-init-test-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('splits each side into start-up, per file (over the 999 more files) and per command (the start-up run\'s file taken back)', () => {
    // ours: 100 ms start-up, 0.05 ms a file, 1.0 ms a command; heat: 80, 0.1, 0.5.
    const results = [result(1, 0, 100, 80), result(1000, 0, 100 + 999 * 0.05, 80 + 999 * 0.1), result(0, 100, 100 - 0.05 + 100, 80 - 0.1 + 50)];
    const wall = splitOf(results, 'wallMs')!;
    assert.equal(wall.startUp.ours, 100);
    assert.ok(Math.abs(wall.perFile.ours! - 0.05) < 1e-9 && Math.abs(wall.perFile.heat! - 0.1) < 1e-9, JSON.stringify(wall.perFile));
    assert.ok(Math.abs(wall.perCommand.ours! - 1.0) < 1e-9 && Math.abs(wall.perCommand.heat! - 0.5) < 1e-9, JSON.stringify(wall.perCommand));
    assert.ok(Math.abs(splitOf(results, 'cpuMs')!.perCommand.ours! - 0.5) < 1e-9);
    assert.equal(splitOf(results.slice(1), 'wallMs'), undefined);
  });

  it('writes ours, then each peer with ours divided by it, the targets beside the figure they apply to', () => {
    assert.equal(
      cells({ ours: 2.19, heat: 0.99, aws: 4.38 }, 2, 'ms', { ours: 'target <= 1.0' }),
      'ours 2.19 ms (target <= 1.0) | heat-cfntools 0.99 ms = 2.21x | aws-cfn-bootstrap 4.38 ms = 0.50x',
    );
    assert.equal(cells({ ours: 0.1, heat: -0.02 }, 2, 'ms'), 'ours 0.10 ms | heat-cfntools -0.02 ms = n/a');
  });

  it('runs CFNTOOLS_BENCH_EXECUTABLE as `<it> cfn-init` when set, and says so', () => {
    const ours = ourCfnInit({ CFNTOOLS_BENCH_EXECUTABLE: '/opt/x/cfntools' });
    assert.deepEqual(ours.argv, ['/opt/x/cfntools', 'cfn-init']);
    assert.match(ours.what, /CFNTOOLS_BENCH_EXECUTABLE/);
    assert.match(ourCfnInit({}).what, /single executable|bundle/);
  });

  it('says where it looked when no aws-cfn-bootstrap copy is there', () => {
    const r = awsCfnInit({ CFNTOOLS_BENCH_AWS_CFN_BOOTSTRAP: dir });
    assert.ok('why' in r);
    assert.match(r.why, new RegExp(`no copy at ${dir} \\(a directory holding bin/cfn-init and cfnbootstrap/`));
  });

  describe('with a stand-in copy', () => {
    beforeEach(function () {
      if (!fs.existsSync('/usr/bin/python3')) this.skip(); // the interpreter the copy runs on
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.mkdirSync(path.join(dir, 'cfnbootstrap'));
      fs.mkdirSync(path.join(dir, 'deps'));
      fs.writeFileSync(path.join(dir, 'bin', 'cfn-init'), '');
      fs.writeFileSync(path.join(dir, 'PKG-INFO'), 'Metadata-Version: 1.1\nName: aws-cfn-bootstrap\nVersion: 9.9\n');
      for (const m of ['__init__', 'file_tool']) fs.writeFileSync(path.join(dir, 'cfnbootstrap', `${m}.py`), '');
    });

    it('runs its cfn-init in file mode on the Heat metadata file, its deps/ on the path', () => {
      // A dependency only deps/ holds: found there, as the real copy finds python-daemon.
      fs.writeFileSync(path.join(dir, 'deps', 'bench_only_dep.py'), '');
      fs.writeFileSync(path.join(dir, 'cfnbootstrap', 'construction.py'), 'import bench_only_dep\n');
      const r = awsCfnInit({ CFNTOOLS_BENCH_AWS_CFN_BOOTSTRAP: dir });
      assert.ok('side' in r, 'why' in r ? r.why : '');
      assert.deepEqual(r.side.argv, ['/usr/bin/python3', path.join(dir, 'bin', 'cfn-init'), '/var/lib/heat-cfntools/cfn-init-data']);
      assert.equal(r.side.env.PYTHONPATH, `${dir}:${path.join(dir, 'deps')}`);
      assert.equal(r.side.silentLog, 'log/cfn-wire.log');
      assert.match(r.what, /^version 9\.9 from /);
    });

    it('names the import that fails when a dependency is missing', () => {
      fs.writeFileSync(path.join(dir, 'cfnbootstrap', 'construction.py'), 'import no_such_module_for_the_bench\n');
      const r = awsCfnInit({ CFNTOOLS_BENCH_AWS_CFN_BOOTSTRAP: dir });
      assert.ok('why' in r);
      assert.match(r.why, /cfnbootstrap does not import on \/usr\/bin\/python3 \(ModuleNotFoundError: No module named 'no_such_module_for_the_bench'\)/);
    });
  });
});
