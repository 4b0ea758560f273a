/**
 * `npm run fleet-sim`: a fleet of cfn-hup daemons started in the same second,
 * on a virtual clock (fleet.ts), with and without a 503 storm; the figures
 * of docs/FLEET.md. Several sim seeds, so that one lucky draw shows as such.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ANSWER_MS, expectedPoissonMax, loadFrom, logChanceMaxAtMost, simulateFleet, UNAVAILABLE_MS, type FleetOptions } from './fleet';

const USAGE = `usage: fleet-sim [--instances N] [--interval MIN[,MIN...]] [--duration MIN] [--outage FROM-TO] [--retry-after S] [--seeds N[,N...]]

  --instances N     daemons, all started within one second (default 10000)
  --interval MIN    cfn-hup interval in minutes, one run each (default 1,15)
  --duration MIN    simulated time (default 60)
  --outage FROM-TO  minutes during which every attempt is answered 503 (default 20-25)
  --retry-after S   the 503s carry Retry-After: S (default: none)
  --seeds N,...     sim seeds, one row each (default 1,2,3,4,5)`;

const MIN = 60_000;

class UsageError extends Error {}

interface Run {
  instances: number;
  intervalsMin: number[];
  durationMin: number;
  outageMin: [number, number];
  retryAfterS?: number;
  seeds: number[];
}

function numbers(flag: string, text: string, sep = ','): number[] {
  const xs = text.split(sep).map(Number);
  if (xs.some((x) => !Number.isFinite(x) || x < 0)) throw new UsageError(`--${flag} ${text}: expected numbers >= 0`);
  return xs;
}

function parse(argv: string[]): Run | undefined {
  let parsed;
  try {
    const text = { type: 'string' } as const;
    parsed = parseArgs({
      args: argv,
      options: { instances: text, interval: text, duration: text, outage: text, 'retry-after': text, seeds: text, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const [from, to] = numbers('outage', v.outage ?? '20-25', '-');
  if (to === undefined || to <= from) throw new UsageError(`--outage ${v.outage}: expected FROM-TO minutes, FROM < TO`);
  const run: Run = {
    instances: numbers('instances', v.instances ?? '10000')[0],
    intervalsMin: numbers('interval', v.interval ?? '1,15'),
    durationMin: numbers('duration', v.duration ?? '60')[0],
    outageMin: [from, to],
    retryAfterS: v['retry-after'] === undefined ? undefined : numbers('retry-after', v['retry-after'])[0],
    seeds: numbers('seeds', v.seeds ?? '1,2,3,4,5'),
  };
  if (!Number.isInteger(run.instances) || run.instances < 1) throw new UsageError(`--instances ${v.instances}: expected a whole number >= 1`);
  if (run.intervalsMin.some((m) => m <= 0 || m >= run.durationMin)) throw new UsageError('--interval: each must be above 0 and below --duration');
  return run;
}

const fixed = (x: number, digits = 2) => x.toFixed(digits);
const count = (n: number) => n.toLocaleString('en-US');

/** A probability as 10^x once it is too small to print as a decimal. */
function chance(logP: number): string {
  const p = Math.exp(logP);
  return p >= 1e-4 ? fixed(p, 4) : `10^${Math.round(logP / Math.LN10)}`;
}

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function report(run: Run, intervalMin: number): void {
  const intervalMs = intervalMin * MIN;
  const lambda = run.instances / (intervalMs / 1000);
  const [from, to] = run.outageMin;
  const storms: Int32Array[] = [];
  const rows = run.seeds.map((seed) => {
    const base: FleetOptions = { instances: run.instances, durationMs: run.durationMin * MIN, intervalMs, seed };
    const calm = simulateFleet(base);
    const storm = simulateFleet({ ...base, outage: { fromMs: from * MIN, toMs: to * MIN, retryAfterMs: run.retryAfterS === undefined ? undefined : run.retryAfterS * 1000 } });
    const steady = loadFrom(calm.arrivals, intervalMs);
    const first = loadFrom(calm.arrivals.subarray(0, Math.ceil(intervalMs / 1000)), 0);
    const stormLoad = loadFrom(storm.arrivals, intervalMs);
    storms.push(storm.arrivals);
    return [
      String(seed),
      count(first.max),
      count(steady.max),
      fixed(steady.mean, 1),
      `**${fixed(steady.peak)}**`,
      count(calm.requests),
      count(storm.requests),
      `**${fixed(storm.requests / calm.requests)}x**`,
      count(stormLoad.max),
      count(storm.failedChecks),
    ];
  });
  console.log(`\n### interval ${intervalMin} min: λ = ${fixed(lambda, 1)} checks/s past the first interval (${count(run.instances)} / ${intervalMs / 1000} s)\n`);
  console.log(
    table(
      ['seed', '1st interval max/s', 'max/s', 'mean/s', 'max/mean', 'requests', 'with 503 storm', 'storm / no fault', 'storm max/s', 'failed checks'],
      rows,
    ),
  );
  stormProfile(run, storms[0]);
  poissonFloor(run, intervalMs, lambda);
}

