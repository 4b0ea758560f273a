/** Every reading the plan asks for, taken before anything else is done. */
import type { Logger } from '../../shared/log';
import { measureCpu } from './cpu';
import { haproxyReadings, parseStats, readStats } from './haproxy';
import type { PushPlan } from './options';
import { diskReadings, memoryReadings, swapReadings, type Reading } from './readings';
import { mountOf, ReadingError, type SystemReader } from './system';

export interface Collected {
  /** Memory, swap, disk, cpu and the counters: the system namespace. */
  system: Reading[];
  /** haproxy's figures: the ELB namespace. */
  haproxy: Reading[];
}

export async function collectReadings(plan: PushPlan, reader: SystemReader, o: { stateDir: string; logger: Logger }): Promise<Collected> {
  // heat-cfntools' order: a Heat endpoint gets the requests in the same sequence.
  const system: Reading[] = [];
  if (plan.custom) system.push({ ...plan.custom });
  for (const name of plan.counters) system.push({ name, value: 1, unit: 'Count' });
  const m = plan.memory;
  if (m.util || m.used || m.avail || plan.swap.util || plan.swap.used) {
    const info = reader.meminfo();
    system.push(...memoryReadings(info, m), ...swapReadings(info, plan.swap));
  }
  const d = plan.disk;
  if (d.util || d.used || d.avail) {
    const mounts = reader.mounts();
    const seen = new Set<string>();
    for (const p of d.paths) {
      const real = reader.realpath(p);
      const mount = mountOf(mounts, real);
      if (!mount) throw new ReadingError(p, 'on no mounted filesystem');
      // Two paths on one filesystem would make the same series twice.
      if (seen.has(mount.mountPoint)) continue;
      seen.add(mount.mountPoint);
      system.push(...diskReadings(reader.diskSpace(real), mount, d));
    }
  }
  if (plan.cpu) system.push({ name: 'CPUUtilization', value: await measureCpu({ reader, dir: o.stateDir, logger: o.logger }), unit: 'Percent' });
  let haproxy: Reading[] = [];
  if (plan.haproxy) {
    const { socket } = plan.haproxy;
    const figures = haproxyReadings(parseStats(await readStats(socket), socket), plan.haproxy.latencyOnly);
    for (const why of figures.refused) o.logger.warn(`haproxy stats socket ${socket}: row ${why}; left out of the figures`);
    haproxy = figures.readings;
  }
  return { system, haproxy };
}
