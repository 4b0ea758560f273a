/**
 * One cfn-hup check with the world replaced by recordings: what fires when,
 * with what environment, what is recorded, what is retried and for how long.
 * The real state file is written in a temporary directory.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Hook, HookPath, HupConfig, Trigger } from '../../agents/cfn-hup/config';
import { actionRetryDelayMs, firedTrigger, MAX_ENV_VALUE_CHARS, runPass, stackNameOf, type PassDeps } from '../../agents/cfn-hup/pass';
import { HupState } from '../../agents/cfn-hup/state';
import type { StackResourceDetail } from '../../shared/cfn-api';
import { ApiError, NetworkError } from '../../shared/errors';
import { MemoryLogger } from '../../shared/log';
import type { RunResult } from '../../shared/system';

const INTERVAL = 60_000;

function hook(name: string, p: HookPath, triggers: Trigger[] = ['post.update'], pathText = `Resources.${p.resource}.Metadata`): Hook {
  return { name, file: '/etc/cfn/hooks.d/x', triggers, pathText: `${pathText}#${name}`, path: p, action: `echo ${name}`, timeoutMs: 1000 };
}

const meta = (resource: string, ...segments: string[]): HookPath => ({ resource, kind: 'metadata', segments });

function config(hooks: Hook[], hookRetries = 3): HupConfig {
  return { main: { file: 'c', stack: 'teststack', intervalMs: INTERVAL, verbose: false, umask: 0o022, hookTimeoutMs: 1000, hookRetries }, hooks, warnings: [] };
}

interface World {
  resources: Record<string, Partial<StackResourceDetail> | Error>;
  applied: Record<string, unknown>;
  exitCodes: number[];
  runs: Array<{ hook: string; env: Record<string, string> }>;
  describes: string[];
  now: number;
  stopping: boolean;
  logger: MemoryLogger;
}

describe('cfn-hup: one check', () => {
  let dir: string;
  let w: World;
  let state: HupState;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-pass-'));
    state = HupState.load(dir).state;
    w = { resources: {}, applied: {}, exitCodes: [], runs: [], describes: [], now: Date.parse('2026-12-01T00:00:00Z'), stopping: false, logger: new MemoryLogger() };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const deps = (): PassDeps => ({
    async describe(resource) {
      w.describes.push(resource);
      const r = w.resources[resource];
      if (r instanceof Error) throw r;
      if (!r) throw new ApiError(400, 'ValidationError', `Resource ${resource} does not exist`, 'http://127.0.0.1/v1/');
      return { logicalResourceId: resource, resourceStatus: 'CREATE_COMPLETE', metadata: undefined, ...r };
    },
    async run(h, env): Promise<RunResult> {
      w.runs.push({ hook: h.name, env });
      const status = w.exitCodes.shift() ?? 0;
      return { status, output: `ran ${h.name}\n`, stdout: '', stderr: '' };
    },
    applied: (resource) => w.applied[resource],
    now: () => w.now,
    logger: w.logger,
    state,
    stopping: () => w.stopping,
  });
  const pass = (c: HupConfig) => runPass(c, deps());
  const fired = () => w.runs.splice(0).map((r) => r.hook);
  const reloaded = () => HupState.load(dir).state;

  it('which trigger a change pulls: add, update, remove; no value is absent, null or empty; 0 and false are values', () => {
    const all: Trigger[] = ['post.add', 'post.update', 'post.remove'];
    assert.equal(firedTrigger(undefined, { a: 1 }, all), 'post.add');
    assert.equal(firedTrigger({}, 'x', all), 'post.add');
    assert.equal(firedTrigger(null, false, all), 'post.add');
    assert.equal(firedTrigger({ a: 1 }, { a: 2 }, all), 'post.update');
    assert.equal(firedTrigger({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, all), undefined, 'the same JSON value in another key order');
    assert.equal(firedTrigger([1], [], all), 'post.remove');
    assert.equal(firedTrigger('x', '', all), 'post.remove');
    assert.equal(firedTrigger(0, 1, all), 'post.update');
    assert.equal(firedTrigger(undefined, { a: 1 }, ['post.update']), undefined, 'only the triggers the hook lists');
  });

  it('first check: a post.update hook records the value silently, a post.add hook fires; unchanged values fire nothing after', async () => {
    w.resources.Web = { metadata: { a: 1 } };
    const c = config([hook('upd', meta('Web')), hook('add', meta('Web'), ['post.add'])]);
    await pass(c);
    assert.deepEqual(fired(), ['add']);
    await pass(c);
    assert.deepEqual(fired(), []);
    assert.deepEqual(reloaded().get('upd|Resources.Web.Metadata#upd'), { a: 1 }, 'recorded in the state file');
  });

  it('a change fires post.update with CFN_OLD_METADATA and CFN_NEW_METADATA (JSON as Python json.dumps writes it; strings as they are)', async () => {
    const c = config([hook('h', meta('Web', 'foo')), hook('s', meta('Web', 'name'))]);
    w.resources.Web = { metadata: { foo: { v: 1 }, name: 'old' } };
    await pass(c);
    w.resources.Web = { metadata: { foo: { v: 2 }, name: 'new' } };
    await pass(c);
    assert.deepEqual(w.runs, [
      { hook: 'h', env: { CFN_OLD_METADATA: '{"v": 1}', CFN_NEW_METADATA: '{"v": 2}' } },
      { hook: 's', env: { CFN_OLD_METADATA: 'old', CFN_NEW_METADATA: 'new' } },
    ]);
  });

  it('a change elsewhere in the metadata does not fire a hook watching one key; removing the key fires post.remove', async () => {
    const c = config([hook('h', meta('Web', 'AWS::CloudFormation::Init'), ['post.update', 'post.remove'])]);
    w.resources.Web = { metadata: { 'AWS::CloudFormation::Init': { config: {} }, other: 1 } };
    await pass(c);
    w.resources.Web = { metadata: { 'AWS::CloudFormation::Init': { config: {} }, other: 2 } };
    await pass(c);
    assert.deepEqual(fired(), []);
    w.resources.Web = { metadata: { other: 2 } };
    await pass(c);
    assert.deepEqual(w.runs, [{ hook: 'h', env: { CFN_OLD_METADATA: '{"config": {}}' } }]);
  });

  it('two watched resources: each fetched once per check, and neither fires for the other (heat-cfntools fires on every check)', async () => {
    const c = config([hook('web', meta('Web')), hook('db', meta('Db')), hook('web2', meta('Web', 'x'))]);
    w.resources.Web = { metadata: { x: 1 } };
    w.resources.Db = { metadata: { y: 1 } };
    for (let i = 0; i < 3; i++) await pass(c);
    assert.deepEqual(fired(), []);
    assert.deepEqual(w.describes, ['Web', 'Db', 'Web', 'Db', 'Web', 'Db']);
    w.resources.Db = { metadata: { y: 2 } };
    await pass(c);
    assert.deepEqual(fired(), ['db']);
  });

  it('a resource *_IN_PROGRESS is left alone (state untouched); the change fires once it completes', async () => {
    const c = config([hook('h', meta('Web'))]);
    w.resources.Web = { metadata: { v: 1 } };
    await pass(c);
    w.resources.Web = { metadata: { v: 2 }, resourceStatus: 'UPDATE_IN_PROGRESS' };
    await pass(c);
    assert.deepEqual(fired(), []);
    assert.deepEqual(reloaded().get('h|Resources.Web.Metadata#h'), { v: 1 });
    w.resources.Web = { metadata: { v: 2 }, resourceStatus: 'UPDATE_COMPLETE' };
    await pass(c);
    assert.deepEqual(fired(), ['h']);
  });

  it('a resource that cannot be fetched: its hooks wait (the change is not lost), the others run; Retry-After is passed on', async () => {
    const c = config([hook('web', meta('Web')), hook('db', meta('Db'))]);
    w.resources.Web = { metadata: { v: 1 } };
    w.resources.Db = { metadata: { v: 1 } };
    await pass(c);
    w.resources.Web = new ApiError(503, 'Throttling', 'Rate exceeded', 'http://127.0.0.1/v1/', undefined, '120');
    w.resources.Db = { metadata: { v: 2 } };
    const r = await pass(c);
    assert.equal(r.fetchFailures, 1);
    assert.equal(r.retryAfterMs, 120_000);
    assert.deepEqual(fired(), ['db']);
    assert.ok(w.logger.lines.some((l) => /^ERROR cannot check teststack\/Web: HTTP 503 Throttling: Rate exceeded .*its hooks wait for the next check/.test(l)), w.logger.lines.join('\n'));
    w.resources.Web = new NetworkError('connection refused', 'http://127.0.0.1/v1/', 'ECONNREFUSED');
    await pass(c);
    w.resources.Web = { metadata: { v: 2 } };
    await pass(c);
    assert.deepEqual(fired(), ['web']);
  });

  it('a failed action is tried again after a growing wait, then given up and counted as handled; a newer change starts afresh', async () => {
    const c = config([hook('h', meta('Web'))], 2);
    const key = 'h|Resources.Web.Metadata#h';
    w.resources.Web = { metadata: { v: 1 } };
    await pass(c);
    w.resources.Web = { metadata: { v: 2 } };
    w.exitCodes = [1, 1, 1, 1];
    await pass(c);
    assert.deepEqual(fired(), ['h']);
    assert.deepEqual(reloaded().pendingOf(key), { value: { v: 2 }, failures: 1, nextAt: w.now + actionRetryDelayMs(1, INTERVAL) }, 'the retry survives a restart');
    assert.deepEqual(reloaded().get(key), { v: 1 }, 'the old value stays until the change is handled');
    await pass(c);
    assert.deepEqual(fired(), [], 'not before its time');
    w.now += actionRetryDelayMs(1, INTERVAL);
    await pass(c);
    assert.deepEqual(fired(), ['h']);
    w.now += actionRetryDelayMs(2, INTERVAL);
    await pass(c);
    assert.deepEqual(fired(), ['h']);
    assert.ok(w.logger.lines.some((l) => /^ERROR hook h: exited with code 1; giving up after 3 attempt\(s\)/.test(l)), w.logger.lines.join('\n'));
    assert.deepEqual(reloaded().get(key), { v: 2 });
    assert.equal(reloaded().pendingOf(key), undefined);
    w.now += 10 * INTERVAL;
    await pass(c);
    assert.deepEqual(fired(), [], 'given up: not run again for the same change');
    w.resources.Web = { metadata: { v: 3 } };
    w.exitCodes = [1];
    await pass(c);
    assert.deepEqual(fired(), ['h']);
    assert.equal(reloaded().pendingOf(key)?.failures, 1, 'a new change: counted from 1 again');
    w.resources.Web = { metadata: { v: 4 } };
    await pass(c);
    assert.deepEqual(fired(), ['h'], 'a newer change does not wait for the old one\'s retry');
    assert.equal(reloaded().pendingOf(key), undefined);
  });

  it('the retry waits: one interval, doubling, at most an hour (or one interval when that is longer)', () => {
    assert.deepEqual([1, 2, 3, 4, 10].map((n) => actionRetryDelayMs(n, INTERVAL)), [60_000, 120_000, 240_000, 480_000, 3_600_000]);
    assert.equal(actionRetryDelayMs(5, 2 * 3_600_000), 2 * 3_600_000);
  });

  it('a first sighting is compared with what cfn-init last applied from that resource', async () => {
    const c = config([hook('init', meta('Web', 'AWS::CloudFormation::Init'))]);
    w.applied.Web = { 'AWS::CloudFormation::Init': { config: { v: 1 } } };
    w.resources.Web = { metadata: { 'AWS::CloudFormation::Init': { config: { v: 1 } } } };
    await pass(c);
    assert.deepEqual(fired(), [], 'what cfn-init applied: nothing to do');
    fs.rmSync(path.join(dir, 'metadata_db.json'));
    state = reloaded();
    w.resources.Web = { metadata: { 'AWS::CloudFormation::Init': { config: { v: 2 } } } };
    await pass(c);
    assert.deepEqual(w.runs, [{ hook: 'init', env: { CFN_OLD_METADATA: '{"config": {"v": 1}}', CFN_NEW_METADATA: '{"config": {"v": 2}}' } }], 'changed since cfn-init applied it');
  });

  it('PhysicalResourceId and the bare resource (LastUpdatedTimestamp, compared as instants); DELETE_COMPLETE means no value', async () => {
    const c = config([
      hook('id', { resource: 'Db', kind: 'physical-id' }, ['post.update', 'post.remove']),
      hook('ts', { resource: 'Db', kind: 'last-updated' }, ['post.update']),
    ]);
    w.resources.Db = { physicalResourceId: 'p-1', lastUpdatedTimestamp: '2026-11-24T14:00:00Z' };
    await pass(c);
    w.resources.Db = { physicalResourceId: 'p-1', lastUpdatedTimestamp: '2026-11-24T14:00:00.000Z' };
    await pass(c);
    assert.deepEqual(fired(), [], 'the same instant written another way');
    w.resources.Db = { physicalResourceId: 'p-2', lastUpdatedTimestamp: '2026-11-24T15:00:00Z' };
    await pass(c);
    assert.deepEqual(w.runs.splice(0), [
      { hook: 'id', env: { CFN_OLD_PHYSICAL_RESOURCE_ID: 'p-1', CFN_NEW_PHYSICAL_RESOURCE_ID: 'p-2' } },
      { hook: 'ts', env: { CFN_OLD_LAST_UPDATED: '2026-11-24T14:00:00.000Z', CFN_NEW_LAST_UPDATED: '2026-11-24T15:00:00.000Z' } },
    ]);
    w.resources.Db = { physicalResourceId: 'p-2', resourceStatus: 'DELETE_COMPLETE' };
    await pass(c);
    assert.deepEqual(fired(), ['id']);
  });

  it('a DELETE_COMPLETE answer (the old copy while Heat replaces a resource) does not reset a hook that ignores removals', async () => {
    const c = config([hook('h', meta('Web'))]);
    w.resources.Web = { metadata: { v: 1 } };
    await pass(c);
    w.resources.Web = { metadata: { v: 1 }, resourceStatus: 'DELETE_COMPLETE' };
    await pass(c);
    w.resources.Web = { metadata: { v: 2 }, resourceStatus: 'CREATE_COMPLETE' };
    await pass(c);
    assert.deepEqual(w.runs, [{ hook: 'h', env: { CFN_OLD_METADATA: '{"v": 1}', CFN_NEW_METADATA: '{"v": 2}' } }], 'the replacement is an update');
  });

  it('a value too large for the environment is not passed, with a warning; the action still runs', async () => {
    const c = config([hook('h', meta('Web'))]);
    w.resources.Web = { metadata: { v: 1 } };
    await pass(c);
    w.resources.Web = { metadata: { v: 'x'.repeat(MAX_ENV_VALUE_CHARS) } };
    await pass(c);
    assert.deepEqual(w.runs, [{ hook: 'h', env: { CFN_OLD_METADATA: '{"v": 1}' } }]);
    assert.ok(w.logger.lines.some((l) => /^WARNING hook h: CFN_NEW_METADATA not set: the value is longer than the 102400 characters passed$/.test(l)));
  });

  it('once cfn-hup is stopping, no further action starts', async () => {
    const c = config([hook('h', meta('Web'), ['post.add'])]);
    w.resources.Web = { metadata: { v: 1 } };
    w.stopping = true;
    await pass(c);
    assert.deepEqual(fired(), []);
  });

  it("a stack ARN's name, for cfn-init's cache (AWS's and Heat's forms)", () => {
    assert.equal(stackNameOf('arn:aws:cloudformation:us-east-1:123456789012:stack/teststack/51af3dc0-da77-11e4-872e-1234567db123'), 'teststack');
    assert.equal(stackNameOf('arn:openstack:heat::tenant0:stacks/teststack/f00dface'), 'teststack');
    assert.equal(stackNameOf('teststack'), 'teststack');
  });
});
