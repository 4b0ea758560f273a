/**
 * What the metrics are computed from: /proc/meminfo, /proc/stat,
 * /proc/self/mounts and statfs(2). The /proc files are read under `root`
 * (CFNTOOLS_SYSTEM_ROOT) so that tests can feed known files; each is parsed
 * by a pure function, bounded, and a malformed file is an error naming it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnError } from '../../shared/errors';

/** A reading that could not be taken: which file, what was wrong. */
export class ReadingError extends CfnError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** /proc files are small; one that is not is not /proc. */
const MAX_PROC_BYTES = 1024 * 1024;

/** /proc/meminfo, in bytes, by field name. */
export type MemInfo = Record<string, number>;

export function parseMeminfo(text: string, file: string): MemInfo {
  const info: MemInfo = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (m) info[m[1]] = Number(m[2]) * (m[3] ? 1024 : 1);
  }
  if (info.MemTotal === undefined) throw new ReadingError(file, 'no MemTotal line');
  return info;
}

/** Jiffies of the `cpu` line of /proc/stat, summed over all CPUs. */
export interface CpuTimes {
  /** Everything but idle and iowait. */
  busy: number;
  total: number;
}

export interface ProcStat {
  cpu: CpuTimes;
  /** Boot time (seconds since the epoch): a sample from another boot is not comparable. */
  btime: number;
}

export function parseProcStat(text: string, file: string): ProcStat {
  const cpuLine = /^cpu\s+([\d\s]+)$/m.exec(text);
  if (!cpuLine) throw new ReadingError(file, 'no cpu line');
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user and nice.
  const f = cpuLine[1].trim().split(/\s+/).map(Number);
  if (f.length < 4) throw new ReadingError(file, `the cpu line has ${f.length} fields, expected at least 4`);
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  const btime = /^btime\s+(\d+)$/m.exec(text);
  if (!btime) throw new ReadingError(file, 'no btime line');
  return { cpu: { busy: total - idle - iowait, total }, btime: Number(btime[1]) };
}

export interface Mount {
  device: string;
  mountPoint: string;
  fsType: string;
}

/** The kernel escapes space, tab, newline and backslash in mount fields as octal. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMounts(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    mounts.push({ device: unescapeMountField(f[0]), mountPoint: unescapeMountField(f[1]), fsType: f[2] });
  }
  return mounts;
}

/** The mount `file` (a real path) lives on: the last mounted over the longest matching mount point. */
export function mountOf(mounts: Mount[], file: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || file === m.mountPoint || file.startsWith(m.mountPoint + '/');
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** statfs(2) of a path, in bytes. */
export interface DiskSpace {
  /** All blocks, the reserved ones included. */
  total: number;
  /** Free blocks, the reserved ones included. */
  free: number;
  /** Free blocks an unprivileged user may use (df's Available). */
  available: number;
}

export interface SystemReader {
  meminfo(): MemInfo;
  procStat(): ProcStat;
  mounts(): Mount[];
  diskSpace(file: string): DiskSpace;
  /** The path with every symbolic link resolved, as the kernel resolves it. */
  realpath(file: string): string;
}

function readProc(root: string, name: string): { text: string; file: string } {
  const file = path.join(root, name);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new ReadingError(file, `cannot read: ${(err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(MAX_PROC_BYTES);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = fs.readSync(fd, buf, n, buf.length - n, null);
    if (n >= buf.length) throw new ReadingError(file, `larger than ${MAX_PROC_BYTES} bytes`);
    return { text: buf.subarray(0, n).toString('utf8'), file };
  } finally {
    fs.closeSync(fd);
  }
}

export function systemReader(root = '/'): SystemReader {
  return {
    meminfo() {
      const { text, file } = readProc(root, 'proc/meminfo');
      return parseMeminfo(text, file);
    },
    procStat() {
      const { text, file } = readProc(root, 'proc/stat');
      return parseProcStat(text, file);
    },
    mounts() {
      return parseMounts(readProc(root, 'proc/self/mounts').text);
    },
    diskSpace(file) {
      let s: fs.StatsFs;
      try {
        s = fs.statfsSync(file);
      } catch (err) {
        throw new ReadingError(file, `statfs: ${(err as Error).message}`);
      }
      return { total: s.blocks * s.bsize, free: s.bfree * s.bsize, available: s.bavail * s.bsize };
    },
    realpath(file) {
      try {
        return fs.realpathSync(file);
      } catch (err) {
        throw new ReadingError(file, `cannot resolve: ${(err as Error).message}`);
      }
    },
  };
}
