/**
 * heat-agent's collectors, each against the emulator's transport
 * (test/emulator/stacks/metadata-transports.yaml) in this process: what they
 * call and how often (one keystone token for many polls, a new one after a
 * 401; a conditional GET that fetches nothing twice; every waiting Zaqar
 * message taken, snapshots posted out of order merged, the result kept
 * across restarts), the local files, and how their documents combine.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { combine } from '../../agents/heat-agent/collectors/combine';
import { HeatCollector } from '../../agents/heat-agent/collectors/heat';
import { LocalCollector } from '../../agents/heat-agent/collectors/local';
import { RequestCollector } from '../../agents/heat-agent/collectors/request';
import { blockFromMetadata, resolveCollectors, type CollectorSettings } from '../../agents/heat-agent/collectors/settings';
import { mergeSnapshots, ZAQAR_FILE, ZaqarCollector } from '../../agents/heat-agent/collectors/zaqar';
import { KeystoneSession } from '../../agents/heat-agent/keystone';
import { popMessages, postMessage, PROCESS_CLIENT_ID } from '../../agents/heat-agent/zaqar';
import { HttpClient } from '../../shared/http';
import { MemoryLogger } from '../../shared/log';
import { startEmulator, type Emulator } from '../emulator/server';

const STACKS = path.resolve(__dirname, '..', '..', '..', 'test', 'emulator', 'stacks', 'metadata-transports.yaml');
const STACK = 'transports';

describe('heat-agent: each collector against the emulator', function () {
  this.timeout(30_000);
  let emu: Emulator;
  let http: HttpClient;
  let dir: string;
  let logger: MemoryLogger;

  before(async () => {
    emu = await startEmulator({ stacks: [STACKS] });
    http = new HttpClient({ retry: { maxAttempts: 1 } });
  });
  after(async () => {
    http.close();
    await emu.stop();
  });
  beforeEach(() => {
    emu.reset();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-collectors-'));
    logger = new MemoryLogger();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The collector settings the server's own block gives. */
  const settingsOf = <N extends CollectorSettings['name']>(server: string, name: N) => {
    const block = blockFromMetadata(emu.resource(STACK, server).metadata)!;
    const s = resolveCollectors(block, server, dir).collectors.find((c) => c.name === name);
    assert.ok(s, `${server} has a ${name} collector`);
    return s as Extract<CollectorSettings, { name: N }>;
  };
  const deps = () => ({ http, retry: { maxAttempts: 1 }, stateDir: dir, logger });
  const requests = (re: RegExp) => emu.requestLog.filter((e) => re.test(e.path));
  const names = (data: unknown) => (data as { deployments: Array<{ name: string }> }).deployments.map((d) => d.name);

  it('heat: one keystone token for several polls, scoped to the project; the orchestration endpoint from its catalog; a 401 gets one new token', async () => {
    const c = new HeatCollector(settingsOf('ViaHeat', 'heat'), deps());
    const [first] = await c.collect();
    assert.deepEqual(names(first!.data), ['10_heat']);
    await c.collect();
    assert.equal(requests(/^\/v3\/auth\/tokens$/).length, 1, 'the token is kept');
    const reads = requests(/\/resources\/ViaHeat\/metadata$/);
    assert.deepEqual(reads.map((e) => e.status), [200, 200]);
    assert.match(reads[0]!.path, /^\/v1\/[0-9a-f]{32}\/stacks\/transports\/[0-9a-f-]{36}\/resources\/ViaHeat\/metadata$/);
    // keystone forgets every token: the next read is refused once, then made with a new token.
    emu.reset();
    const [again] = await c.collect();
    assert.deepEqual(names(again!.data), ['10_heat']);
    assert.deepEqual(requests(/\/resources\/ViaHeat\/metadata$/).map((e) => e.status), [401, 200]);
    assert.equal(requests(/^\/v3\/auth\/tokens$/).length, 1);
  });

  it('heat: a wrong password is keystone\'s 401, said without the password', async () => {
    const s = settingsOf('ViaHeat', 'heat');
    const c = new HeatCollector({ ...s, keystone: { ...s.keystone, password: 'Wrong-Pa55word-4-test' } }, deps());
    await assert.rejects(c.collect(), (err: Error) => /HTTP 401/.test(err.message) && !err.message.includes('Wrong-Pa55word'));
  });

  it('request: a conditional GET; unchanged is a 304 and the metadata read before; Heat\'s next PUT is read', async () => {
    const c = new RequestCollector(settingsOf('ViaSwift', 'request'), deps());
    const [first] = await c.collect();
    assert.deepEqual(names(first!.data), ['10_swift']);
    const [same] = await c.collect();
    assert.deepEqual(same!.data, first!.data);
    emu.setMetadata(STACK, 'ViaSwift', { note: 'new' });
    const [changed] = await c.collect();
    assert.equal((changed!.data as { note: string }).note, 'new');
    assert.deepEqual(requests(/^\/swift\//).map((e) => e.status), [200, 304, 200], 'the body was fetched once per version');
    assert.ok(!logger.lines.join('\n').match(/temp_url_sig=[0-9a-f]{8}/), 'the signature is not logged');
    assert.match(first!.source, /temp_url_sig=<redacted>/);
  });

  it('zaqar: every waiting message taken, the last used; kept in the state directory (0600) and used after a restart while the queue is empty', async () => {
    emu.setMetadata(STACK, 'ViaZaqar', { note: 'one' });
    emu.setMetadata(STACK, 'ViaZaqar', { note: 'two' });
    const s = settingsOf('ViaZaqar', 'zaqar');
    const [got] = (await new ZaqarCollector(s, deps()).collect())!;
    assert.equal((got!.data as { note: string }).note, 'two', 'four messages: create, the deployment, one, two');
    assert.deepEqual(names(got!.data), ['10_zaqar']);
    assert.equal(fs.statSync(path.join(dir, ZAQAR_FILE)).mode & 0o777, 0o600);
    const restarted = new ZaqarCollector(s, deps());
    const [kept] = (await restarted.collect())!;
    assert.equal((kept!.data as { note: string }).note, 'two');
    const pops = requests(/\/zaqar\/v2\/queues\/.*\/messages\?pop=20$/);
    assert.equal(pops.length, 2);
    assert.ok(pops.every((e) => e.method === 'DELETE' && e.status === 200));
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-collectors-fresh-'));
    try {
      assert.equal(await new ZaqarCollector(s, { ...deps(), stateDir: fresh }).collect(), undefined, 'no message yet and none kept: nothing');
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("zaqar: Heat's snapshots taken out of order: the last message, with what only earlier ones held put in at its place by name", async () => {
    const s = settingsOf('ViaZaqar', 'zaqar');
    await new ZaqarCollector(s, deps()).collect();
    const session = new KeystoneSession(http, s.keystone, { maxAttempts: 1 });
    const call = async () => ({ http, endpoint: await session.endpoint('messaging'), token: (await session.current()).id, projectId: s.keystone.projectId, clientId: 'c0ffee00-0000-4000-8000-000000000000', retry: { maxAttempts: 1 } });
    const early = { id: 'id-early', name: '10_early' };
    const late = { id: 'id-late', name: '20_late' };
    // Heat's second snapshot (both deployments) reached the queue before its first (one), and a non-object passed over.
    for (const body of [{ round: 1, deployments: [early, late] }, 7, { round: 2, deployments: [late] }]) await postMessage(await call(), s.queueId, JSON.stringify(body), 600);
    const [got] = (await new ZaqarCollector(s, deps()).collect())!;
    assert.deepEqual(got!.data, { round: 2, deployments: [early, late] });
    assert.match(logger.lines.join('\n'), /message 2 of 3: holds no JSON object; passed over/);
    assert.match(logger.lines.join('\n'), /3 message\(s\) taken; the last is the metadata, with 1 deployment\(s\) only earlier messages held/);
    const [kept] = (await new ZaqarCollector(s, deps()).collect())!;
    assert.deepEqual(kept!.data, got!.data, 'what the check made of the batch stands while the queue is empty');
  });

  it('mergeSnapshots: by id, the later copy first; in Heat\'s name order (code points); the last message\'s other keys; bounded', () => {
    const d = (id: string, name: string, v = 0) => ({ id, name, v });
    const merged = mergeSnapshots([
      { deployments: [d('a', 'a', 1), d('z', '\u{1f600}')] },
      { deployments: [d('a', 'a', 2), d('c', 'c')] },
      { k: 'last', deployments: [d('b', 'b'), d('d', '\uffff')] },
    ]);
    assert.deepEqual(merged.metadata, { k: 'last', deployments: [d('a', 'a', 2), d('b', 'b'), d('c', 'c'), d('d', '\uffff'), d('z', '\u{1f600}')] });
    assert.equal(merged.added, 3);
    const unsorted = mergeSnapshots([{ deployments: [d('m', 'm')] }, { deployments: [d('y', 'y'), d('b', 'b')] }]);
    assert.deepEqual(unsorted.metadata.deployments, [d('m', 'm'), d('y', 'y'), d('b', 'b')], "the last message's own order stands");
    assert.deepEqual(mergeSnapshots([{ deployments: [d('a', 'a')] }, { deployments: 'x' }]), { metadata: { deployments: 'x' }, added: 0 });
    const many = Array.from({ length: 3000 }, (_, i) => d(`i${i}`, `n${i}`));
    assert.equal((mergeSnapshots([{ deployments: many }, { deployments: [] }]).metadata.deployments as unknown[]).length, 1001, 'past the bound the check refuses the list');
  });

  it("the Zaqar client: a message posted (v2, this process's Client-ID) and popped back; Zaqar's refusal is an HTTP error", async () => {
    const s = settingsOf('ViaZaqar', 'zaqar');
    const session = new KeystoneSession(http, s.keystone, { maxAttempts: 1 });
    const call = async () => ({ http, endpoint: await session.endpoint('messaging'), token: (await session.current()).id, projectId: s.keystone.projectId, clientId: PROCESS_CLIENT_ID, retry: { maxAttempts: 1 } });
    await postMessage(await call(), 'scratch', JSON.stringify({ deploy_status_code: 0 }), 600);
    assert.deepEqual(await popMessages(await call(), 'scratch', 5), [{ deploy_status_code: 0 }]);
    assert.equal(emu.requestLog.filter((e) => e.path === '/zaqar/v2/queues/scratch/messages').at(-1)?.status, 201);
    await assert.rejects(postMessage(await call(), 'scratch', '1', 10), /HTTP 400/);
  });

  it('local: the JSON files of each directory in byte order, dot files and directories skipped; a world-writable file refused', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.mkdirSync(a, { mode: 0o700 });
    fs.mkdirSync(b, { mode: 0o700 });
    fs.writeFileSync(path.join(a, 'b.json'), '{"x": 2}');
    fs.writeFileSync(path.join(a, 'B.json'), '{"x": 1}');
    fs.writeFileSync(path.join(a, '.hidden'), 'not json');
    fs.mkdirSync(path.join(a, 'sub'));
    fs.writeFileSync(path.join(b, 'z.json'), '{"x": 3}');
    const c = new LocalCollector({ name: 'local', paths: [a, b, path.join(dir, 'missing')] }, deps());
    assert.deepEqual((await c.collect()).map((d) => [path.basename(d.source), d.data]), [['B.json', { x: 1 }], ['b.json', { x: 2 }], ['z.json', { x: 3 }]]);
    fs.chmodSync(path.join(b, 'z.json'), 0o666);
    await assert.rejects(c.collect(), /z\.json: the file is writable by every user \(mode 0666\): refused/);
  });

  it('combined: deployments of every collector in collector order, a repeated id kept once; the rest of Heat\'s metadata from the first collector', () => {
    const d = (id: string) => ({ id, name: id });
    const out = combine([
      { name: 'heat', documents: [{ data: { deployments: [d('h1'), d('h2')], 'os-collect-config': { collectors: ['heat'] } }, source: 'heat' }] },
      { name: 'local', documents: [{ data: { deployments: [d('l1'), d('h1')] }, source: '/x/a.json' }, { data: { other: 1 }, source: '/x/b.json' }] },
    ]);
    assert.deepEqual((out.metadata.deployments as Array<{ id: string }>).map((x) => x.id), ['h1', 'h2', 'l1']);
    assert.deepEqual(out.metadata['os-collect-config'], { collectors: ['heat'] });
    assert.equal(out.metadata.other, undefined, 'a local file adds deployments only');
    assert.deepEqual(out.duplicates, ['/x/a.json: deployment h1 (an earlier collector has it)']);
    assert.throws(() => combine([{ name: 'local', documents: [{ data: [1], source: '/x/c.json' }] }]), /\/x\/c\.json: expected a JSON object/);
  });
});
