import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { availableMemory, cpuUtilization, diskReadings, memoryReadings, swapReadings } from '../../agents/cfn-push-stats/readings';
import { mountOf, parseMeminfo, parseMounts, parseProcStat, ReadingError, systemReader } from '../../agents/cfn-push-stats/system';
import { parseSizeUnit } from '../../agents/cfn-push-stats/units';
/** Known /proc files (the tool reads /proc under CFNTOOLS_SYSTEM_ROOT). */
export const PROC_ROOT = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'proc-root');
const ROOT = PROC_ROOT;
const MB = parseSizeUnit('megabytes', 'x');
const GB = parseSizeUnit('Gigabytes', 'x');
const all = { util: true, used: true, avail: true, inclCacheBuff: false, units: MB };

describe('cfn-push-stats readings from known /proc files', () => {
  const reader = systemReader(ROOT);

  it('meminfo in bytes; memory as the CloudWatch scripts define it, with MemAvailable for "available"', () => {
    const info = reader.meminfo();
    assert.equal(info.MemTotal, 4_000_000 * 1024);
    assert.equal(info.HugePages_Total, 0, 'fields without kB are counts');
    const [util, used, avail] = memoryReadings(info, all);
    assert.deepEqual(util, { name: 'MemoryUtilization', value: 25, unit: 'Percent' });
    assert.deepEqual(used, { name: 'MemoryUsed', value: (1_000_000 * 1024) / 1024 ** 2, unit: 'Megabytes' });
    assert.deepEqual(avail, { name: 'MemoryAvailable', value: (3_000_000 * 1024) / 1024 ** 2, unit: 'Megabytes' });
  });

  it('--mem-used-incl-cache-buff: only MemFree is available; without MemAvailable (old kernels): MemFree + Cached + Buffers', () => {
    const info = reader.meminfo();
    const [util] = memoryReadings(info, { ...all, inclCacheBuff: true });
    assert.equal(util.value, 87.5);
    const old = { ...info };
    delete old.MemAvailable;
    assert.equal(availableMemory(old, false), (500_000 + 1_500_000 + 100_000) * 1024);
    assert.equal(memoryReadings(old, all)[0].value, 47.5);
  });

  it('swap: used = total - free; utilisation 0 without swap', () => {
    const info = reader.meminfo();
    assert.deepEqual(swapReadings(info, { util: true, used: true, units: MB }), [
      { name: 'SwapUtilization', value: 25, unit: 'Percent' },
      { name: 'SwapUsed', value: (500_000 * 1024) / 1024 ** 2, unit: 'Megabytes' },
    ]);
    assert.equal(swapReadings({ MemTotal: 1, SwapTotal: 0, SwapFree: 0 }, { util: true, used: false, units: MB })[0].value, 0);
  });

  it('/proc/stat: busy and total jiffies (guest time not counted twice), btime', () => {
    const s = reader.procStat();
    assert.equal(s.btime, 1764633600);
    assert.deepEqual(s.cpu, { total: 10000 + 500 + 3000 + 80000 + 1500 + 0 + 200 + 300, busy: 10000 + 500 + 3000 + 200 + 300 });
    assert.equal(cpuUtilization({ busy: 100, total: 1000 }, { busy: 350, total: 2000 }), 25);
    assert.equal(cpuUtilization({ busy: 100, total: 1000 }, { busy: 100, total: 1000 }), undefined, 'no time passed');
  });

  it('mounts: octal escapes undone; a path belongs to the longest mount point above it', () => {
    const mounts = reader.mounts();
    assert.equal(mounts.find((m) => m.device === '/dev/vdb')?.mountPoint, '/srv/my data');
    assert.equal(mountOf(mounts, '/srv/my data/x')?.device, '/dev/vdb');
    assert.equal(mountOf(mounts, '/srv/my datax')?.device, '/dev/vdc', 'a prefix of a name is not a parent');
    assert.equal(mountOf(mounts, '/srv')?.device, '/dev/vdc');
    assert.equal(mountOf(mounts, '/home/u')?.device, '/dev/vda');
    assert.equal(mountOf(parseMounts('/dev/a /x ext4 rw 0 0\n'), '/y'), undefined);
  });

  it('disk: used = blocks - free; utilisation of all blocks (reserved included); available as df shows it', () => {
    const space = { total: 100 * 1024 ** 3, free: 40 * 1024 ** 3, available: 35 * 1024 ** 3 };
    const r = diskReadings(space, { device: '/dev/vda', mountPoint: '/', fsType: 'ext4' }, { util: true, used: true, avail: true, units: GB });
    assert.deepEqual(r.map((x) => [x.name, x.value, x.unit]), [
      ['DiskSpaceUtilization', 60, 'Percent'],
      ['DiskSpaceUsed', 60, 'Gigabytes'],
      ['DiskSpaceAvailable', 35, 'Gigabytes'],
    ]);
    assert.deepEqual(r[0].dimensions, [{ name: 'Filesystem', value: '/dev/vda' }, { name: 'MountPath', value: '/' }]);
  });

  it('a malformed or missing file is an error naming it', () => {
    assert.throws(() => parseMeminfo('nothing here\n', '/x/meminfo'), (e: unknown) => e instanceof ReadingError && /\/x\/meminfo: no MemTotal/.test(e.message));
    assert.throws(() => parseProcStat('cpu  1 2\nbtime 5\n', '/x/stat'), /\/x\/stat: the cpu line has 2 fields/);
    assert.throws(() => parseProcStat('cpu  1 2 3 4\n', '/x/stat'), /no btime/);
    assert.throws(() => systemReader('/nonexistent-root').meminfo(), /nonexistent-root\/proc\/meminfo: cannot read/);
  });
});

