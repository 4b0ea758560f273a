import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { effectiveCollectors, readSource } from '../../agents/heat-agent/config';
import { inputEnvironment, parseDeployments } from '../../agents/heat-agent/deployments';
import { failure } from '../../agents/heat-agent/groups';
import { blockFromMetadata, resolveCollectors } from '../../agents/heat-agent/collectors/settings';
import { MAX_SIGNAL_BYTES, routeOf, signalBody } from '../../agents/heat-agent/signal';
import { AgentState, FORGET_AFTER_MS } from '../../agents/heat-agent/state';
import { MemoryLogger } from '../../shared/log';

const item = (over: Record<string, unknown> = {}) => ({
  id: 'd-1',
  name: 'deploy',
  group: 'script',
  config: '#!/bin/sh\necho hi\n',
  inputs: [{ name: 'greeting', value: 'hello', type: 'String' }, { name: 'deploy_signal_transport', value: 'CFN_SIGNAL' }],
  outputs: [{ name: 'result' }, { name: 'oops', error_output: true }],
  options: {},
  creation_time: '2026-12-02T01:00:00Z',
  ...over,
});

describe('heat-agent: the metadata\'s deployments', () => {
  it('reads Heat\'s items in the list\'s order, whatever their creation times; no deployments is none', () => {
    const ds = parseDeployments({ deployments: [item({ id: 'b', creation_time: '2026-12-02T02:00:00Z' }), item({ id: 'a' })] }, 'x');
    assert.deepEqual(ds.map((d) => d.id), ['b', 'a']);
    assert.deepEqual(ds[0].outputs, [{ name: 'result', errorOutput: false }, { name: 'oops', errorOutput: true }]);
    assert.deepEqual(parseDeployments({ other: 1 }, 'x'), []);
  });

  it('a fingerprint that changes with an input value or the config, not with the times', () => {
    const [a] = parseDeployments({ deployments: [item()] }, 'x');
    const [b] = parseDeployments({ deployments: [item({ creation_time: '2030-01-01T00:00:00Z', updated_time: 'x' })] }, 'x');
    const [c] = parseDeployments({ deployments: [item({ inputs: [{ name: 'greeting', value: 'bye' }] })] }, 'x');
    const [e] = parseDeployments({ deployments: [item({ config: '#!/bin/sh\necho bye\n' })] }, 'x');
    assert.equal(a.fingerprint, b.fingerprint);
    assert.notEqual(a.fingerprint, c.fingerprint);
    assert.notEqual(a.fingerprint, e.fingerprint);
  });

  it('hostile items are refused whole, naming the key path: nothing runs', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ deployments: {} }, /x: deployments: expected a list/],
      [{ deployments: [item({ group: '../../bin/sh' })] }, /deployments\[0\]\.group: not a hook name/],
      [{ deployments: [item({ group: '..' })] }, /not a hook name/],
      [{ deployments: [item({ id: '' })] }, /deployments\[0\]\.id: expected a string/],
      [{ deployments: [item(), item()] }, /deployments\[1\]\.id: id d-1 appears twice/],
      [{ deployments: [item({ inputs: [{ value: 1 }] })] }, /deployments\[0\]\.inputs\[0\]\.name/],
      [{ deployments: [item({ options: [] })] }, /deployments\[0\]\.options: expected an object/],
      [{ deployments: Array.from({ length: 1001 }, (_, i) => item({ id: `d${i}` })) }, /1001 deployments, at most 1000/],
      [[], /the metadata is not a JSON object/],
    ];
    for (const [m, re] of bad) assert.throws(() => parseDeployments(m, 'x'), re);
  });

  it('inputs as environment variables, non-strings as JSON; names that cannot be one are left out', () => {
    const [d] = parseDeployments({ deployments: [item({ inputs: [{ name: 'n', value: 3 }, { name: 'obj', value: { a: 1 } }, { name: 'bad-name', value: 'x' }, { name: 'none', value: null }] })] }, 'x');
    assert.deepEqual(inputEnvironment(d), { n: '3', obj: '{"a":1}', none: '' });
  });

  it("heat-config's failure rule: a non-zero status code, or an error output that is set", () => {
    const [d] = parseDeployments({ deployments: [item()] }, 'x');
    assert.equal(failure(d, { deploy_status_code: 0, result: 'ok' }), undefined);
    assert.equal(failure(d, { deploy_status_code: 2 }), 'status code 2');
    assert.match(failure(d, { deploy_status_code: 0, oops: 'disk full' })!, /error output oops: disk full/);
    assert.equal(failure(d, { deploy_status_code: 0, oops: '' }), undefined);
  });

  it('the transport: named, implied by a signal id, or none; an unknown one is an error', () => {
    const t = (inputs: unknown[]) => routeOf(parseDeployments({ deployments: [item({ inputs })] }, 'x')[0]).transport;
    const heat = ['deploy_auth_url', 'deploy_user_id', 'deploy_password', 'deploy_project_id', 'deploy_stack_id', 'deploy_resource_name'].map((name) => ({ name, value: name === 'deploy_auth_url' ? 'http://127.0.0.1:5000/v3' : `${name}-value` }));
    assert.equal(t([{ name: 'deploy_signal_transport', value: 'HEAT_SIGNAL' }, ...heat]), 'HEAT_SIGNAL');
    assert.equal(t([{ name: 'deploy_signal_id', value: 'http://127.0.0.1/x' }]), 'CFN_SIGNAL');
    assert.equal(t([]), 'NO_SIGNAL');
    assert.throws(() => t([{ name: 'deploy_signal_transport', value: 'CARRIER_PIGEON' }]), /unknown deploy_signal_transport "CARRIER_PIGEON"/);
  });
});

