/**
 * CPU utilisation needs two samples of /proc/stat. heat-cfntools sleeps a
 * second between them on every run; a run from cron instead compares with
 * the sample the previous run left on disk, when that one is from this boot
 * and recent enough to say something about now.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from '../../shared/timer';
import { DurableWriter } from '../../shared/durable-write';
import { errorMessage } from '../../shared/errors';
import { readJsonFile } from '../../shared/json-file';
import type { Logger } from '../../shared/log';
import { cpuUtilization } from './readings';
import type { CpuTimes, ProcStat, SystemReader } from './system';

/** The shortest span worth measuring (the kernel counts in 10 ms ticks), and heat-cfntools' span. */
export const MIN_SPAN_MS = 1000;
/** An older sample averages over too long to stand for the current load. */
export const MAX_SAMPLE_AGE_MS = 15 * 60_000;
/** A sample is a few numbers. */
const MAX_SAMPLE_BYTES = 4096;

interface StoredSample {
  btime: number;
  /** ms since the epoch. */
  at: number;
  cpu: CpuTimes;
}

function isCpuTimes(v: unknown): v is CpuTimes {
  const c = v as CpuTimes;
  return !!c && Number.isFinite(c.busy) && Number.isFinite(c.total);
}

/** What the previous run left, if it is usable against `now`. */
export function usableSample(stored: unknown, now: ProcStat, nowMs: number): StoredSample | undefined {
  const s = stored as StoredSample | null;
  if (!s || typeof s !== 'object' || s.btime !== now.btime || !Number.isFinite(s.at) || !isCpuTimes(s.cpu)) return undefined;
  const age = nowMs - s.at;
  if (age < 0 || age > MAX_SAMPLE_AGE_MS) return undefined;
  // Counters never go back within one boot; a sample that says otherwise is not ours.
  if (s.cpu.total > now.cpu.total || s.cpu.busy > now.cpu.busy) return undefined;
  return s;
}

export interface CpuSampler {
  reader: SystemReader;
  /** Directory of the stored sample; undefined: none kept, always a fresh pair. */
  dir?: string;
  logger: Logger;
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
}

export async function measureCpu(opts: CpuSampler): Promise<number> {
  const now = opts.now ?? Date.now;
  const wait = opts.wait ?? ((ms: number) => sleep(ms));
  const file = opts.dir === undefined ? undefined : path.join(opts.dir, 'cpu-sample.json');
  let current = opts.reader.procStat();
  let at = now();
  let before = file === undefined ? undefined : usableSample(readStored(file, opts.logger), current, at);
  if (before && at - before.at < MIN_SPAN_MS) {
    await wait(MIN_SPAN_MS - (at - before.at));
    current = opts.reader.procStat();
    at = now();
  }
  if (!before) {
    opts.logger.debug(`cpu: no usable earlier sample; sampling over ${MIN_SPAN_MS} ms`);
    before = { btime: current.btime, at, cpu: current.cpu };
    await wait(MIN_SPAN_MS);
    current = opts.reader.procStat();
    at = now();
  } else {
    opts.logger.debug(`cpu: against the sample of ${Math.round((at - before.at) / 1000)} s ago`);
  }
  if (file !== undefined) await store(file, { btime: current.btime, at, cpu: current.cpu }, opts.logger);
  return cpuUtilization(before.cpu, current.cpu) ?? 0;
}

function readStored(file: string, log: Logger): unknown {
  try {
    return readJsonFile(file, { what: 'the CPU sample', noFollow: true, maxBytes: MAX_SAMPLE_BYTES })?.value;
  } catch (err) {
    // Only this run's shortcut is lost; the file is replaced (renamed over) when the new sample is kept.
    log.warn(`cpu: ${errorMessage(err)}; sampling afresh`);
    return undefined;
  }
}

async function store(file: string, sample: StoredSample, log: Logger): Promise<void> {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    await new DurableWriter(path.join(path.dirname(file), 'journal'), log).writeFile(file, JSON.stringify(sample), { mode: 0o644 });
  } catch (err) {
    // Only the next run's shortcut is lost: it samples for a second instead.
    log.warn(`cpu: cannot keep the sample in ${file}: ${errorMessage(err)}`);
  }
}