describe('cfn-push-stats readings from this machine, against /proc and statvfs read independently', () => {
  const reader = systemReader('/');

  it('MemTotal and swap total as Python reads /proc/meminfo; disk figures as os.statvfs gives them', function () {
    const py = spawnSync('/usr/bin/python3', ['-c', [
      'import os, json',
      'm = {l.split(":")[0]: int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.split()[-1] == "kB"}',
      's = os.statvfs("/")',
      'print(json.dumps({"total": m["MemTotal"], "swap": m["SwapTotal"], "blocks": s.f_blocks * s.f_frsize, "bfree": s.f_bfree * s.f_frsize, "bavail": s.f_bavail * s.f_frsize}))',
    ].join('\n')], { encoding: 'utf8' });
    if (py.status !== 0) this.skip();
    const want = JSON.parse(py.stdout) as Record<string, number>;
    const info = reader.meminfo();
    assert.equal(info.MemTotal, want.total);
    assert.equal(info.SwapTotal, want.swap);
    const space = reader.diskSpace('/');
    assert.equal(space.total, want.blocks);
    // Free space moves while other tests write; 64 MiB is slack enough for the moment between the two reads.
    assert.ok(Math.abs(space.free - want.bfree) < 1024 ** 2 * 64, `free ${space.free} vs ${want.bfree}`);
    assert.ok(Math.abs(space.available - want.bavail) < 1024 ** 2 * 64);
  });

  it('MemoryUtilization as Python computes it from /proc/meminfo a moment later', function () {
    const ours = memoryReadings(reader.meminfo(), all)[0].value;
    const py = spawnSync('/usr/bin/python3', ['-c', 'm = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/meminfo")}; print(100 * (m["MemTotal"] - m["MemAvailable"]) / m["MemTotal"])'], { encoding: 'utf8' });
    if (py.status !== 0) this.skip();
    // Memory moves while the tests run; one point of a percent is more than it moves in that moment.
    assert.ok(Math.abs(ours - Number(py.stdout)) < 1, `ours ${ours}, python ${py.stdout.trim()}`);
  });

  it('the mount a directory is on is the one df names', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pst-disk-'));
    try {
      const mounts = reader.mounts();
      const mount = mountOf(mounts, fs.realpathSync(dir));
      assert.ok(mount, 'the temp directory is on a mounted filesystem');
      const df = spawnSync('df', ['-P', '-k', dir], { encoding: 'utf8' });
      assert.equal(df.status, 0);
      const mountedOn = df.stdout.trim().split('\n')[1].split(/\s+/).slice(5).join(' ');
      assert.equal(mount.mountPoint, mountedOn, 'the mount point df names');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CPU: two real samples a moment apart give a utilisation between 0 and 100', () => {
    const a = reader.procStat();
    const until = Date.now() + 50;
    while (Date.now() < until) Math.sqrt(Math.random());
    const b = reader.procStat();
    assert.equal(a.btime, b.btime);
    const u = cpuUtilization(a.cpu, b.cpu);
    assert.ok(u === undefined || (u >= 0 && u <= 100), String(u));
    assert.ok(b.cpu.busy > a.cpu.busy, 'a busy loop counts as busy');
  });
});