describe("heat-agent: the metadata real Heat 19 wrote (test/fixtures/heat-deployments)", () => {
  const dir = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'heat-deployments');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    it(`${file}: every deployment read, with its transport and keys`, () => {
      const metadata = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
      const ds = parseDeployments(metadata, file);
      assert.ok(ds.length >= 1);
      for (const d of ds) {
        assert.match(d.id, /^[0-9a-f-]{36}$/);
        const { transport } = routeOf(d);
        assert.ok(['CFN_SIGNAL', 'HEAT_SIGNAL', 'NO_SIGNAL'].includes(transport), transport);
      }
      const block = blockFromMetadata(metadata);
      assert.deepEqual(block?.collectors, ['cfn', 'local']);
      const [cfn] = resolveCollectors(block!, file, '/nonexistent').collectors;
      assert.ok(cfn?.name === 'cfn' && cfn.accessKeyId && cfn.secretAccessKey && cfn.resource === 'server', 'the os-collect-config block holds the cfn keys');
    });
  }
});

describe('heat-agent: signal bodies within Heat\'s limit', () => {
  it('a small body is heat-config\'s JSON as it is', () => {
    const r = { deploy_stdout: 'out', deploy_stderr: '', deploy_status_code: 0, result: 'v' };
    assert.deepEqual(JSON.parse(signalBody(r)), r);
  });

  it('a large one gives up the start of its logs first, and says so', () => {
    const big = { deploy_stdout: 'a'.repeat(800_000) + 'THE END', deploy_stderr: 'e\u00e9"'.repeat(100_000) + 'LAST ERROR', deploy_status_code: 1, result: 'kept' };
    const body = signalBody(big);
    assert.ok(Buffer.byteLength(body) <= MAX_SIGNAL_BYTES, String(Buffer.byteLength(body)));
    const back = JSON.parse(body);
    assert.equal(back.result, 'kept');
    assert.equal(back.deploy_status_code, 1);
    assert.match(back.deploy_stdout, /^\[\d+ characters trimmed to fit Heat's limit\]\n/);
    assert.ok(back.deploy_stdout.endsWith('THE END'));
    assert.ok(back.deploy_stderr.endsWith('LAST ERROR'));
  });

  it('an output too large for any transport is cut at its end, saying so, status and the other outputs kept (it was signalled again at every check)', () => {
    for (const [max, receiver] of [[MAX_SIGNAL_BYTES, 'Heat'], [200_000, 'Zaqar']] as const) {
      const r = { deploy_stdout: 'log', deploy_stderr: '', deploy_status_code: 0, result: 'START' + 'x'.repeat(5_000_000), data: { a: 'y'.repeat(3 * max) }, small: 'kept' };
      const body = signalBody(r, max, receiver);
      assert.ok(Buffer.byteLength(body) <= max, String(Buffer.byteLength(body)));
      const back = JSON.parse(body);
      assert.equal(back.deploy_status_code, 0);
      assert.equal(back.small, 'kept');
      assert.match(back.result, new RegExp(`^STARTx+\\n\\[\\d+ characters trimmed to fit ${receiver}'s limit\\]$`));
      assert.match(back.data, /^\{"a":"y+\n\[\d+ characters trimmed/);
    }
  });

  it('a result that cannot be trimmed to fit is sent as a failure saying why', () => {
    const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`output_${i}`, 'v'.repeat(60)]));
    const back = JSON.parse(signalBody({ deploy_stdout: '', deploy_stderr: '', deploy_status_code: 0, ...many }));
    assert.deepEqual(Object.keys(back), ['deploy_stdout', 'deploy_stderr', 'deploy_status_code']);
    assert.equal(back.deploy_status_code, 1);
    assert.match(back.deploy_stderr, /its 20000 outputs cannot be trimmed to what Heat accepts \(950000\): not sent/);
  });
});

describe('heat-agent: configuration and state', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heat-agent-unit-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("os-collect-config's file: repeated keys, a secret with % and %%, the path's resource and keys", () => {
    const file = path.join(dir, 'os-collect-config.conf');
    fs.writeFileSync(file, '[DEFAULT]\ncommand = os-refresh-config\ncollectors = ec2\ncollectors = cfn\npolling_interval = 7\n\n[cfn]\nmetadata_url = http://127.0.0.1:8000/v1/\nstack_name = st\naccess_key_id = AK\nsecret_access_key = a%%b%^c\npath = Server.Metadata.inner\n');
    const s = readSource({ config: file }, {});
    const e = effectiveCollectors(s, undefined);
    assert.deepEqual(e.collectors, [{ name: 'cfn', metadataUrl: 'http://127.0.0.1:8000/v1/', stackName: 'st', resource: 'Server', subPath: ['inner'], accessKeyId: 'AK', secretAccessKey: 'a%%b%^c' }]);
    assert.equal(e.intervalMs, 7000);
    assert.deepEqual(e.notes, ['collector ec2 passed over: the EC2/nova metadata service holds no deployments']);
    assert.equal(s.from, file);
    fs.writeFileSync(file, '[cfn]\nmetadata_url = http://x/\nstack_name = st\npath = Server.Meta\n');
    assert.throws(() => readSource({ config: file }, {}), /cfn\.path: expected <Resource>\.Metadata/);
    fs.writeFileSync(file, '[DEFAULT]\ncollectors = cfn\n[cfn]\nmetadata_url = http://x/\npath = Server.Metadata\n');
    assert.throws(() => readSource({ config: file }, { CFNTOOLS_HEAT_DIR: dir }), /no collector is configured \(collector cfn not configured \(no stack_name\)\)/);
    assert.throws(() => readSource({ config: path.join(dir, 'none') }, {}), /none: cannot read \(ENOENT\); give --config FILE, or --stack and --resource/);
    assert.equal(effectiveCollectors(readSource({ stack: 's', resource: 'r', interval: 2 }, {}), undefined).intervalMs, 2000);
    assert.throws(() => readSource({ stack: 's' }, {}), /--stack and --resource go together/);
  });

  it('the state survives a reload; a damaged file is set aside and said', async () => {
    const log = new MemoryLogger();
    const s = AgentState.load(dir, log);
    await s.set('d-1', { fingerprint: 'f', signalled: false, result: { deploy_status_code: 0 } });
    await s.setCollectorBlock({ collectors: ['heat', 'local'], sections: { heat: { password: 'P' } } });
    const again = AgentState.load(dir, log);
    assert.deepEqual(again.get('d-1'), { fingerprint: 'f', signalled: false, result: { deploy_status_code: 0 } });
    assert.deepEqual(again.collectorBlock, { collectors: ['heat', 'local'], sections: { heat: { password: 'P' } } });
    assert.equal(fs.statSync(again.file).mode & 0o777, 0o600);
    // A stale snapshot (a Zaqar message posted before a deletion) must not make a forgotten deployment run again.
    await again.keepOnly(new Set(), 1_000);
    assert.equal(AgentState.load(dir, log).get('d-1')?.absentSince, 1_000, 'absent, still recorded');
    await again.keepOnly(new Set(['d-1']), 2_000);
    assert.equal(AgentState.load(dir, log).get('d-1')?.absentSince, undefined, 'seen again');
    await again.keepOnly(new Set(), 3_000);
    await again.keepOnly(new Set(), 3_000 + FORGET_AFTER_MS - 1);
    assert.ok(AgentState.load(dir, log).get('d-1'));
    await again.keepOnly(new Set(), 3_000 + FORGET_AFTER_MS);
    assert.equal(AgentState.load(dir, log).get('d-1'), undefined, 'forgotten after FORGET_AFTER_MS');
    fs.writeFileSync(again.file, '{"deployments": {"x": 1}}');
    const fresh = AgentState.load(dir, log);
    assert.equal(fresh.get('x'), undefined);
    assert.match(log.lines.join('\n'), /deployment "x": not a record; set aside as .*damaged-\d+: every deployment counts as new/);
  });
});
