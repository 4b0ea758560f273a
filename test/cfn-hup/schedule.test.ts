/** cfn-hup's schedule as pure functions: first check, phase slots, backoff, Retry-After. */
import * as assert from 'node:assert/strict';
import { FIRST_PASS_SPLAY_MS, firstPassAt, pollRetryPolicy, MAX_BACKOFF_MS, nextPassAt, nextSlot, oneShotDelayMs, phaseMs, type Schedule } from '../../shared/poll-schedule';

const MIN = 60_000;

describe('cfn-hup schedule', () => {
  const seeds = Array.from({ length: 200 }, (_, i) => (i * 2654435761) >>> 0);
  const sched = (seed: number, intervalMs = 15 * MIN): Schedule => ({ startMs: 1_000_000, intervalMs, seed });

  it('the first check comes within 30 s (or the interval), each instance then on its own phase slot', () => {
    for (const seed of seeds) {
      const s = sched(seed);
      const first = firstPassAt(s);
      assert.ok(first >= s.startMs && first < s.startMs + FIRST_PASS_SPLAY_MS);
      assert.ok(firstPassAt(sched(seed, 10_000)) < s.startMs + 10_000);
      const second = nextPassAt(s, { atMs: first, endedMs: first + 50, failures: 0 });
      assert.equal((second - s.startMs - phaseMs(s)) % s.intervalMs, 0, 'on a slot');
      assert.ok(second >= first + s.intervalMs / 2, 'not within half an interval of the first');
      // A slow check does not move the slots.
      const third = nextPassAt(s, { atMs: second, endedMs: second + 40_000, failures: 0 });
      assert.equal(third, second + s.intervalMs);
    }
  });

  it('phases spread over the whole interval', () => {
    const s = 15 * MIN;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor((phaseMs(sched((i * 2246822519 + 7) >>> 0, s)) / s) * 10)]++;
    for (const b of buckets) assert.ok(b > 850 && b < 1150, String(buckets));
  });

  it('a failed check waits one interval or more, doubling, jittered, capped; Retry-After lengthens it', () => {
    for (const seed of seeds.slice(0, 50)) {
      const s = sched(seed, MIN);
      for (const [failures, lo, hi] of [[1, 1, 1.5], [2, 2, 3], [3, 4, 6], [9, 4, 6]] as const) {
        const wait = nextPassAt(s, { atMs: 5_000_000, endedMs: 5_000_000, failures }) - 5_000_000;
        assert.ok(wait >= lo * MIN && wait <= hi * MIN, `${failures}: ${wait}`);
      }
      const asked = nextPassAt(s, { atMs: 5_000_000, endedMs: 5_000_000, failures: 1, retryAfterMs: 10 * MIN }) - 5_000_000;
      assert.equal(asked, 10 * MIN);
      const huge = nextPassAt(s, { atMs: 5_000_000, endedMs: 5_000_000, failures: 1, retryAfterMs: 10 * MAX_BACKOFF_MS }) - 5_000_000;
      assert.equal(huge, MAX_BACKOFF_MS, 'a Retry-After is honoured up to an hour');
      const long = sched(seed, 2 * MAX_BACKOFF_MS);
      const w = nextPassAt(long, { atMs: 0, endedMs: 0, failures: 5 });
      assert.ok(w >= long.intervalMs && w <= 1.5 * long.intervalMs, 'never below one interval, even above the hour cap');
    }
  });

  it('the same inputs give the same times; nextSlot is the first slot strictly after', () => {
    const s = sched(42);
    assert.equal(nextPassAt(s, { atMs: 7, endedMs: 9, failures: 2 }), nextPassAt(s, { atMs: 7, endedMs: 9, failures: 2 }));
    const slot = s.startMs + phaseMs(s);
    assert.equal(nextSlot(s, slot - 1), slot);
    assert.equal(nextSlot(s, slot), slot + s.intervalMs);
    assert.equal(nextSlot(s, 0), slot, 'never before the first slot');
  });

  it('one check retries a blip, not an outage: 3 attempts within half an interval (a minute at most)', () => {
    assert.deepEqual(pollRetryPolicy(MIN), { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000, deadlineMs: 30_000 });
    assert.equal(pollRetryPolicy(15 * MIN).deadlineMs, 60_000);
  });

  it('a --no-daemon run waits within its splay', () => {
    for (const seed of seeds) assert.ok(oneShotDelayMs(seed, 30_000) < 30_000);
    assert.equal(oneShotDelayMs(5, 0), 0);
  });
});