/** Where the storm's extra requests fall: attempts per minute around the outage (without one, instances / interval a minute). */
function stormProfile(run: Run, arrivals: Int32Array): void {
  const [from, to] = run.outageMin;
  const minutes: string[] = [];
  for (let m = Math.max(0, from - 1); m < Math.min(run.durationMin, to + 6); m++) {
    const sum = arrivals.subarray(m * 60, (m + 1) * 60).reduce((a, b) => a + b, 0);
    minutes.push(`${m}: ${count(sum)}`);
  }
  console.log(`\n503 storm, seed ${run.seeds[0]}, attempts per minute: ${minutes.join(', ')}`);
}

/** What independent phases allow at best, to set the measured peaks against. */
function poissonFloor(run: Run, intervalMs: number, lambda: number): void {
  const distinct = intervalMs / 1000;
  const all = run.durationMin * 60 - distinct;
  const target = Math.floor(1.3 * lambda);
  const fixedMax = expectedPoissonMax(lambda, distinct);
  const freshMax = expectedPoissonMax(lambda, all);
  console.log(`\nPoisson floor (independent uniform phases), max/mean <= 1.3 means no second above ${target}:`);
  console.log(`- fixed phases, the same ${count(distinct)} seconds every interval: busiest ${fixed(fixedMax, 1)}/s expected (max/mean ${fixed(fixedMax / lambda)}); P(max <= ${target}) = ${chance(logChanceMaxAtMost(lambda, distinct, target))}`);
  console.log(`- phases drawn afresh each check, ${count(all)} independent seconds: busiest ${fixed(freshMax, 1)}/s expected (max/mean ${fixed(freshMax / lambda)}); P(max <= ${target}) = ${chance(logChanceMaxAtMost(lambda, all, target))}`);
}

function main(argv: string[]): void {
  const run = parse(argv);
  if (!run) {
    console.log(USAGE);
    return;
  }
  const t = performance.now();
  console.log(`## cfn-hup fleet: ${count(run.instances)} daemons started within one second, ${run.durationMin} min simulated`);
  console.log(
    `\nOne check = one DescribeStackResource, answered in ${ANSWER_MS} ms (a 503 in ${UNAVAILABLE_MS} ms). ` +
      `503 storm: every attempt sent in minutes ${run.outageMin[0]}-${run.outageMin[1]} is answered 503, ${run.retryAfterS === undefined ? 'without Retry-After' : `with Retry-After: ${run.retryAfterS}`}. ` +
      'max/mean and "storm max/s" count the seconds after the first interval; every HTTP attempt counts, at its send time.',
  );
  for (const m of run.intervalsMin) report(run, m);
  console.log(`\n(${fixed((performance.now() - t) / 1000, 1)} s of wall time)`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`fleet-sim: ${err.message}\n${USAGE}`);
  process.exitCode = 2;
}
