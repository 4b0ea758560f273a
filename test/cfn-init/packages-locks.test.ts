/**
 * Package installs wait for another process's lock on the package database,
 * within `package-lock-wait`: real apt-get/dpkg and rpm against private
 * databases (so the locks held here are never the machine's), the holder a
 * real process with fcntl write locks as dpkg, apt and rpm take them. The
 * holder is let go once the handler has said it waits, never on a timer.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packagesHandler } from '../../shared/init/handlers/packages';
import { aptLock } from '../../shared/init/handlers/packages/apt';
import { lockHolder, parseProcLocks } from '../../shared/init/handlers/packages/lock-holder';
import { englishMessages, PackageLockError } from '../../shared/init/handlers/packages/lock-wait';
import { rpmLock } from '../../shared/init/handlers/packages/rpm';
import { yumLock } from '../../shared/init/handlers/packages/yum';
import { DEFAULT_LIMITS, formatDuration, parseLimits } from '../../shared/init/limits';
import { dpkgVersion, makeAptRepo, purgeDeb, type AptRepo } from './support/deb-repo';
import { applyKey, handlerContext, tempDir, TestSystem, uniqueName } from './support/handler-harness';
import { LockHolderProcess, untilLogged } from './support/held-lock';
import { makeRpmWorld, writeYumStandIn, type RpmWorld } from './support/rpm-build';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('cfn-init packages: the package manager lock', function () {
  describe('what the managers print when their lock is held', () => {
    it("apt: the lock and its holder, from apt 2.6's own words (at once, and after DPkg::Lock::Timeout), and from apt 1.6's", () => {
      assert.deepEqual(aptLock.held('E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 5492 (python3)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n'), {
        lock: '/var/lib/dpkg/lock-frontend',
        holder: { pid: 5492, program: 'python3' },
      });
      const waited = [
        'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 5330 (apt-get)...',
        'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock. It is held by process 5331 (dpkg)...',
        'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?',
      ].join('\n');
      assert.deepEqual(aptLock.held(waited), { lock: '/var/lib/dpkg/lock', holder: { pid: 5331, program: 'dpkg' } }, 'the last holder named');
      assert.deepEqual(aptLock.held('E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/\n'), {
        lock: '/var/lib/apt/lists/lock',
        holder: { pid: 77, program: 'apt-get' },
      });
      assert.deepEqual(aptLock.held('E: Could not get lock /var/lib/dpkg/lock-frontend - open (11: Resource temporarily unavailable)\n'), { lock: '/var/lib/dpkg/lock-frontend' });
    });

    it('apt: not being root, or any other failure, is not a held lock', () => {
      assert.equal(aptLock.held('E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?\n'), undefined);
      assert.equal(aptLock.held('E: Unable to locate package nosuch\n'), undefined);
      assert.deepEqual(aptLock.lockArgs!(600), ['-o', 'DPkg::Lock::Timeout=600']);
    });

    it("rpm: the transaction lock (rpm does not name the holder); a permission problem is not a held lock", () => {
      assert.deepEqual(rpmLock.held("error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Resource temporarily unavailable)\n"), { lock: '/var/lib/rpm/.rpm.lock' });
      assert.equal(rpmLock.held("error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Permission denied)\n"), undefined);
    });

    it('yum 3, dnf 4, dnf 5 and the rpm lock under them; they are told to fail at once (exit_on_lock) so that we poll', () => {
      assert.deepEqual(yumLock.held('Existing lock /var/run/yum.pid: another copy is running as pid 4242.\nAnother app is currently holding the yum lock; exiting as configured by exit_on_lock\n'), {
        lock: '/var/run/yum.pid',
        holder: { pid: 4242 },
      });
      assert.deepEqual(yumLock.held('RPMDB already locked by 3131\nThe application with PID 3131 is: dnf\n'), { lock: "dnf's RPMDB lock", holder: { pid: 3131 } });
      assert.deepEqual(yumLock.held('Failed to obtain rpm transaction lock. Another transaction is in progress.\n'), { lock: "dnf's rpm transaction lock" });
      assert.deepEqual(yumLock.held("error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Resource temporarily unavailable)\n"), { lock: '/var/lib/rpm/.rpm.lock' });
      assert.equal(yumLock.held('Error: Unable to find a match: nosuch\n'), undefined);
      assert.deepEqual(yumLock.lockArgs!(600), ['--setopt=exit_on_lock=True']);
    });

    it("the kernel's lock table: granted locks with a pid, not waiters nor open file description locks", () => {
      const table = [
        '1: POSIX  ADVISORY  WRITE 5197 fe:00:2147045 0 EOF',
        '1: -> POSIX  ADVISORY  WRITE 6000 fe:00:2147045 0 EOF',
        '2: OFDLCK ADVISORY  WRITE -1 00:19:77 0 EOF',
        '3: FLOCK  ADVISORY  WRITE 812 103:02:1311 0 EOF',
        '',
      ].join('\n');
      assert.deepEqual(parseProcLocks(table), [
        { pid: 5197, major: 0xfe, minor: 0, inode: 2147045n },
        { pid: 812, major: 0x103, minor: 2, inode: 1311n },
      ]);
    });

    it('the managers run with English messages; the rest of the locale is kept', () => {
      assert.deepEqual(englishMessages({ PATH: '/bin', LC_ALL: 'fr_FR.UTF-8', LANGUAGE: 'fr' }), { PATH: '/bin', LANG: 'fr_FR.UTF-8', LANGUAGE: 'fr', LC_MESSAGES: 'C' });
      assert.deepEqual(englishMessages({ LANG: 'de_DE.UTF-8' }), { LANG: 'de_DE.UTF-8', LC_MESSAGES: 'C' });
    });

    it('`--limit package-lock-wait` moves the bound (10 minutes by default; a bare number is seconds)', () => {
      assert.equal(DEFAULT_LIMITS.packageLockWait, 600_000);
      assert.equal(parseLimits(['package-lock-wait=90']).packageLockWait, 90_000);
      assert.equal(parseLimits(['package-lock-wait=2m']).packageLockWait, 120_000);
      assert.throws(() => parseLimits(['package-lock-wait=soon']), /--limit package-lock-wait: expected a positive duration like 90s, 2m/);
      assert.deepEqual([600_000, 90_000, 2000, 1500, 7_200_000].map(formatDuration), ['10m', '90s', '2s', '1500ms', '2h']);
    });
  });

  describe('a real holder', function () {
    this.timeout(60_000);
    let dir: string;
    let holder: LockHolderProcess | undefined;
    before(() => (dir = tempDir('cfntest-lockholder')));
    afterEach(async () => {
      await holder?.release();
      holder = undefined;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('is found in /proc/locks with its program name, and no longer once it has let go', async () => {
      const file = path.join(dir, 'lock');
      holder = await LockHolderProcess.hold([file]);
      const found = lockHolder(file);
      assert.equal(found?.pid, holder.pid);
      assert.match(found?.program ?? '', /^python3/);
      await holder.release();
      assert.equal(lockHolder(file), undefined);
    });
  });

  describe('apt (real apt-get and dpkg, private dpkg database and apt state)', function () {
    this.timeout(120_000);
    let dir: string;
    let repo: AptRepo;
    let admindir: string;
    let holder: LockHolderProcess | undefined;
    const first = uniqueName();
    const second = uniqueName();
    const third = uniqueName();

    before(() => {
      dir = tempDir('cfntest-aptlock');
      repo = makeAptRepo(dir, process.env, { privateDpkg: true });
      admindir = repo.admindir!;
      repo.add(first, '1.0-1');
      repo.add(second, '1.0-1');
    });
    afterEach(async () => {
      await holder?.release();
      holder = undefined;
    });
    after(() => {
      for (const p of [first, second, third]) if (dpkgVersion(p, admindir)) purgeDeb(p, admindir);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("waits for dpkg's lock, says once for whom, and installs when it is let go", async () => {
      holder = await LockHolderProcess.hold([path.join(admindir, 'lock-frontend'), path.join(admindir, 'lock')]);
      const ctx = handlerContext({ env: repo.env });
      const applying = applyKey(packagesHandler, { apt: { [first]: '' } }, ctx);
      await untilLogged(ctx.logger.lines, new RegExp(`apt: install ${first}: waiting up to 10m for ${escape(admindir)}/lock-frontend, held by process ${holder.pid} \\(python3`), applying);
      await holder.release();
      await applying;
      assert.equal(dpkgVersion(first, admindir), '1.0-1');
      assert.equal(ctx.logger.lines.filter((l) => l.includes('waiting up to')).length, 1, ctx.logger.lines.join('\n'));
      assert.ok(ctx.logger.lines.some((l) => l.includes(`apt: install ${first}: ${admindir}/lock-frontend came free after `)), ctx.logger.lines.join('\n'));
      assert.deepEqual([...(ctx.changes.packages.get('apt') ?? [])], [first]);
    });

    it('a lock never let go fails at the bound, naming the lock, its holder and the limit; nothing is installed', async () => {
      holder = await LockHolderProcess.hold([path.join(admindir, 'lock-frontend'), path.join(admindir, 'lock')]);
      const ctx = handlerContext({ env: repo.env, limits: { packageLockWait: 2000 } });
      await assert.rejects(applyKey(packagesHandler, { apt: { [second]: '' } }, ctx), (err: unknown) => {
        assert.ok(err instanceof PackageLockError, String(err));
        assert.equal(err.limit, 'package-lock-wait');
        assert.equal(err.held.holder?.pid, holder!.pid);
        assert.match(
          err.message,
          new RegExp(`^config\\.packages\\.apt: apt: install ${second}: gave up after waiting 2s for ${escape(admindir)}/lock-frontend, held by process ${holder!.pid} \\(python3[^)]*\\); --limit package-lock-wait=DURATION waits longer$`),
        );
        return true;
      });
      assert.equal(dpkgVersion(second, admindir), undefined);
      assert.equal(ctx.changes.packages.size, 0);
    });

    it("apt-get update waits for the lists' lock too (apt's own timeout does not cover it: polled)", async () => {
      repo.add(third, '1.0-1'); // not in the lists yet: the handler runs apt-get update
      holder = await LockHolderProcess.hold([path.join(dir, 'lists', 'lock')]);
      const ctx = handlerContext({ env: repo.env });
      const applying = applyKey(packagesHandler, { apt: { [third]: '' } }, ctx);
      await untilLogged(ctx.logger.lines, new RegExp(`apt: update the package lists: waiting up to 10m for ${escape(dir)}/lists/lock, held by process ${holder.pid} `), applying);
      await holder.release();
      await applying;
      assert.equal(dpkgVersion(third, admindir), '1.0-1');
    });
  });

  describe('rpm and yum (real rpm, private database)', function () {
    this.timeout(60_000);
    let dir: string;
    let w: RpmWorld;
    let rpmLockFile: string;
    let holder: LockHolderProcess | undefined;
    const a = uniqueName();
    const b = uniqueName();
    const c = uniqueName();
    let fileA: string;
    let fileB: string;

    before(() => {
      dir = tempDir('cfntest-rpmlock');
      w = makeRpmWorld(dir);
      fileA = w.build(a, '1.0');
      fileB = w.build(b, '1.0');
      w.build(c, '1.0');
      rpmLockFile = path.join(dir, 'rpmdb', '.rpm.lock');
    });
    afterEach(async () => {
      await holder?.release();
      holder = undefined;
    });
    after(() => {
      for (const n of [a, b, c]) w.erase(n);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("rpm waits for the transaction lock, naming the holder from the kernel's lock table, and installs when it is let go", async () => {
      holder = await LockHolderProcess.hold([rpmLockFile]);
      const ctx = handlerContext({ env: w.env });
      const applying = applyKey(packagesHandler, { rpm: { mytool: fileA } }, ctx);
      await untilLogged(ctx.logger.lines, new RegExp(`rpm: install mytool .*: waiting up to 10m for ${escape(rpmLockFile)}, held by process ${holder.pid} \\(python3`), applying);
      await holder.release();
      await applying;
      assert.deepEqual(w.installed(a), ['1.0-1']);
    });

    it('a transaction lock never let go fails at the bound naming the holder; nothing is installed', async () => {
      holder = await LockHolderProcess.hold([rpmLockFile]);
      const ctx = handlerContext({ env: w.env, limits: { packageLockWait: 1500 } });
      await assert.rejects(applyKey(packagesHandler, { rpm: { other: fileB } }, ctx), (err: unknown) => {
        assert.ok(err instanceof PackageLockError, String(err));
        assert.match(err.message, new RegExp(`^config\\.packages\\.rpm: rpm: install other .*: gave up after waiting 1500ms for ${escape(rpmLockFile)}, held by process ${holder!.pid} \\(python3`));
        return true;
      });
      assert.deepEqual(w.installed(b), []);
    });

    it('yum (a stand-in over the real rpm) waits for the rpm lock under it', async () => {
      const log = path.join(dir, 'dnf.log');
      writeYumStandIn(path.join(dir, 'bin'), 'dnf', w.repo, log);
      const env = { ...w.env, PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin` };
      assert.equal(new TestSystem(env).which('yum'), undefined, 'precondition: no real yum on /usr/bin:/bin');
      holder = await LockHolderProcess.hold([rpmLockFile]);
      const ctx = handlerContext({ env });
      const applying = applyKey(packagesHandler, { yum: { [c]: '' } }, ctx);
      await untilLogged(ctx.logger.lines, new RegExp(`yum: install ${c} .*: waiting up to 10m for ${escape(rpmLockFile)}, held by process ${holder.pid} `), applying);
      await holder.release();
      await applying;
      assert.deepEqual(w.installed(c), ['1.0-1']);
      const calls = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
      assert.ok(calls.length >= 3 && calls.every((x) => x.startsWith('--setopt=exit_on_lock=True ')), calls.join('\n'));
    });
  });
});
