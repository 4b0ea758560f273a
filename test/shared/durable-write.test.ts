/**
 * The durable batch writer: what it writes, what it leaves behind after a
 * failure or a SIGKILL at any point, and that it syncs before it renames
 * (seen with strace, so a missing fsync or syncfs fails the test), each way
 * a batch can reach the disk (an fsync per file, one syncfs).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { abandonAll, DurableWriter, FileWriteError } from '../../shared/durable-write';
import { fileSystemSync, type FileSystemSync, type SyncMethod } from '../../shared/file-system-sync';
import { MemoryLogger } from '../../shared/log';
import { skipUnless } from '../support/skip';

const MODULE = require.resolve('../../shared/durable-write');
const SYNC_MODULE = require.resolve('../../shared/file-system-sync');

/** For a child's script: `sync`, a writer's FileSystemSync that always takes `method`. */
const forcedInChild = (method: SyncMethod) => `
  const real = require(${JSON.stringify(SYNC_MODULE)}).fileSystemSync();
  const sync = { method: () => ${JSON.stringify(method)}, syncFileSystem: real.syncFileSystem };`;

/** Every path under `dir` whose name looks like one of our temp files. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.name.startsWith('.cfntools-')) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe('durable batch writes', () => {
  let dir: string;
  let journal: string;
  let writer: DurableWriter;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-durable-'));
    journal = path.join(dir, 'journal');
    writer = new DurableWriter(journal);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = (name: string) => path.join(dir, 'out', name);

  it('writes files (mode, owner, mtime), symlinks and hard links, creating parents; leaves no temp file and no journal', async () => {
    const b = writer.batch();
    const mtime = new Date('2020-01-02T03:04:05Z');
    b.addFile(f('a/b/c.txt'), Buffer.from('hello\n'), { mode: 0o640, mtime });
    b.addFile(f('suid'), Buffer.from('#!/bin/sh\n'), { mode: 0o4755, uid: 65534, gid: 65534 });
    b.addSymlink(f('link'), 'a/b/c.txt');
    b.addHardLink(f('hard'), f('a/b/c.txt'));
    await b.commit();
    assert.equal(fs.readFileSync(f('a/b/c.txt'), 'utf8'), 'hello\n');
    assert.equal(fs.statSync(f('a/b/c.txt')).mode & 0o7777, 0o640);
    assert.equal(fs.statSync(f('a/b/c.txt')).mtime.getTime(), mtime.getTime());
    assert.equal(fs.statSync(f('a/b')).mode & 0o7777, 0o755);
    const suid = fs.statSync(f('suid'));
    if (process.getuid?.() === 0) assert.deepEqual([suid.uid, suid.gid, suid.mode & 0o7777], [65534, 65534, 0o4755], 'the mode is set after the chown, which clears setuid');
    assert.equal(fs.readlinkSync(f('link')), 'a/b/c.txt');
    assert.equal(fs.statSync(f('hard')).ino, fs.statSync(f('a/b/c.txt')).ino, 'the hard link is to the new file');
    assert.deepEqual(leftovers(dir), []);
    assert.deepEqual(fs.readdirSync(journal), []);
  });

  it('replaces by rename: the old inode keeps the old content for whoever holds it', async () => {
    fs.mkdirSync(path.dirname(f('x')));
    fs.writeFileSync(f('x'), 'old');
    const fd = fs.openSync(f('x'), 'r');
    await writer.writeFile(f('x'), 'new');
    assert.equal(fs.readFileSync(f('x'), 'utf8'), 'new');
    assert.equal(fs.readFileSync(fd, 'utf8'), 'old');
    fs.closeSync(fd);
  });

  it('without a mode a replaced file keeps its own and a new one gets 0644', async () => {
    fs.mkdirSync(path.dirname(f('x')));
    fs.writeFileSync(f('x'), 'old', { mode: 0o600 });
    await writer.writeFile(f('x'), 'new');
    await writer.writeFile(f('y'), 'new');
    assert.equal(fs.statSync(f('x')).mode & 0o7777, 0o600);
    assert.equal(fs.statSync(f('y')).mode & 0o7777, 0o644);
  });

  it('writes a file whose name is 255 bytes long (the temp names are short)', async () => {
    const name = 'n'.repeat(255);
    await writer.writeFile(f(name), 'long');
    assert.equal(fs.readFileSync(f(name), 'utf8'), 'long');
  });

  it('reserve: the caller fills a temp before commit; drop forgets it; abandon removes temps and the directories made', async () => {
    const b = writer.batch({ dirs: [path.join(dir, 'out')], recursive: true });
    b.makeDirs(f('a/b'));
    const kept = b.reserve(f('a/b/kept'), { mode: 0o640 });
    fs.writeFileSync(kept, 'streamed');
    const gone = b.reserve(f('a/b/same'), { mode: 0o644 });
    b.drop(f('a/b/same'));
    assert.equal(fs.existsSync(gone), false);
    assert.ok(fs.readdirSync(journal).length === 1, 'the journal exists before the first reserved temp');
    await b.commit();
    assert.equal(fs.readFileSync(f('a/b/kept'), 'utf8'), 'streamed');
    assert.equal(fs.statSync(f('a/b/kept')).mode & 0o7777, 0o640);
    assert.equal(fs.existsSync(f('a/b/same')), false);

    const c = writer.batch({ dirs: [path.join(dir, 'out')], recursive: true });
    c.makeDirs(f('new/deeper'));
    fs.writeFileSync(c.reserve(f('new/deeper/x'), { mode: 0o644 }), 'never');
    c.abandon();
    assert.equal(fs.existsSync(f('new')), false, 'the directories it made are gone');
    assert.deepEqual(leftovers(dir), []);
    assert.deepEqual(fs.readdirSync(journal), []);
  });

  it('abandonAll (a stopping process) removes the temps of every unfinished batch and every scratch file', () => {
    const b = writer.batch({ dirs: [path.join(dir, 'out')], recursive: true });
    b.makeDirs(f('x'));
    fs.writeFileSync(b.reserve(f('x/y'), { mode: 0o644 }), 'half');
    const scratch = writer.scratchFile('download');
    fs.writeFileSync(scratch, 'half a download');
    abandonAll();
    assert.deepEqual(leftovers(dir), []);
    assert.equal(fs.existsSync(scratch), false);
    assert.equal(fs.existsSync(f('x')), false);
  });

  it('a parent that is a file fails naming it, before any temp file exists', async () => {
    fs.mkdirSync(path.dirname(f('x')));
    fs.writeFileSync(f('plain'), 'x');
    const b = writer.batch();
    b.addFile(f('ok'), Buffer.from('x'), { mode: 0o644 });
    b.addFile(f('plain/sub'), Buffer.from('x'), { mode: 0o644 });
    await assert.rejects(b.commit(), (e: unknown) => e instanceof FileWriteError && e.file === f('plain') && /not a directory/.test(e.message));
    assert.equal(fs.existsSync(f('ok')), false);
    assert.deepEqual(leftovers(dir), []);
  });

  it('a rename that fails (the target is a directory) names it and removes the remaining temps and the journal', async () => {
    fs.mkdirSync(f('adir'), { recursive: true });
    fs.writeFileSync(path.join(f('adir'), 'inside'), 'x');
    const b = writer.batch();
    b.addFile(f('first'), Buffer.from('1'), { mode: 0o644 });
    b.addFile(f('adir'), Buffer.from('2'), { mode: 0o644 });
    b.addFile(f('last'), Buffer.from('3'), { mode: 0o644 });
    await assert.rejects(b.commit(), (e: unknown) => e instanceof FileWriteError && e.file === f('adir'));
    assert.equal(fs.readFileSync(f('first'), 'utf8'), '1', 'renamed before the failure');
    assert.equal(fs.existsSync(f('last')), false);
    assert.deepEqual(leftovers(dir), []);
    assert.deepEqual(fs.readdirSync(journal), []);
  });

  type Event = { kind: 'sync' | 'syncfs' | 'rename' | 'create'; path: string; end?: number };

  /** Run a batch of `files` files (3 directories) under strace; the syncs, creates and renames in order (a syncfs with the index where it returned). */
  function traced(method: SyncMethod, files: number): { temps: string[]; events: Event[] } {
    const out = path.join(dir, 'out');
    const script = `${forcedInChild(method)}
      const { DurableWriter } = require(${JSON.stringify(MODULE)});
      const b = new DurableWriter(${JSON.stringify(journal)}, undefined, sync).batch();
      for (let i = 0; i < ${files}; i++) b.addFile(${JSON.stringify(out)} + '/d' + (i % 3) + '/f' + i, Buffer.from('x' + i), { mode: 0o644 });
      b.commit().catch((e) => { console.error(e); process.exit(1); });`;
    const trace = path.join(dir, 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,syncfs,rename,renameat,renameat2', '-o', trace, process.execPath, '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // fd → path from openat (descriptors are the process's; fsyncs run on pool threads); then the order of syncs and renames.
    const fdPath = new Map<string, string>();
    const events: Event[] = [];
    // A call interrupted by another thread's is split: `openat(... <unfinished ...>`, later `<... openat resumed>) = 5`.
    const pending = new Map<string, { path: string; create: boolean }>();
    /** Per process: what it opened last (\`sync -f\` opens the directory it is given, then calls syncfs on it). */
    const lastOpened = new Map<string, string>();
    const syncfsOf = new Map<string, Event>();
    const opened = (pid: string, o: { path: string; create: boolean }, fd: string) => {
      fdPath.set(fd, o.path);
      lastOpened.set(pid, o.path);
      if (o.create) events.push({ kind: 'create', path: o.path });
    };
    for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
      const pid = line.split(' ')[0];
      const open = /openat\(AT_FDCWD, "([^"]+)", ([A-Z_|]+)(?:, \d+)?(\)\s+= (\d+)| <unfinished)/.exec(line);
      if (open) {
        const o = { path: open[1], create: open[2].includes('O_CREAT') };
        if (open[4] !== undefined) opened(pid, o, open[4]);
        else pending.set(pid, o);
      }
      const resumed = /<\.\.\. openat resumed>.*= (\d+)/.exec(line);
      if (resumed && pending.has(pid)) {
        opened(pid, pending.get(pid)!, resumed[1]);
        pending.delete(pid);
      }
      const sync = /\bfsync\((\d+)/.exec(line);
      if (sync) events.push({ kind: 'sync', path: fdPath.get(sync[1]) ?? `?${sync[1]}` });
      if (/\bsyncfs\(\d+/.test(line)) {
        const e: Event = { kind: 'syncfs', path: lastOpened.get(pid) ?? '?' };
        events.push(e);
        if (line.includes('<unfinished')) syncfsOf.set(pid, e);
        else e.end = events.length - 1;
      }
      if (line.includes('<... syncfs resumed>')) syncfsOf.get(pid)!.end = events.length - 1;
      const ren = /rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]+)", (?:AT_FDCWD, )?"([^"]+)"/.exec(line);
      if (ren && !ren[1].startsWith(journal)) events.push({ kind: 'rename', path: ren[1] });
    }
    const temps = events.filter((e) => e.kind === 'create' && path.basename(e.path).startsWith('.cfntools-')).map((e) => e.path);
    assert.equal(temps.length, files);
    const firstTemp = events.findIndex((e) => e.kind === 'create' && temps.includes(e.path));
    assert.ok(events.slice(0, firstTemp).some((e) => e.kind === 'sync' && e.path.startsWith(journal)), 'the journal is synced before the first temp file');
    const lastRename = events.map((e) => e.kind).lastIndexOf('rename');
    const dirSyncs = events.slice(lastRename).filter((e) => e.kind === 'sync').map((e) => e.path).sort();
    assert.deepEqual(dirSyncs, [dir, out, `${out}/d0`, `${out}/d1`, `${out}/d2`].sort(), 'each directory that gained an entry is synced once, after the renames');
    return { temps, events };
  }

  /** Each temp: a syncfs of its file system began after it was written and returned before it was renamed. */
  function assertCoveredBySyncfs(temps: string[], events: Event[]): void {
    const at = (kind: Event['kind'], p: string) => events.findIndex((e) => e.kind === kind && e.path === p);
    const syncs = events.flatMap((e, i) => (e.kind === 'syncfs' ? [{ start: i, end: e.end!, path: e.path }] : []));
    for (const s of syncs) assert.ok(s.path.startsWith(path.join(dir, 'out', 'd')), `syncfs of the temps' file system, by one of their directories: ${s.path}`);
    const uncovered = temps.filter((t) => !syncs.some((s) => at('create', t) < s.start && s.end < at('rename', t)));
    assert.deepEqual(uncovered, [], 'every temp is written before a syncfs that returns before its rename');
    assert.deepEqual(events.filter((e) => e.kind === 'sync' && temps.includes(e.path)), [], 'no temp is fsynced on its own');
  }

  it('fsyncing each file: the journal before any temp exists, every temp before the first rename, each directory once after the last', function () {
    skipUnless(this, 'the strace test', spawnSync('strace', ['-V']).status !== 0 ? 'strace is not installed' : undefined);
    const { temps, events } = traced('each', 300);
    const firstRename = events.findIndex((e) => e.kind === 'rename');
    const syncedBefore = new Set(events.slice(0, firstRename).filter((e) => e.kind === 'sync').map((e) => e.path));
    assert.deepEqual(temps.filter((t) => !syncedBefore.has(t)), [], 'every temp file is synced before the first rename');
    assert.ok(!events.some((e) => e.kind === 'syncfs'));
  });

  it('syncing the file system: one syncfs after the last temp is written and before the first rename, no fsync of a temp, each directory once after the last rename', function () {
    skipUnless(this, 'the strace test', spawnSync('strace', ['-V']).status !== 0 ? 'strace is not installed' : undefined);
    const { temps, events } = traced('file-system', 300);
    const syncfs = events.flatMap((e, i) => (e.kind === 'syncfs' ? [i] : []));
    assert.equal(syncfs.length, 1, 'one syncfs for the one file system');
    const lastTemp = events.map((e) => e.kind === 'create' && temps.includes(e.path)).lastIndexOf(true);
    assert.ok(lastTemp < syncfs[0] && events[syncfs[0]].end! < events.findIndex((e) => e.kind === 'rename'), 'between the last temp and the first rename');
    assertCoveredBySyncfs(temps, events);
  });

  /** Temps fsynced on their own while `run` runs (the path of each descriptor fsynced, read when it is). */
  async function fsyncedTemps(run: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    // The module object itself: \`import * as\` gives a read-only view of it.
    const orig = nodeFs.fsync;
    (nodeFs as { fsync: unknown }).fsync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      seen.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
      orig(fd, cb);
    };
    try {
      await run();
    } finally {
      nodeFs.fsync = orig;
    }
    return seen.filter((p) => path.basename(p).startsWith('.cfntools-'));
  }

  it('when the file system cannot be synced, each file is fsynced instead (more than one chunk of open files), and the log says why', async () => {
    const log = new MemoryLogger();
    const count = 300;
    const broken: FileSystemSync = { method: () => 'file-system', syncFileSystem: async () => 'sync -f failed (exit 1)' };
    const b = new DurableWriter(journal, log, broken).batch();
    for (let i = 0; i < count; i++) b.addFile(f(`d${i % 2}/f${i}`), Buffer.from(`x${i}`), { mode: 0o644 });
    const synced = await fsyncedTemps(() => b.commit());
    assert.equal(synced.length, count);
    assert.equal(new Set(synced).size, count, 'every temp, once');
    assert.equal(fs.readFileSync(f(`d1/f${count - 1}`), 'utf8'), `x${count - 1}`);
    assert.ok(log.lines.some((l) => /Could not sync the file system of .*\/out\/d0 \(sync -f failed \(exit 1\)\); syncing each of its 300 new files instead/.test(l)), log.lines.join('\n'));
    assert.deepEqual(leftovers(dir), []);
  });

  it('on a file system in memory no temp is fsynced; one syncfs per file system, asked with the count of its files', async function () {
    const shm = fs.existsSync('/dev/shm') && fs.statfsSync('/dev/shm').type === 0x01021994 ? '/dev/shm' : undefined;
    skipUnless(this, 'the tmpfs test', shm === undefined ? '/dev/shm is not a tmpfs' : fs.statSync(shm).dev === fs.statSync(dir).dev ? `${dir} is on /dev/shm's file system` : undefined);
    const there = fs.mkdtempSync(path.join(shm!, 'cfntools-durable-'));
    try {
      const asked: Array<[string, number]> = [];
      const machine = fileSystemSync();
      const recording: FileSystemSync = {
        method: (d, n) => {
          asked.push([d, n]);
          return machine.method(d, n);
        },
        syncFileSystem: async () => undefined,
      };
      const b = new DurableWriter(journal, undefined, recording).batch();
      for (let i = 0; i < 6; i++) b.addFile(path.join(there, `m${i}`), Buffer.from('m'), { mode: 0o644 });
      for (let i = 0; i < 3; i++) b.addFile(f(`d/f${i}`), Buffer.from('d'), { mode: 0o644 });
      b.addSymlink(f('d/link'), 'f0');
      const synced = await fsyncedTemps(() => b.commit());
      assert.deepEqual(asked, [[there, 6], [f('d'), 3]], 'one question per file system, links not counted');
      assert.deepEqual(synced.map((p) => path.dirname(p)), [f('d'), f('d'), f('d')], 'the tmpfs temps are not fsynced, the others are (3 files: below the syncfs threshold)');
      assert.equal(fs.readFileSync(path.join(there, 'm5'), 'utf8'), 'm');
    } finally {
      fs.rmSync(there, { recursive: true, force: true });
    }
  });

  describe('killed at any moment (SIGKILL)', () => {
    /** Targets: the even ones of `count` exist with old content; the batch writes new content to all. */
    function prepare(count: number): void {
      for (let i = 0; i < count; i += 2) {
        fs.mkdirSync(path.dirname(f(`d${i % 4}/t${i}`)), { recursive: true });
        fs.writeFileSync(f(`d${i % 4}/t${i}`), `old ${i}\n`.repeat(500));
      }
    }
    /** A child's script: a batch of `count` files synced by `method`. */
    const batchScript = (method: SyncMethod, count: number) => `${forcedInChild(method)}
      const { DurableWriter } = require(${JSON.stringify(MODULE)});
      const b = new DurableWriter(${JSON.stringify(journal)}, undefined, sync).batch();
      for (let i = 0; i < ${count}; i++) b.addFile(${JSON.stringify(path.join(dir, 'out'))} + '/d' + (i % 4) + '/t' + i, Buffer.from(('new ' + i + '\\n').repeat(500)), { mode: 0o644 });`;
    /** Run the batch in a child that kills itself at the `n`th call of `fn` (fs.openSync, child_process.spawn, ...). */
    function runKilledAt(method: SyncMethod, count: number, fn: string, n: number): ReturnType<typeof spawnSync> {
      const [mod, name] = fn.includes('.') ? fn.split('.') : ['fs', fn];
      const script = `
        const target = require(${JSON.stringify(mod)});
        let calls = 0; const orig = target[${JSON.stringify(name)}];
        target[${JSON.stringify(name)}] = function (...a) { if (++calls === ${n}) process.kill(process.pid, 'SIGKILL'); return orig.apply(this, a); };
        ${batchScript(method, count)}
        b.commit().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
      return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    }
    function assertOldOrNew(count: number): { old: number; fresh: number } {
      let old = 0;
      let fresh = 0;
      for (let i = 0; i < count; i++) {
        const p = f(`d${i % 4}/t${i}`);
        if (!fs.existsSync(p)) {
          assert.equal(i % 2, 1, `${p} existed before and must still exist`);
          continue;
        }
        const text = fs.readFileSync(p, 'utf8');
        if (text === `old ${i}\n`.repeat(500)) old++;
        else if (text === `new ${i}\n`.repeat(500)) fresh++;
        else assert.fail(`${p} is torn: ${JSON.stringify(text.slice(0, 40))}...`);
      }
      return { old, fresh };
    }

    interface KillPoint {
      fn: string;
      n: number;
      /** What the batch had done by then: temps left for the sweep; some renamed and some not; none renamed. */
      left?: boolean;
      halfway?: boolean;
      noneRenamed?: boolean;
    }
    // Before the journal, during temp creation, in the syncs, in the renames, before the directory syncs.
    const suites: Array<{ name: string; method: SyncMethod; count: number; points: KillPoint[] }> = [
      {
        name: 'fsyncing each file',
        method: 'each',
        count: 60,
        points: [
          { fn: 'openSync', n: 1 },
          { fn: 'openSync', n: 2 },
          { fn: 'openSync', n: 30, left: true },
          { fn: 'fsyncSync', n: 1 },
          { fn: 'fsync', n: 20, left: true },
          { fn: 'renameSync', n: 2, left: true },
          { fn: 'renameSync', n: 31, left: true, halfway: true },
          { fn: 'closeSync', n: 65 },
        ],
      },
      {
        name: 'syncing the file system',
        method: 'file-system',
        count: 60,
        points: [
          { fn: 'openSync', n: 30, left: true },
          { fn: 'fsyncSync', n: 1 },
          // All temps written and closed, \`sync -f\` about to run.
          { fn: 'child_process.spawn', n: 1, left: true, noneRenamed: true },
          { fn: 'renameSync', n: 2, left: true },
          { fn: 'renameSync', n: 31, left: true, halfway: true },
          { fn: 'closeSync', n: 65 },
        ],
      },
    ];
    for (const { name, method, count, points } of suites) {
      describe(name, () => {
        for (const { fn, n, left, halfway, noneRenamed } of points) {
          it(`at ${fn.includes('.') ? fn : `fs.${fn}`} call ${n}: every target holds its old or its new content, and the next writer removes the leftovers`, () => {
            prepare(count);
            const r = runKilledAt(method, count, fn, n);
            assert.equal(r.signal, 'SIGKILL', `the child should have been killed: ${r.stderr}`);
            const seen = assertOldOrNew(count);
            if (halfway) assert.ok(seen.old > 0 && seen.fresh > 0, 'killed half-way through the renames');
            if (noneRenamed) assert.equal(seen.fresh, 0, 'nothing renamed yet');
            if (left) assert.ok(leftovers(dir).length > 0, 'temp files were left for the sweep');
            new DurableWriter(journal).sweep();
            assert.deepEqual(leftovers(dir), []);
            assert.deepEqual(fs.readdirSync(journal), []);
          });
        }

        it('at random moments: never torn, never a leftover after the next writer', function () {
          this.timeout(60_000);
          for (let round = 0; round < 12; round++) {
            prepare(count);
            const script = `${batchScript(method, count)}
              setTimeout(() => process.kill(process.pid, 'SIGKILL'), ${Math.floor(Math.random() * (count > 100 ? 60 : 20))});
              b.commit().then(() => setTimeout(() => {}, 100));`;
            spawnSync(process.execPath, ['-e', script]);
            assertOldOrNew(count);
            new DurableWriter(journal).sweep();
            assert.deepEqual(leftovers(dir), []);
            fs.rmSync(path.join(dir, 'out'), { recursive: true, force: true });
          }
        });
      });
    }
  });

  it("the sweep leaves a live writer's temps alone, and never removes a name that is not the dead writer's", () => {
    fs.mkdirSync(journal, { recursive: true });
    fs.mkdirSync(path.join(dir, 'out'));
    // A live writer: this process (its identity from /proc).
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 12);
    const start = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
    const live = `${boot}-${process.pid}-${start}-aaaaaaaa`;
    fs.writeFileSync(f(`.cfntools-${live}-0.tmp`), 'live');
    fs.writeFileSync(path.join(journal, `${live}.json`), JSON.stringify({ dirs: [path.join(dir, 'out')], recursive: false }));
    // A dead one (pid 1 with another start time is not it): its temps go, in the directories it names
    // (below them too when recursive); names of other tokens and other files stay.
    const dead = `${boot}-1-999999999999-bbbbbbbb`;
    fs.mkdirSync(f('sub'));
    fs.writeFileSync(f(`.cfntools-${dead}-0.tmp`), 'dead');
    fs.writeFileSync(f(`sub/.cfntools-${dead}-7.tmp`), 'dead');
    fs.writeFileSync(f(`.cfntools-${dead}-x.tmp`), 'not of the pattern');
    fs.writeFileSync(f('precious'), 'keep');
    fs.writeFileSync(path.join(journal, `${dead}.json`), JSON.stringify({ dirs: [path.join(dir, 'out'), 'relative/dir'], recursive: true }));
    new DurableWriter(journal).sweep();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'out')).sort(), [`.cfntools-${dead}-x.tmp`, `.cfntools-${live}-0.tmp`, 'precious', 'sub']);
    assert.deepEqual(fs.readdirSync(f('sub')), []);
    assert.deepEqual(fs.readdirSync(journal), [`${live}.json`]);
  });
});
