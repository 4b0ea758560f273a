/**
 * Locks and pid files: a live owner holds them; one that is gone, or whose
 * pid now belongs to another process (pid reuse), is taken over, and the
 * caller is told so. Real processes stand in for owners.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeldLockError, PidFile } from '../../shared/pid-lock';
import { ownIdentity, startTime } from '../../shared/process-identity';

const TOOL = 'cfn-push-stats';

describe('shared/pid-lock', () => {
  let dir: string;
  let lock: string;
  const children: ChildProcess[] = [];
  /** A live process: `sleep`, run under a name holding the tool's (as a cron job's shell or `tail -f cfn-push-stats.log` would), or node. */
  const live = async (how: 'sleep' | 'node'): Promise<number> => {
    const child = how === 'sleep'
      ? spawn('bash', ['-c', `exec -a ${TOOL} sleep 60`], { stdio: 'ignore' })
      : spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', TOOL], { stdio: 'ignore' });
    children.push(child);
    // Until the exec is done the pid is still bash's.
    for (let i = 0; i < 100 && !fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(TOOL); i++) await new Promise((r) => setTimeout(r, 20));
    return child.pid!;
  };
  const dead = async (): Promise<number> => {
    const child = spawn('true');
    await new Promise((r) => child.once('exit', r));
    return child.pid!;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-pid-lock-'));
    lock = path.join(dir, `${TOOL}.lock`);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names its owner by pid, start time and boot; released, it is gone; a pid file holds the pid alone', () => {
    const me = ownIdentity();
    const l = PidFile.acquire(lock, TOOL);
    assert.equal(fs.readFileSync(lock, 'utf8'), `${process.pid} ${startTime(process.pid)} ${me.boot}\n`);
    assert.equal(l.tookOver, undefined);
    l.release();
    assert.ok(!fs.existsSync(lock));
    const pidFile = path.join(dir, 'cfn-hup.pid');
    PidFile.acquire(pidFile, 'cfn-hup', { pidOnly: true }).release();
    const p = PidFile.acquire(pidFile, 'cfn-hup', { pidOnly: true });
    assert.equal(fs.readFileSync(pidFile, 'utf8'), `${process.pid}\n`);
    p.release();
  });

  it('a lock naming a live process by its identity is held', async () => {
    const pid = await live('sleep');
    fs.writeFileSync(lock, `${pid} ${startTime(pid)} ${ownIdentity().boot}\n`);
    assert.throws(() => PidFile.acquire(lock, TOOL), (e: unknown) => e instanceof HeldLockError && e.holder === pid);
  });

  it('pid reuse: a lock whose pid now belongs to a process started at another time is taken over, and says so', async () => {
    const pid = await live('sleep');
    fs.writeFileSync(lock, `${pid} ${Number(startTime(pid)) - 1} ${ownIdentity().boot}\n`);
    const l = PidFile.acquire(lock, TOOL);
    assert.equal(l.tookOver, `${lock}: taken over: process ${pid} has ended (its pid belongs to another process now)`);
    assert.equal(Number.parseInt(fs.readFileSync(lock, 'utf8'), 10), process.pid);
    l.release();
  });

  it('a lock of another boot is taken over, whatever runs under its pid now', async () => {
    const pid = await live('sleep');
    fs.writeFileSync(lock, `${pid} ${startTime(pid)} 0123456789ab\n`);
    assert.match(PidFile.acquire(lock, TOOL).tookOver ?? '', /taken over: process \d+ has ended/);
  });

  it("a pid-only file (a pid file, an earlier release's lock): held by a process of this executable naming the tool, taken over from any other process, even one whose command line names the tool", async () => {
    const sleeper = await live('sleep');
    fs.writeFileSync(lock, `${sleeper}\n`);
    const l = PidFile.acquire(lock, TOOL);
    assert.equal(l.tookOver, `${lock}: taken over: process ${sleeper} is no ${TOOL} now`);
    l.release();
    const node = await live('node');
    fs.writeFileSync(lock, `${node}\n`);
    assert.throws(() => PidFile.acquire(lock, TOOL), (e: unknown) => e instanceof HeldLockError && e.holder === node);
  });

  it('a lock naming a process that is gone, or nothing, is taken over', async () => {
    for (const [text, why] of [[`${await dead()} 1 ${ownIdentity().boot}\n`, /has ended$/], [`${await dead()}\n`, /is no cfn-push-stats now$/], ['garbage', /it names no process$/], ['', /it names no process$/]] as const) {
      fs.writeFileSync(lock, text);
      const l = PidFile.acquire(lock, TOOL);
      assert.match(l.tookOver ?? '', why, text);
      l.release();
    }
  });
});
