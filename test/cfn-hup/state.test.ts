/**
 * cfn-hup's state file: aws-cfn-bootstrap's metadata_db.json taken over,
 * pending retries kept, a damaged file set aside, and a writer killed at
 * any moment leaving the old file or the new one, never a torn one.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PENDING_KEY, HupState } from '../../agents/cfn-hup/state';

describe('cfn-hup state', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-state-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = () => path.join(dir, 'metadata_db.json');

  it("takes over aws-cfn-bootstrap's file, its datetimes as ISO instants", () => {
    fs.writeFileSync(
      file(),
      JSON.stringify({
        'web|Resources.Web.Metadata': { a: 1 },
        'ts|Resources.Web': { '_datetime: special_serialization: not_regular_json_': '"2026-11-24T14:00:00.000000"' },
        'gone|Resources.X.PhysicalResourceId': null,
      }),
    );
    const { state, problem } = HupState.load(dir);
    assert.equal(problem, undefined);
    assert.deepEqual(state.get('web|Resources.Web.Metadata'), { a: 1 });
    assert.equal(state.get('ts|Resources.Web'), '2026-11-24T14:00:00.000Z');
    assert.ok(state.has('gone|Resources.X.PhysicalResourceId'));
  });

  it('saves 0600 in a 0700 directory, in the same shape, pending retries under a key no hook can have', async () => {
    const sub = path.join(dir, 'data');
    const { state } = HupState.load(sub);
    state.set('h|p', { v: 1 });
    state.setPending('h|p', { value: { v: 2 }, failures: 1, nextAt: 5 });
    await state.save();
    assert.equal(fs.statSync(sub).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(sub, 'metadata_db.json')).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(sub, 'metadata_db.json'), 'utf8')), { 'h|p': { v: 1 }, [PENDING_KEY]: { 'h|p': { value: { v: 2 }, failures: 1, nextAt: 5 } } });
    assert.deepEqual(HupState.load(sub).state.pendingOf('h|p'), { value: { v: 2 }, failures: 1, nextAt: 5 });
  });

  it('a damaged file is set aside, said once, and the state starts empty', () => {
    for (const text of ['{"a": ', '[1, 2]', '{"a": ' + '['.repeat(200) + ']'.repeat(200) + '}']) {
      fs.writeFileSync(file(), text);
      const { state, problem } = HupState.load(dir);
      assert.match(problem ?? '', /metadata_db\.json: (not valid JSON|not a JSON object|nests deeper).*: moved to .*metadata_db\.json\.damaged-\d+; every watched value counts as seen for the first time/);
      assert.equal(state.has('a'), false);
      assert.equal(fs.existsSync(file()), false);
    }
    assert.equal(fs.readdirSync(dir).filter((n) => n.includes('.damaged-')).length >= 1, true);
  });

  it('a writer killed with SIGKILL at random moments leaves a whole file, old or new, every time', async function () {
    this.timeout(60_000);
    const stateModule = path.resolve(__dirname, '..', '..', 'agents', 'cfn-hup', 'state.js');
    // Each save holds a value a few hundred KiB large and a counter.
    const script = `const { HupState } = require(${JSON.stringify(stateModule)});
      const { state } = HupState.load(process.argv[1]);
      let n = 0;
      (async () => { for (;;) { n++; state.set('h|p', { n, pad: 'x'.repeat(300000) }); await state.save(); } })();`;
    let last = 0;
    for (let round = 0; round < 15; round++) {
      const child = spawn(process.execPath, ['-e', script, dir], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 40 + Math.floor(Math.random() * 200)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      const { state, problem } = HupState.load(dir);
      assert.equal(problem, undefined, `round ${round}`);
      const v = state.get('h|p') as { n: number; pad: string } | undefined;
      if (v) {
        assert.equal(v.pad.length, 300000);
        last = v.n;
      }
    }
    assert.ok(last > 0, 'some saves completed');
    // What the killed writers left in the journal is swept by the next one.
    const { state } = HupState.load(dir);
    state.set('h|p', 'final');
    await state.save();
    const journal = path.join(dir, 'journal');
    assert.deepEqual(fs.existsSync(journal) ? fs.readdirSync(journal) : [], []);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n !== 'journal').sort(), ['metadata_db.json']);
  });
});
