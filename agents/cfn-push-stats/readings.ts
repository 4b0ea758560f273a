/**
 * Each metric from its readings, defined as the CloudWatch monitoring
 * scripts define it, except where current kernels know better
 * (docs/COMPATIBILITY.md): "available" memory is MemAvailable when the
 * kernel publishes it (3.14 and later), not MemFree + Cached + Buffers.
 * Pure functions: the numbers in, the metrics out.
 */
import type { CpuTimes, DiskSpace, MemInfo, Mount } from './system';
import type { SizeUnit, StandardUnit } from './units';

export interface Reading {
  name: string;
  value: number;
  unit: StandardUnit;
  /** Dimensions of this metric alone (a disk's Filesystem and MountPath). */
  dimensions?: Array<{ name: string; value: string }>;
}

const percent = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : 0);

export interface MemoryFlags {
  util: boolean;
  used: boolean;
  avail: boolean;
  /** mon-put-instance-data's --mem-used-incl-cache-buff: page cache and buffers count as used. */
  inclCacheBuff: boolean;
  units: SizeUnit;
}

/** Bytes of memory counted as available. */
export function availableMemory(info: MemInfo, inclCacheBuff: boolean): number {
  const free = info.MemFree ?? 0;
  if (inclCacheBuff) return free;
  return info.MemAvailable ?? free + (info.Cached ?? 0) + (info.Buffers ?? 0);
}

export function memoryReadings(info: MemInfo, f: MemoryFlags): Reading[] {
  const total = info.MemTotal;
  const avail = Math.min(total, availableMemory(info, f.inclCacheBuff));
  const used = total - avail;
  const out: Reading[] = [];
  if (f.util) out.push({ name: 'MemoryUtilization', value: percent(used, total), unit: 'Percent' });
  if (f.used) out.push({ name: 'MemoryUsed', value: used / f.units.bytes, unit: f.units.unit });
  if (f.avail) out.push({ name: 'MemoryAvailable', value: avail / f.units.bytes, unit: f.units.unit });
  return out;
}

export function swapReadings(info: MemInfo, f: { util: boolean; used: boolean; units: SizeUnit }): Reading[] {
  const total = info.SwapTotal ?? 0;
  const used = Math.max(0, total - (info.SwapFree ?? 0));
  const out: Reading[] = [];
  if (f.util) out.push({ name: 'SwapUtilization', value: percent(used, total), unit: 'Percent' });
  if (f.used) out.push({ name: 'SwapUsed', value: used / f.units.bytes, unit: f.units.unit });
  return out;
}

export interface DiskFlags {
  util: boolean;
  used: boolean;
  avail: boolean;
  units: SizeUnit;
}

/** One filesystem: used = all blocks less the free ones; utilisation of all blocks, reserved ones included. */
export function diskReadings(space: DiskSpace, mount: Mount, f: DiskFlags): Reading[] {
  const used = space.total - space.free;
  const dimensions = [
    { name: 'Filesystem', value: mount.device },
    { name: 'MountPath', value: mount.mountPoint },
  ];
  const out: Reading[] = [];
  if (f.util) out.push({ name: 'DiskSpaceUtilization', value: percent(used, space.total), unit: 'Percent', dimensions });
  if (f.used) out.push({ name: 'DiskSpaceUsed', value: used / f.units.bytes, unit: f.units.unit, dimensions });
  if (f.avail) out.push({ name: 'DiskSpaceAvailable', value: space.available / f.units.bytes, unit: f.units.unit, dimensions });
  return out;
}

/** Busy share of the CPU time between two samples; undefined when no time passed. */
export function cpuUtilization(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (!(total > 0)) return undefined;
  return Math.min(100, Math.max(0, percent(after.busy - before.busy, total)));
}
