/**
 * Timers for any duration: Node's own turn a delay past 2^31-1 ms into 1 ms;
 * these chain Node's timers until the whole duration has passed.
 */
import * as assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { chainTimers, MAX_NODE_TIMER_MS, sleep, startTimer } from '../../shared/timer';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('shared/timer', () => {
  it("a delay past Node's limit (and Infinity) does not fire at once, as Node's own timer does", async () => {
    let fired = 0;
    const timers = [MAX_NODE_TIMER_MS + 1, 2147484 * 1000, 3_000_000 * 1000, Infinity].map((ms) => startTimer(() => fired++, ms));
    await tick(50);
    for (const t of timers) t.clear();
    assert.equal(fired, 0);
  });

  it('the chain fires once, after the whole duration, however many steps it takes', async () => {
    const started = performance.now();
    const at = await new Promise<number>((resolve) => chainTimers(() => resolve(performance.now()), 45, 10, false));
    assert.ok(at - started >= 44, `fired after ${at - started} ms`);
  });

  it('clear() stops a chain between steps as well as before the first', async () => {
    let fired = 0;
    const t = chainTimers(() => fired++, 40, 5, false);
    await tick(15);
    t.clear();
    await tick(50);
    assert.equal(fired, 0);
  });

  it('a duration that is no duration is a RangeError; 0 fires', async () => {
    assert.throws(() => startTimer(() => undefined, NaN), /^RangeError: a timer needs a duration of 0 ms or more, got NaN$/);
    assert.throws(() => startTimer(() => undefined, -1), RangeError);
    await sleep(0);
  });
});
