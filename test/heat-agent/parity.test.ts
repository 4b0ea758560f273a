/**
 * What heat-config does to a deployment before its hook sees it (String
 * inputs as Python's str(), the component group), where it finds hooks,
 * which transports can report (the check before a deployment runs), and
 * when the deployments file os-refresh-config's scripts read is written.
 * Python's own str() and json.dumps are the reference where python3 is
 * installed.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deployedByHeatConfig, inputEnvironment, parseDeployments } from '../../agents/heat-agent/deployments';
import { orcPhaseDirs, readersIn, renderDeployments } from '../../agents/heat-agent/heat-config-file';
import { findHook, hookDirs, hookName, PACKAGED_HOOKS_DIR } from '../../agents/heat-agent/hooks';
import { catalogEndpoint, tokensUrl, type KeystoneToken } from '../../agents/heat-agent/keystone';
import { planSignal } from '../../agents/heat-agent/signal';
import { pythonStr } from '../../shared/pystr';

const python = spawnSync('python3', ['-c', 'pass']).status === 0;

/** Python's answer for each JSON value, one line each. */
function inPython(script: string, values: unknown[]): string[] {
  const r = spawnSync('python3', ['-c', `import json, sys\nfor line in sys.stdin:\n    v = json.loads(line)\n    ${script}`], { input: values.map((v) => JSON.stringify(v)).join('\n') + '\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').slice(0, values.length);
}

const item = (over: Record<string, unknown> = {}) => ({
  id: 'd-1',
  name: 'deploy',
  group: 'script',
  config: '#!/bin/sh\necho hi\n',
  inputs: [] as unknown[],
  outputs: [],
  options: {},
  ...over,
});
const one = (over: Record<string, unknown> = {}) => parseDeployments({ deployments: [item(over)] }, 'metadata')[0];

describe("heat-agent: heat-config's String inputs", () => {
  const values: unknown[] = [
    'text',
    true,
    false,
    null,
    3,
    -7,
    1.5,
    0.0001,
    0.00001,
    1.25e-7,
    123456789012,
    { a: 1, b: [true, null, "it's"], c: 'say "hi"' },
    ['tab\there', 'line\nbreak', 'both \' and "', 'back\\slash', '\u0007bell'],
    ['é ü ß', '\u0085', '\u00a0', '\u200b', '\u4e2d', '\u{1F600}', '\u2028'],
    [],
    {},
  ];

  it("Python's str() of each JSON value: scalars, and repr inside lists and dicts", () => {
    assert.equal(pythonStr(true), 'True');
    assert.equal(pythonStr(null), 'None');
    assert.equal(pythonStr(0.00001), '1e-05');
    assert.equal(pythonStr({ a: 1, b: [true, null, "it's"] }), `{'a': 1, 'b': [True, None, "it's"]}`);
    assert.equal(pythonStr(['both \' and "']), `['both \\' and "']`);
  });

  it('the same as python3 prints them', function () {
    if (!python) this.skip();
    assert.deepEqual(values.map(pythonStr), inPython('print(str(v))', values));
  });

  it('String-typed inputs that are not strings become str(value), for the script and the hook; others are left as they are', () => {
    const d = one({
      inputs: [
        { name: 'n', type: 'String', value: 3 },
        { name: 'b', type: 'String', value: true },
        { name: 'm', type: 'String', value: { a: 1 } },
        { name: 'z', type: 'String', value: null },
        { name: 's', type: 'String', value: 'as is' },
        { name: 'j', type: 'Json', value: { a: 1 } },
        { name: 'u', value: true },
      ],
    });
    assert.deepEqual(inputEnvironment(d), { n: '3', b: 'True', m: "{'a': 1}", z: 'None', s: 'as is', j: '{"a":1}', u: 'true' });
    assert.deepEqual(
      (d.raw.inputs as Array<{ value: unknown }>).map((i) => i.value),
      ['3', 'True', "{'a': 1}", 'None', 'as is', { a: 1 }, true],
      'what a hook reads on stdin',
    );
  });

  it('heat-config\'s record of a coerced item is the same deployment (not run again after a move)', () => {
    const d = one({ inputs: [{ name: 'n', type: 'String', value: 3 }] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heat-agent-parity-'));
    try {
      fs.mkdirSync(path.join(dir, 'deployed'));
      // heat-config writes the item as it handed it to the hook.
      fs.writeFileSync(path.join(dir, 'deployed', 'd-1.json'), JSON.stringify(d.raw));
      assert.equal(deployedByHeatConfig(d, dir), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('heat-agent: the component group (OS::Heat::SoftwareComponent)', () => {
  const component = {
    configs: [
      { actions: ['CREATE', 'UPDATE'], config: '#!/bin/sh\necho create or update\n', tool: 'script' },
      { actions: ['DELETE'], config: 'delete playbook', tool: 'ansible' },
    ],
  };
  const at = (action: string) => one({ group: 'component', config: component, inputs: [{ name: 'deploy_action', type: 'String', value: action }] });

  it("picks the config whose actions hold deploy_action, and runs it as its tool", () => {
    for (const action of ['CREATE', 'UPDATE']) {
      const d = at(action);
      assert.equal(d.group, 'script', action);
      assert.equal(d.config, '#!/bin/sh\necho create or update\n');
      assert.equal(d.noConfigFor, undefined);
      assert.equal(d.raw.group, 'script', 'a hook gets the picked tool and config, as from heat-config');
    }
    const del = at('DELETE');
    assert.equal(del.group, 'ansible');
    assert.equal(del.raw.config, 'delete playbook');
    assert.notEqual(at('CREATE').fingerprint, del.fingerprint);
  });

  it('an action with no config: nothing to run, said as a failure', () => {
    const d = at('SUSPEND');
    assert.equal(d.group, 'component');
    assert.equal(d.noConfigFor, 'SUSPEND');
  });

  it('heat-config\'s record of a component (the picked config) is the same deployment', () => {
    const d = at('CREATE');
    const [again] = parseDeployments({ deployments: [d.raw] }, 'record');
    assert.equal(again.fingerprint, d.fingerprint);
  });

  it('a component that is not one is refused whole, naming the key path', () => {
    assert.throws(() => one({ group: 'component', config: '#!/bin/sh' }), /metadata: deployments\[0\]\.config: expected an object with a list `configs`/);
    assert.throws(() => one({ group: 'component', config: { configs: [{ actions: 'CREATE', tool: 'script' }] } }), /deployments\[0\]\.config\.configs\[0\]: expected an object with a list `actions`/);
    assert.throws(() => one({ group: 'component', config: { configs: [{ actions: ['CREATE'], tool: '../../bin/sh' }] } }), /deployments\[0\]\.config\.configs\[0\]\.tool: not a hook name/);
  });
});

describe("heat-agent: heat-config's hook directories", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heat-agent-hooks-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("$HEAT_CONFIG_HOOKS, then the packaged directory, then /var/lib/heat-config/hooks; --hooks-dir alone when given", () => {
    assert.deepEqual(hookDirs({}), [PACKAGED_HOOKS_DIR, '/var/lib/heat-config/hooks']);
    assert.deepEqual(hookDirs({ HEAT_CONFIG_HOOKS: '/env/hooks', CFNTOOLS_HEAT_CONFIG_DIR: '/hc' }), ['/env/hooks', '/usr/libexec/heat-config/hooks', '/hc/hooks']);
    assert.deepEqual(hookDirs({ HEAT_CONFIG_HOOKS: '/env/hooks' }, '/only'), ['/only']);
  });

  it("the first directory holding the group's hook wins; the file name keeps letters, digits, - and _", () => {
    const [first, second] = ['first', 'second'].map((d) => path.join(dir, d));
    fs.mkdirSync(first);
    fs.mkdirSync(second);
    fs.writeFileSync(path.join(second, 'puppet'), '');
    fs.writeFileSync(path.join(first, 'ansible'), '');
    fs.writeFileSync(path.join(second, 'ansible'), '');
    fs.writeFileSync(path.join(second, 'HeatUngrouped'), '');
    const dirs = [path.join(dir, 'absent'), first, second];
    assert.equal(findHook(dirs, 'ansible'), path.join(first, 'ansible'));
    assert.equal(findHook(dirs, 'puppet'), path.join(second, 'puppet'));
    assert.equal(findHook(dirs, 'Heat::Ungrouped'), path.join(second, 'HeatUngrouped'));
    assert.equal(findHook(dirs, 'chef'), undefined);
    assert.equal(hookName('docker-cmd_2.x+y'), 'docker-cmd_2xy');
    assert.equal(findHook(dirs, '::'), undefined, 'nothing left of the name: no hook');
  });
});

describe('heat-agent: a signal route, checked before a deployment runs', () => {
  const auth = [
    { name: 'deploy_auth_url', value: 'http://127.0.0.1:5000/v3/' },
    { name: 'deploy_user_id', value: 'u-1' },
    { name: 'deploy_username', value: 'stack-user' },
    { name: 'deploy_password', value: 'Pa55-word' },
    { name: 'deploy_project_id', value: 'p-1' },
    { name: 'deploy_region_name', value: 'RegionTwo' },
  ];
  const where = [
    { name: 'deploy_stack_id', value: 'st/5e1f' },
    { name: 'deploy_resource_name', value: 'deployment' },
  ];
  const plan = (transport: string | undefined, ...inputs: Array<{ name: string; value: unknown }>) =>
    planSignal(one({ inputs: [...(transport ? [{ name: 'deploy_signal_transport', value: transport }] : []), ...inputs] }));
  const problem = (p: ReturnType<typeof plan>) => ('problem' in p ? p.problem : undefined);
  const fallback = (p: ReturnType<typeof plan>) => ('problem' in p ? p.fallback?.transport : undefined);

  it('each transport with what it needs: a route', () => {
    assert.deepEqual(plan('ZAQAR_SIGNAL', ...auth, { name: 'deploy_queue_id', value: 'st-deployment-x1_Y' }), {
      route: { transport: 'ZAQAR_SIGNAL', keystone: { authUrl: 'http://127.0.0.1:5000/v3/', userId: 'u-1', password: 'Pa55-word', projectId: 'p-1' }, region: 'RegionTwo', queue: 'st-deployment-x1_Y' },
    });
    assert.equal((plan('HEAT_SIGNAL', ...auth, ...where) as { route: { transport: string } }).route.transport, 'HEAT_SIGNAL');
    assert.deepEqual(plan('TEMP_URL_SIGNAL', { name: 'deploy_signal_id', value: 'https://swift/v1/AUTH_x/c/o?temp_url_sig=abc' }), { route: { transport: 'TEMP_URL_SIGNAL', url: 'https://swift/v1/AUTH_x/c/o?temp_url_sig=abc', verb: 'PUT' } });
    assert.deepEqual(plan(undefined), { route: { transport: 'NO_SIGNAL' } });
  });

  it('a missing or malformed input, or an unknown transport: the problem, naming the input, never its value', () => {
    const cases: Array<[ReturnType<typeof plan>, RegExp]> = [
      [plan('CFN_SIGNAL'), /^CFN_SIGNAL without deploy_signal_id$/],
      [plan('CFN_SIGNAL', { name: 'deploy_signal_id', value: 'ftp://127.0.0.1/Signature=SECRET' }), /^CFN_SIGNAL: deploy_signal_id is not an http\(s\) URL$/],
      [plan('CFN_SIGNAL', { name: 'deploy_signal_id', value: 'http://127.0.0.1/x' }, { name: 'deploy_signal_verb', value: 'GET' }), /deploy_signal_verb "GET": expected POST or PUT/],
      [plan('TEMP_URL_SIGNAL', { name: 'deploy_signal_id', value: 'swift container/object' }), /^TEMP_URL_SIGNAL: deploy_signal_id is not an http\(s\) URL$/],
      [plan('HEAT_SIGNAL', ...auth.filter((i) => i.name !== 'deploy_password'), ...where), /^HEAT_SIGNAL without deploy_password$/],
      [plan('HEAT_SIGNAL', ...auth.filter((i) => i.name !== 'deploy_user_id'), ...where), /^HEAT_SIGNAL without deploy_user_id$/],
      [plan('HEAT_SIGNAL', ...auth, { name: 'deploy_stack_id', value: 'st/1' }), /^HEAT_SIGNAL without deploy_resource_name$/],
      [plan('HEAT_SIGNAL', ...auth.map((i) => (i.name === 'deploy_auth_url' ? { ...i, value: '127.0.0.1:5000/v3' } : i)), ...where), /^HEAT_SIGNAL: deploy_auth_url is not an http\(s\) URL$/],
      [plan('ZAQAR_SIGNAL', ...auth), /^ZAQAR_SIGNAL without deploy_queue_id$/],
      [plan('ZAQAR_SIGNAL', ...auth, { name: 'deploy_queue_id', value: '../queues/other' }), /deploy_queue_id "\.\.\/queues\/other" is not a Zaqar queue name/],
      [plan('ZAQAR_SIGNAL', ...auth, { name: 'deploy_queue_id', value: 'q'.repeat(65) }), /is not a Zaqar queue name \(1 to 64/],
      [plan('ZAQAR_SIGNAL', { name: 'deploy_queue_id', value: 'q' }), /^ZAQAR_SIGNAL without deploy_auth_url$/],
      [plan('CARRIER_PIGEON'), /^unknown deploy_signal_transport "CARRIER_PIGEON": expected one of CFN_SIGNAL, TEMP_URL_SIGNAL, HEAT_SIGNAL, NO_SIGNAL, ZAQAR_SIGNAL$/],
    ];
    for (const [p, re] of cases) assert.match(problem(p) ?? '(a route)', re);
    assert.ok(!cases.some(([p]) => /SECRET|Pa55/.test(problem(p) ?? '')));
  });

  it('the failure goes over HEAT_SIGNAL when the inputs hold all it needs, else nowhere', () => {
    assert.equal(fallback(plan('ZAQAR_SIGNAL', ...auth, ...where)), 'HEAT_SIGNAL', "ZAQAR_SIGNAL's inputs without a queue");
    assert.equal(fallback(plan('ZAQAR_SIGNAL', ...auth, ...where, { name: 'deploy_queue_id', value: 'a/b' })), 'HEAT_SIGNAL');
    assert.equal(fallback(plan('CARRIER_PIGEON', ...auth, ...where)), 'HEAT_SIGNAL');
    assert.equal(fallback(plan('ZAQAR_SIGNAL', ...auth)), undefined, 'no stack or resource to signal');
    assert.equal(fallback(plan('CARRIER_PIGEON')), undefined);
    assert.equal(fallback(plan('CFN_SIGNAL', { name: 'deploy_signal_id', value: 'nope' })), undefined);
    assert.equal(fallback(plan('HEAT_SIGNAL', ...auth.filter((i) => i.name !== 'deploy_password'), ...where)), undefined);
  });
});

describe('heat-agent: keystone', () => {
  it("the tokens URL, with or without Heat's /v3", () => {
    assert.equal(tokensUrl('http://127.0.0.1:5000/v3/'), 'http://127.0.0.1:5000/v3/auth/tokens');
    assert.equal(tokensUrl('http://127.0.0.1:5000/v3'), 'http://127.0.0.1:5000/v3/auth/tokens');
    assert.equal(tokensUrl('https://cloud/identity'), 'https://cloud/identity/v3/auth/tokens');
  });

  it("an endpoint of the token's catalog: the region's public one, else its first", () => {
    const token: KeystoneToken = {
      id: 't',
      expiresAt: Infinity,
      catalog: [
        { type: 'orchestration', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://heat/v1/p/' }] },
        {
          type: 'messaging',
          endpoints: [
            { interface: 'internal', region: 'RegionTwo', url: 'http://zaqar-two-internal' },
            { interface: 'public', region_id: 'RegionTwo', url: 'http://zaqar-two' },
            { interface: 'admin', region: 'RegionThree', url: 'http://zaqar-three-admin' },
          ],
        },
      ],
    };
    assert.equal(catalogEndpoint(token, 'orchestration'), 'http://heat/v1/p');
    assert.equal(catalogEndpoint(token, 'messaging', 'RegionTwo'), 'http://zaqar-two');
    assert.equal(catalogEndpoint(token, 'messaging', 'RegionThree'), 'http://zaqar-three-admin');
    assert.throws(() => catalogEndpoint(token, 'messaging', 'RegionFour'), /no messaging endpoint in region RegionFour in the token's catalog/);
    assert.throws(() => catalogEndpoint(token, 'object-store'), /no object-store endpoint/);
  });
});

describe("heat-agent: the deployments file os-refresh-config's scripts read", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heat-agent-orc-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("os-refresh-config's phase directories, moved by OS_REFRESH_CONFIG_BASE_DIR", () => {
    assert.deepEqual(orcPhaseDirs({ OS_REFRESH_CONFIG_BASE_DIR: '/b' }), ['/b/pre-configure.d', '/b/configure.d', '/b/post-configure.d', '/b/migration.d']);
  });

  it("its readers: files naming it, not heat-config's own deployer; other files and absent directories read nothing", () => {
    const configure = path.join(dir, 'configure.d');
    const hooks = path.join(dir, 'hooks');
    fs.mkdirSync(configure);
    fs.mkdirSync(hooks);
    fs.writeFileSync(path.join(configure, '55-heat-config'), "CONF_FILE = os.environ.get('HEAT_SHELL_CONFIG', '/var/run/heat-config/heat-config')\n");
    fs.writeFileSync(path.join(configure, '20-os-apply-config'), '#!/bin/bash\nexec os-apply-config\n');
    assert.deepEqual(readersIn([configure, hooks, path.join(dir, 'absent')]), []);
    fs.writeFileSync(path.join(configure, '50-heat-config-docker-cmd'), "#!/usr/bin/env python3\nCONF_FILE = os.environ.get('HEAT_SHELL_CONFIG',\n                           '/var/run/heat-config/heat-config')\n");
    fs.writeFileSync(path.join(hooks, 'my-hook'), '#!/bin/sh\njq . "$HEAT_SHELL_CONFIG"\n');
    fs.mkdirSync(path.join(hooks, 'a-directory'));
    assert.deepEqual(readersIn([configure, hooks]), [path.join(configure, '50-heat-config-docker-cmd'), path.join(hooks, 'my-hook')]);
  });

  it('the list as os-apply-config renders {{deployments}} (Python json.dumps); nothing for none', function () {
    const list = [{ id: 'd-1', name: 'dé', inputs: [{ name: 'n', value: 1.5 }, { name: 'b', value: true }], config: 'line\n' }];
    assert.equal(renderDeployments(undefined), '');
    assert.equal(renderDeployments(list), '[{"id": "d-1", "name": "d\\u00e9", "inputs": [{"name": "n", "value": 1.5}, {"name": "b", "value": true}], "config": "line\\n"}]');
    if (python) assert.deepEqual([renderDeployments(list)], inPython('print(json.dumps(v))', [list]));
  });
});
