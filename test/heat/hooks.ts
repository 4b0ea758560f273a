/**
 * Root hooks of the real-Heat suite (test/heat/.mocharc.json requires this
 * file): start the rig once before any test, note failures (a failed run
 * keeps the rig's logs), stop what was started after the last test, also
 * when tests failed.
 */
import { START_TIMEOUT_MS, noteFailure, realHeat, stopRealHeat } from './rig';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(START_TIMEOUT_MS);
    // A skip is reported by each suite's own before hook; a failure to start fails here.
    await realHeat();
  },
  afterEach(this: Mocha.Context): void {
    if (this.currentTest?.state === 'failed') noteFailure();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(2 * 60_000);
    await stopRealHeat();
  },
};
