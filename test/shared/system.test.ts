/**
 * HostSystem.run gives the same results whoever starts the program: the
 * launcher, or Node itself where there is none (or CFNTOOLS_LAUNCHER=off).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findLauncher } from '../../shared/launcher/locate';
import { CfnError } from '../../shared/errors';
import { CommandNotFoundError, HostSystem } from '../../shared/system';

const launcher = findLauncher({});

for (const [name, make] of [
  ['the launcher', () => new HostSystem(process.env, launcher)],
  ["Node's spawn", () => new HostSystem(process.env, null)],
] as const) {
  describe(`HostSystem.run through ${name}`, function () {
    this.timeout(30000);
    let system: HostSystem;
    let dir: string;
    before(function () {
      if (name === 'the launcher' && !launcher) this.skip(); // no C compiler at build time
      system = make();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-system-'));
    });
    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    it('starts the program where expected: its parent is the launcher, or the tool', async () => {
      const r = await system.run('cat /proc/$PPID/comm');
      assert.equal(r.stdout.trim(), name === 'the launcher' ? 'cfntools-launch' : fs.readFileSync('/proc/self/comm', 'utf8').trim());
    });

    it('output apart and interleaved, bounded head and tail; status; environment replaced; cwd', async () => {
      const r = await system.run('echo out; echo err >&2; pwd; echo "$ONLY"; exit 4', { env: { PATH: '/usr/bin:/bin', ONLY: 'x' }, cwd: dir });
      assert.deepEqual([r.status, r.stdout, r.stderr], [4, `out\n${dir}\nx\n`, 'err\n']);
      assert.match(r.output, /out\n/);
      assert.match(r.output, /err\n/);
      const big = await system.run('head -c 100000 /dev/zero | tr "\\0" a', { maxOutputBytes: 1000 });
      assert.ok(big.stdout.length < 1200 && big.stdout.startsWith('aaa') && big.stdout.endsWith('aaa'), big.stdout.slice(0, 100));
    });

    it('input on stdin; /dev/null otherwise', async () => {
      assert.equal((await system.run(['cat'], { input: 'given' })).stdout, 'given');
      assert.equal((await system.run(['cat'])).stdout, '');
    });

    it('a missing program is CommandNotFoundError; a missing working directory an error naming it', async () => {
      await assert.rejects(system.run(['no-such-program-cfntools']), CommandNotFoundError);
      await assert.rejects(system.run(['true'], { cwd: path.join(dir, 'gone') }), (e: unknown) => e instanceof CfnError && e.message.includes(path.join(dir, 'gone')));
    });

    it('a timeout ends the whole group it started, and says so', async () => {
      const marker = path.join(dir, `child-${name.length}`);
      const r = await system.run(`sleep 30 & echo $! > ${marker}; wait`, { timeoutMs: 300 });
      assert.equal(r.timedOut, true);
      assert.equal(r.status, 128 + os.constants.signals.SIGTERM);
      const child = Number(fs.readFileSync(marker, 'utf8'));
      // Ended: gone, or a zombie its new parent has not reaped yet.
      const ended = () => !fs.existsSync(`/proc/${child}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${child}/status`, 'utf8'));
      const deadline = Date.now() + 5000;
      while (!ended() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      assert.ok(ended(), 'the background child outlived the timeout');
    });

    it('a daemon left holding the output does not hold the run', async () => {
      const r = await system.run(`echo before; sleep 30 & echo $! > ${path.join(dir, 'daemon')}`);
      process.kill(Number(fs.readFileSync(path.join(dir, 'daemon'), 'utf8')), 'SIGTERM');
      assert.deepEqual([r.status, r.stdout], [0, 'before\n']);
    });
  });
}
