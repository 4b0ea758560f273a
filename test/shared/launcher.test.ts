/**
 * The program launcher (shared/launcher/): its frames, and the real
 * launcher built beside the bundle starting real programs: what they get
 * (environment, working directory, stdin, signals, descriptors, session),
 * what comes back (output apart and whole, status, failures by stage), and
 * its life tied to the tool's.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeSpawn, exitStatus, FrameReader, MAX_REQUEST_BYTES, NulInArgumentError, type LauncherEvent } from '../../shared/launcher/protocol';
import { Launcher, type SpawnSink } from '../../shared/launcher/launcher';
import { findLauncher, LAUNCHER_NAME } from '../../shared/launcher/locate';
import { ConfigError } from '../../shared/errors';

const BUILT = path.resolve(__dirname, '..', '..', LAUNCHER_NAME);

interface Outcome {
  pid?: number;
  stdout: string;
  stderr: string;
  status?: number;
  failed?: { stage?: string; code?: string; message: string };
  order: string[];
}

function run(launcher: Launcher, file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; setsid?: boolean; input?: string } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const o: Outcome = { stdout: '', stderr: '', order: [] };
    const sink: SpawnSink = {
      started(pid) {
        o.pid = pid;
        o.order.push('started');
      },
      stdout(d) {
        o.stdout += d.toString();
      },
      stderr(d) {
        o.stderr += d.toString();
      },
      exited(status) {
        o.status = status;
        o.order.push('exited');
      },
      done() {
        o.order.push('done');
        resolve(o);
      },
      failed(err, stage, code) {
        o.failed = { stage, code, message: err.message };
        resolve(o);
      },
    };
    launcher.spawn({ file, args, env: opts.env ?? { PATH: '/usr/bin:/bin' }, cwd: opts.cwd, setsid: opts.setsid ?? false, input: opts.input }, sink);
  });
}

describe('launcher frames', () => {
  it('a spawn request holds the strings NUL-terminated after its counts; a NUL inside one is refused', () => {
    const frame = encodeSpawn(7, { file: 'prog', args: ['a b'], env: { K: 'v', GONE: undefined }, cwd: '/tmp', setsid: true, input: 'in' });
    assert.equal(frame.toString('latin1', 0, 1), 'S');
    assert.equal(frame.readUInt32LE(1), 7);
    assert.equal(frame.readUInt32LE(5), frame.length - 9);
    assert.deepEqual([frame.readUInt32LE(9), frame.readUInt32LE(13), frame.readUInt32LE(17), frame.readUInt32LE(21)], [3, 2, 1, 2]);
    assert.equal(frame.subarray(25).toString(), '/tmp\0prog\0prog\0a b\0K=v\0in');
    assert.throws(() => encodeSpawn(1, { file: 'x', args: ['a\0b'], env: {}, setsid: false }), NulInArgumentError);
    // What the launcher would refuse (and die of) is refused here first.
    assert.throws(() => encodeSpawn(1, { file: 'x', args: [], env: {}, setsid: false, input: 'x'.repeat(MAX_REQUEST_BYTES) }), /more than 64 MiB/);
  });

  it('events come out whole whatever the chunks, bytes apart from what follows them', () => {
    const frame = (type: string, id: number, payload: Buffer) => {
      const head = Buffer.alloc(9);
      head.write(type, 0, 'latin1');
      head.writeUInt32LE(id, 1);
      head.writeUInt32LE(payload.length, 5);
      return Buffer.concat([head, payload]);
    };
    const u32 = (...ns: number[]) => Buffer.concat(ns.map((n) => Buffer.from(new Uint32Array([n]).buffer)));
    const stream = Buffer.concat([frame('P', 1, u32(4242)), frame('1', 1, Buffer.from('out')), frame('W', 1, u32(3 << 8)), frame('F', 2, u32(2, os.constants.errno.ENOENT)), frame('X', 1, Buffer.alloc(0))]);
    for (const size of [1, 5, 9, stream.length]) {
      const reader = new FrameReader();
      const events: LauncherEvent[] = [];
      for (let at = 0; at < stream.length; at += size) events.push(...reader.push(stream.subarray(at, at + size)));
      assert.deepEqual(events, [
        { type: 'started', id: 1, pid: 4242 },
        { type: 'stdout', id: 1, data: Buffer.from('out') },
        { type: 'exited', id: 1, status: 3 << 8 },
        { type: 'failed', id: 2, stage: 'program', code: 'ENOENT' },
        { type: 'done', id: 1 },
      ]);
    }
    assert.throws(() => new FrameReader().push(frame('?', 1, Buffer.alloc(0))), /unknown event/);
  });

  it('an exit status reads as a shell reports it: the code, or 128 + the signal', () => {
    assert.equal(exitStatus(3 << 8), 3);
    assert.equal(exitStatus(9), 137);
  });
});

describe('the launcher', function () {
  this.timeout(30000);
  let launcher: Launcher;
  let dir: string;
  before(function () {
    if (!fs.existsSync(BUILT)) this.skip(); // built by npm run build where a C compiler is
    launcher = new Launcher(BUILT);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-launcher-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('is found beside the modules, and CFNTOOLS_LAUNCHER=off turns it off; any other value is an error', () => {
    assert.equal(findLauncher({})?.file, BUILT);
    assert.equal(findLauncher({ CFNTOOLS_LAUNCHER: 'off' }), undefined);
    assert.throws(() => findLauncher({ CFNTOOLS_LAUNCHER: '/tmp/x' }), (e: unknown) => e instanceof ConfigError && /CFNTOOLS_LAUNCHER/.test(e.message));
  });

  it('gives the program exactly its environment, its working directory, stdin at its end, SIGPIPE and SIGCHLD as a fresh process has them, and only fds 0-2', async () => {
    const script = 'env; pwd; cat; grep -E "^(SigBlk|SigIgn)" /proc/self/status; ls /proc/self/fd';
    const o = await run(launcher, '/bin/sh', ['-c', script], { env: { PATH: '/usr/bin:/bin', ONLY: 'this' }, cwd: dir });
    assert.equal(o.status, 0, o.stderr);
    const lines = o.stdout.trim().split('\n');
    assert.deepEqual(lines.filter((l) => /^[A-Z_]+=/.test(l) && !l.startsWith('PWD=')).sort(), ['ONLY=this', 'PATH=/usr/bin:/bin']);
    assert.ok(lines.includes(dir));
    assert.ok(lines.includes('SigBlk:\t0000000000000000'), o.stdout);
    assert.ok(lines.includes('SigIgn:\t0000000000000000'), o.stdout);
    // ls itself holds one more descriptor (the directory it reads).
    const fds = lines.slice(lines.findIndex((l) => l.startsWith('SigIgn')) + 1).map(Number);
    assert.deepEqual(fds.slice(0, 3), [0, 1, 2]);
    assert.ok(fds.length <= 4, `descriptors ${fds}`);
  });

  it('keeps stdout and stderr apart and whole (8 MiB), with the exit status after them', async () => {
    const o = await run(launcher, '/bin/sh', ['-c', 'head -c 8388608 /dev/zero | tr "\\0" a; echo err >&2; exit 3']);
    assert.equal(o.stdout.length, 8 * 1024 * 1024);
    assert.match(o.stdout, /^a+$/);
    assert.equal(o.stderr, 'err\n');
    assert.equal(o.status, 3);
    assert.deepEqual(o.order, ['exited', 'done']);
  });

  it('feeds the input on stdin, and a program that reads none of it is not an error', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const read = await run(launcher, '/bin/sh', ['-c', 'wc -c'], { input: big });
    assert.equal(read.stdout.trim(), String(big.length));
    const ignored = await run(launcher, '/bin/true', [], { input: big });
    assert.equal(ignored.status, 0);
  });

  it('reports a signal as 128 + its number, and a pipeline ends by SIGPIPE as in a shell', async () => {
    assert.equal((await run(launcher, '/bin/sh', ['-c', 'kill -9 $$'])).status, 137);
    const pipe = await run(launcher, '/bin/sh', ['-c', 'yes | head -c 1']);
    assert.equal(pipe.status, 0);
    assert.equal(pipe.stderr, ''); // yes with SIGPIPE ignored would say "Broken pipe"
  });

  it('says which part could not start: the working directory, or the program (looked up on the PATH it is given)', async () => {
    const cwd = await run(launcher, '/bin/true', [], { cwd: path.join(dir, 'missing') });
    assert.deepEqual([cwd.failed?.stage, cwd.failed?.code], ['cwd', 'ENOENT']);
    const prog = await run(launcher, 'no-such-program-cfntools', []);
    assert.deepEqual([prog.failed?.stage, prog.failed?.code], ['program', 'ENOENT']);
    fs.writeFileSync(path.join(dir, 'only-here'), '#!/bin/sh\necho found\n', { mode: 0o755 });
    const found = await run(launcher, 'only-here', [], { env: { PATH: dir } });
    assert.equal(found.stdout, 'found\n');
  });

  it('a session of its own when asked (the pid is its group, which a timeout ends), the tool\'s group otherwise', async () => {
    const own = await run(launcher, '/bin/sh', ['-c', 'ps -o sid= -p $$'], { setsid: true, env: process.env });
    assert.deepEqual(own.order, ['started', 'exited', 'done']);
    assert.equal(Number(own.stdout.trim()), own.pid);
    const shared = await run(launcher, '/bin/sh', ['-c', 'ps -o pgid= -p $$'], { env: process.env });
    assert.equal(Number(shared.stdout.trim()), Number(spawnSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).stdout.trim()));
  });

  it('a daemon left holding the output: done a grace after the exit, with what came before', async () => {
    const o = await run(launcher, '/bin/sh', ['-c', 'echo before; sleep 30 & echo $! >&2; exit 0']);
    process.kill(Number(o.stderr), 'SIGTERM');
    assert.equal(o.stdout, 'before\n');
    assert.deepEqual(o.order, ['exited', 'done']);
  });

  it('runs programs side by side, each with its own output', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => run(launcher, '/bin/sh', ['-c', `sleep 0.0${i % 5}; echo ${i}`])));
    assert.deepEqual(
      all.map((o) => o.stdout),
      all.map((_, i) => `${i}\n`),
    );
  });

  it('killed, it fails what was running with its name, and the next program gets a new one', async () => {
    const own = new Launcher(BUILT);
    let sleeper = 0;
    const failure = await new Promise<string>((resolve) => {
      own.spawn({ file: '/bin/sleep', args: ['30'], env: {}, setsid: true }, {
        started(pid) {
          sleeper = pid;
          // Its parent is the launcher: field 4 of /proc/PID/stat, after the command name in parentheses.
          const launcherPid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
          process.kill(launcherPid, 'SIGKILL');
        },
        stdout() {},
        stderr() {},
        exited() {},
        done: () => resolve('done'),
        failed: (err) => resolve(err.message),
      });
    });
    process.kill(sleeper, 'SIGKILL');
    assert.match(failure, new RegExp(`${LAUNCHER_NAME} was killed by SIGKILL`));
    const again = await run(own, '/bin/echo', ['again']);
    assert.equal(again.stdout, 'again\n');
  });

  it('dies with the tool, and holds no event loop open when idle', () => {
    const script = `
      const { Launcher } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'shared', 'launcher', 'launcher.js'))});
      const l = new Launcher(${JSON.stringify(BUILT)});
      const sink = (done) => ({ started() {}, stdout() {}, stderr() {}, exited() {}, failed(e) { throw e; }, done });
      l.spawn({ file: '/bin/true', args: [], env: {}, setsid: false }, sink(() => {
        console.log(l.child.pid);
        if (process.argv[1] === 'hang') l.spawn({ file: '/bin/sleep', args: ['60'], env: {}, setsid: false }, sink(() => {}));
      }));`;
    // Idle after one program: the tool exits by itself, and its launcher with it.
    const idle = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 });
    assert.equal(idle.status, 0, idle.stderr);
    const gone = (pid: number) => !fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    const deadline = Date.now() + 5000;
    while (!gone(Number(idle.stdout)) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
    assert.ok(gone(Number(idle.stdout)), 'the launcher outlived an idle tool');
    // Busy and killed: the launcher goes too (its death signal), though its program runs on.
    const tool = spawn(process.execPath, ['-e', script, 'hang'], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise<void>((resolve, reject) => {
      tool.stdout.once('data', (d: Buffer) => {
        const pid = Number(d.toString());
        tool.kill('SIGKILL');
        tool.on('close', () => {
          const until = Date.now() + 5000;
          while (!gone(pid) && Date.now() < until) spawnSync('sleep', ['0.05']);
          if (gone(pid)) resolve();
          else reject(new Error('the launcher outlived a killed tool'));
        });
      });
    });
  });

  it('a launcher others could replace is refused with the reason', function () {
    if (process.getuid?.() !== 0) this.skip();
    fs.chmodSync(BUILT, 0o775);
    try {
      assert.throws(() => findLauncher({}), (e: unknown) => e instanceof ConfigError && e.message.includes(BUILT) && /writable by its group/.test(e.message));
    } finally {
      fs.chmodSync(BUILT, 0o755);
    }
  });
});
