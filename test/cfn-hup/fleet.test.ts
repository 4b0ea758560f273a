import * as assert from 'node:assert/strict';
import { expectedPoissonMax, loadFrom, logChanceMaxAtMost, poissonMaxBound, simulateFleet, type FleetOptions } from '../fleet/fleet';

const MIN = 60_000;

describe('cfn-hup fleet on a virtual clock (docs/FLEET.md)', () => {
  // 2,000 daemons every minute: lambda = 33.3 checks/s, and 29 intervals to repeat in.
  const minutely: FleetOptions = { instances: 2000, durationMs: 30 * MIN, intervalMs: MIN, seed: 1 };
  const lambda = minutely.instances / (minutely.intervalMs / 1000);
  const steadySeconds = (minutely.durationMs - minutely.intervalMs) / 1000;

  it('computes the Poisson figures the bounds rest on', () => {
    assert.ok(Math.abs(logChanceMaxAtMost(1, 1, 0) - -1) < 1e-12, 'P(X = 0) = e^-1');
    assert.ok(Math.abs(logChanceMaxAtMost(2, 3, 1) - 3 * Math.log(3 * Math.exp(-2))) < 1e-12, 'P(X <= 1)^3 = (3e^-2)^3');
    assert.ok(Math.abs(expectedPoissonMax(5, 1) - 5) < 1e-9, 'the max of one count is the count');
  });

  it('keeps every second after the first interval below what independent phases exceed once in a million runs', () => {
    // Even counting all 1,740 seconds as independent draws (phases drawn afresh each check), P(any > 74) < 1e-6;
    // independent phases reach 47 on average; a schedule that clusters instances goes past 74.
    const bound = poissonMaxBound(lambda, steadySeconds, 1e-6);
    assert.equal(bound, 74);
    const load = loadFrom(simulateFleet(minutely).arrivals, minutely.intervalMs);
    assert.ok(load.max <= bound, `busiest second ${load.max} > ${bound}`);
    assert.ok(Math.abs(load.mean - lambda) < 1e-9, `every instance checks once an interval: mean ${load.mean}`);
  });

  it('puts each instance on the same second of every interval (fixed phases)', () => {
    const { arrivals } = simulateFleet(minutely);
    const period = minutely.intervalMs / 1000;
    for (let s = period; s + period < arrivals.length; s++) assert.equal(arrivals[s + period], arrivals[s], `second ${s + period}`);
  });

  it('costs at most 1.5x the requests when every attempt gets a 503 for five minutes', () => {
    const cases: Array<[FleetOptions, number]> = [
      [minutely, 10],
      [{ instances: 1000, durationMs: 60 * MIN, intervalMs: 15 * MIN, seed: 1 }, 20],
    ];
    for (const [o, fromMin] of cases) {
      const calm = simulateFleet(o);
      const storm = simulateFleet({ ...o, outage: { fromMs: fromMin * MIN, toMs: (fromMin + 5) * MIN } });
      assert.ok(storm.failedChecks > 0, 'the outage is hit');
      const ratio = storm.requests / calm.requests;
      assert.ok(ratio <= 1.5, `interval ${o.intervalMs / MIN} min: ${storm.requests} / ${calm.requests} = ${ratio.toFixed(3)}`);
    }
  });

  it('gives the same run for the same seed, another for another', () => {
    const o: FleetOptions = { ...minutely, outage: { fromMs: 10 * MIN, toMs: 15 * MIN } };
    assert.deepEqual(simulateFleet(o), simulateFleet(o));
    assert.notDeepEqual(simulateFleet(o).arrivals, simulateFleet({ ...o, seed: 2 }).arrivals);
  });
});
