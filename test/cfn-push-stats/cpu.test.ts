import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_SAMPLE_AGE_MS, measureCpu, usableSample } from '../../agents/cfn-push-stats/cpu';
import type { ProcStat, SystemReader } from '../../agents/cfn-push-stats/system';
import { MemoryLogger } from '../../shared/log';

/** A /proc/stat that advances by `step` each read, on a virtual clock. */
function fakeSystem(samples: ProcStat[]) {
  let i = 0;
  let now = 1_000_000;
  const waits: number[] = [];
  const reader = { procStat: () => samples[Math.min(i++, samples.length - 1)] } as unknown as SystemReader;
  return {
    reader,
    waits,
    now: () => now,
    wait: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    advance: (ms: number) => (now += ms),
    reads: () => i,
  };
}

const stat = (busy: number, total: number, btime = 100): ProcStat => ({ cpu: { busy, total }, btime });

describe('cfn-push-stats CPU utilisation', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pst-cpu-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without an earlier sample: two samples a second apart (heat-cfntools\' span), the second kept for next time', async () => {
    const sys = fakeSystem([stat(100, 1000), stat(150, 1100)]);
    const u = await measureCpu({ reader: sys.reader, dir, logger: new MemoryLogger(), now: sys.now, wait: sys.wait });
    assert.equal(u, 50);
    assert.deepEqual(sys.waits, [1000]);
    const kept = JSON.parse(fs.readFileSync(path.join(dir, 'cpu-sample.json'), 'utf8'));
    assert.deepEqual(kept.cpu, { busy: 150, total: 1100 });
  });

  it('with the previous run\'s sample on disk: no wait at all, utilisation since then', async () => {
    const first = fakeSystem([stat(100, 1000), stat(150, 1100)]);
    await measureCpu({ reader: first.reader, dir, logger: new MemoryLogger(), now: first.now, wait: first.wait });
    const second = fakeSystem([stat(400, 2100)]);
    second.advance(60_000);
    const u = await measureCpu({ reader: second.reader, dir, logger: new MemoryLogger(), now: () => first.now() + 60_000, wait: second.wait });
    assert.equal(u, 25);
    assert.deepEqual(second.waits, []);
    assert.equal(second.reads(), 1);
  });

  it('a sample under a second old: only the rest of the second is waited', async () => {
    fs.writeFileSync(path.join(dir, 'cpu-sample.json'), JSON.stringify({ btime: 100, at: 1_000_000 - 300, cpu: { busy: 0, total: 0 } }));
    const sys = fakeSystem([stat(10, 100), stat(20, 200)]);
    const u = await measureCpu({ reader: sys.reader, dir, logger: new MemoryLogger(), now: sys.now, wait: sys.wait });
    assert.deepEqual(sys.waits, [700]);
    assert.equal(u, 10);
  });

  it('an earlier sample from another boot, too old, from the future, going backwards or damaged is not used', () => {
    const now = stat(500, 5000);
    const at = 10_000_000;
    assert.ok(usableSample({ btime: 100, at: at - 1000, cpu: { busy: 1, total: 10 } }, now, at));
    assert.equal(usableSample({ btime: 99, at: at - 1000, cpu: { busy: 1, total: 10 } }, now, at), undefined);
    assert.equal(usableSample({ btime: 100, at: at - MAX_SAMPLE_AGE_MS - 1, cpu: { busy: 1, total: 10 } }, now, at), undefined);
    assert.equal(usableSample({ btime: 100, at: at + 5, cpu: { busy: 1, total: 10 } }, now, at), undefined);
    assert.equal(usableSample({ btime: 100, at: at - 1000, cpu: { busy: 1, total: 9999 } }, now, at), undefined);
    assert.equal(usableSample({ btime: 100, at: 'x', cpu: null }, now, at), undefined);
    assert.equal(usableSample(null, now, at), undefined);
  });

  it('a damaged sample file means a fresh pair, and is replaced', async () => {
    fs.writeFileSync(path.join(dir, 'cpu-sample.json'), '{"btime": 1');
    const sys = fakeSystem([stat(0, 0), stat(30, 100)]);
    const log = new MemoryLogger();
    assert.equal(await measureCpu({ reader: sys.reader, dir, logger: log, now: sys.now, wait: sys.wait }), 30);
    assert.deepEqual(sys.waits, [1000]);
    assert.match(log.lines.join('\n'), /WARNING cpu: .*cpu-sample\.json: not valid JSON: it ends early \(at offset \d+\); sampling afresh/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'cpu-sample.json'), 'utf8')).cpu.total, 100);
  });
});
