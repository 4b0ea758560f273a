/**
 * How a batch's files reach the disk: which file systems and kernels get one
 * syncfs, which an fsync per file, which nothing; and `sync -f` run for real,
 * failing, missing and hanging.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SYNC_SETTINGS, fileSystemSync, kernelReportsSyncfsErrors, SYNCFS_MIN_FILES } from '../../shared/file-system-sync';
import { skipUnless } from '../support/skip';

const DISK_TYPES: Record<number, string> = { 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs' };

describe('file system sync', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-fssync-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('syncfs only from Linux 5.17, whose syncfs reports what fsync would', () => {
    for (const r of ['5.17.0', '6.1.0-18-amd64', '6.18.44-fc-v1300', '10.0.0']) assert.equal(kernelReportsSyncfsErrors(r), true, r);
    for (const r of ['5.16.20', '5.15.0-91-generic', '4.18.0-513.el8.x86_64', '3.10.0', 'unknown']) assert.equal(kernelReportsSyncfsErrors(r), false, r);
  });

  it('on ext4, XFS or btrfs: syncfs from SYNCFS_MIN_FILES files on, an fsync each below; an older kernel fsyncs each', function () {
    const type = fs.statfsSync(dir).type >>> 0;
    skipUnless(this, 'the disk file system test', DISK_TYPES[type] ? undefined : `${os.tmpdir()} is not on ext4, XFS or btrfs (statfs type 0x${type.toString(16)})`);
    const sync = fileSystemSync();
    assert.equal(sync.method(dir, SYNCFS_MIN_FILES), kernelReportsSyncfsErrors(os.release()) ? 'file-system' : 'each');
    assert.equal(sync.method(dir, SYNCFS_MIN_FILES - 1), 'each');
    assert.equal(fileSystemSync({ kernel: '5.15.0' }).method(dir, 1000), 'each');
  });

  it('on tmpfs: nothing to sync', function () {
    const shm = '/dev/shm';
    skipUnless(this, 'the tmpfs test', fs.existsSync(shm) && fs.statfsSync(shm).type === 0x01021994 ? undefined : `${shm} is not a tmpfs`);
    assert.equal(fileSystemSync().method(shm, 1), 'none');
    assert.equal(fileSystemSync().method(shm, 1000), 'none');
  });

  it('runs sync -f for real', async function () {
    const program = DEFAULT_SYNC_SETTINGS.programs.find((p) => fs.existsSync(p));
    skipUnless(this, 'the sync -f test', program ? undefined : 'coreutils sync is not installed');
    assert.equal(await fileSystemSync().syncFileSystem(dir), undefined);
  });

  it('a sync program that fails, is missing or hangs: says why, and this process uses fsync from then on', async function () {
    const type = fs.statfsSync(dir).type >>> 0;
    skipUnless(this, 'the fallback test', DISK_TYPES[type] && kernelReportsSyncfsErrors(os.release()) ? undefined : 'syncfs is not used here (file system or kernel)');
    const failing = fileSystemSync({ programs: ['/bin/false'], minFiles: 1 });
    assert.equal(failing.method(dir, 1), 'file-system');
    assert.match((await failing.syncFileSystem(dir))!, /^\/bin\/false -f .* failed \(exit 1\)$/);
    assert.equal(failing.method(dir, 1000), 'each');

    const missing = fileSystemSync({ programs: [path.join(dir, 'no-such-sync')], minFiles: 1 });
    assert.match((await missing.syncFileSystem(dir))!, /no sync program/);
    assert.equal(missing.method(dir, 1000), 'each');

    const hanging = path.join(dir, 'hanging-sync');
    fs.writeFileSync(hanging, '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
    const slow = fileSystemSync({ programs: [hanging], minFiles: 1, timeoutMs: 50 });
    assert.match((await slow.syncFileSystem(dir))!, /did not finish within 0\.05 s/);
    assert.equal(slow.method(dir, 1000), 'each');
  });
});
