/**
 * heat-agent's signals and heat-config parity end to end: the metadata from
 * the emulator (signed DescribeStackResource), and a loopback stand-in for
 * keystone, Zaqar and Heat's resource-signal API that records every
 * request, so the exact calls are checked: ZAQAR_SIGNAL, the check before a
 * deployment runs, hook directories, String inputs, the component group,
 * and the deployments file os-refresh-config's scripts read.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { runTool, toolEnv, type RunResult } from '../support/cli';
import { startServer, type RecordedRequest, type TestServer } from '../support/server';

const STACK = 'signalstack';
const KEY = { accessKey: 'AKIDSIGNALS00000000000000000000001', secretKey: 'signals-secret/key' };
const TOKEN = 'gAAAAABtoken-of-the-deployment-user';
const PASSWORD = 'Zaqar-Pa55word!';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('heat-agent: ZAQAR_SIGNAL, the check before running, and heat-config parity', function () {
  this.timeout(60_000);
  let emulator: Emulator;
  let cloud: TestServer;
  let dir: string;
  /** Status codes the stand-in answers the next Zaqar posts with, before it takes one. */
  let zaqarRefuses: number[] = [];

  before(async () => {
    emulator = await startEmulator({ stacks: [{ name: STACK, resources: { Server: { type: 'OS::Heat::DeployedServer', physicalId: 'srv-1', metadata: {} } }, credentials: [KEY] }] });
    cloud = await startServer((req, res) => {
      if (req.method === 'POST' && req.url === '/identity/v3/auth/tokens') {
        const catalog = [
          { type: 'orchestration', endpoints: [{ interface: 'public', region: 'RegionTwo', url: `${cloud.url}/heat/v1/p-1` }] },
          {
            type: 'messaging',
            endpoints: [
              { interface: 'public', region: 'RegionOne', url: `${cloud.url}/zaqar-one` },
              { interface: 'internal', region: 'RegionTwo', url: `${cloud.url}/zaqar-two-internal` },
              { interface: 'public', region: 'RegionTwo', url: `${cloud.url}/zaqar-two/` },
            ],
          },
        ];
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': TOKEN });
        res.end(JSON.stringify({ token: { expires_at: '2099-01-01T00:00:00.000000Z', catalog } }));
        return;
      }
      if (req.method === 'POST' && req.url.startsWith('/zaqar-two/v2/queues/')) {
        const refuse = zaqarRefuses.shift();
        res.writeHead(refuse ?? 201, { 'Content-Type': 'application/json' });
        res.end(refuse ? '{"title": "Service temporarily unavailable"}' : '{"resources": ["/v2/queues/q/messages/1"]}');
        return;
      }
      if (req.method === 'POST' && req.url.startsWith('/heat/v1/p-1/stacks/')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('null');
        return;
      }
      if (req.method === 'POST' && req.url.startsWith('/cfn/')) {
        res.writeHead(200);
        res.end();
        return;
      }
      res.writeHead(404);
      res.end('no such thing here');
    });
  });
  after(async () => {
    await emulator?.stop();
    await cloud?.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-agent-signals-'));
    for (const d of ['out', 'env-hooks', 'heat-config/hooks', 'orc/configure.d']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    cloud.requests.length = 0;
    zaqarRefuses = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const conf = () => {
    const file = path.join(dir, 'os-collect-config.conf');
    fs.writeFileSync(file, `[cfn]\nmetadata_url = ${emulator.apiUrl}\nstack_name = ${STACK}\naccess_key_id = ${KEY.accessKey}\nsecret_access_key = ${KEY.secretKey}\npath = Server.Metadata\n`, { mode: 0o600 });
    return file;
  };
  /** No --hooks-dir unless given: heat-config's directories, with /var/lib/heat-config moved into the test's. */
  const run = (extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runTool('heat-agent', ['--config', conf(), '--one-time', '--log-file', path.join(dir, 'heat-agent.log'), '-v', '--timeout', '5', ...extra], {
      env: toolEnv({
        CFNTOOLS_HEAT_AGENT_DIR: path.join(dir, 'state'),
        CFNTOOLS_HEAT_CONFIG_DIR: path.join(dir, 'heat-config'),
        CFNTOOLS_STATE_DIR: path.join(dir, 'cfn-init-state'),
        CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'),
        OS_REFRESH_CONFIG_BASE_DIR: path.join(dir, 'orc'),
        HEAT_SHELL_CONFIG: path.join(dir, 'run', 'heat-config'),
        ...env,
      }),
    });
  const log = () => fs.readFileSync(path.join(dir, 'heat-agent.log'), 'utf8');
  const runs = (name: string) => (fs.existsSync(path.join(dir, 'out', name)) ? fs.readFileSync(path.join(dir, 'out', name), 'utf8').split('\n').filter(Boolean).length : 0);
  const json = (r: RecordedRequest) => JSON.parse(r.body.toString()) as Record<string, unknown>;
  const setDeployments = (deployments: unknown[]) => emulator.setMetadata(STACK, 'Server', { deployments });

  const auth = [
    { name: 'deploy_auth_url', value: '' },
    { name: 'deploy_username', value: 'signalstack-deployment-abc' },
    { name: 'deploy_user_id', value: 'u-1' },
    { name: 'deploy_password', value: PASSWORD },
    { name: 'deploy_project_id', value: 'p-1' },
    { name: 'deploy_region_name', value: 'RegionTwo' },
  ];
  const where = [
    { name: 'deploy_stack_id', value: `${STACK}/5e1f` },
    { name: 'deploy_resource_name', value: 'deployment' },
  ];
  function deployment(id: string, inputs: Array<{ name: string; value: unknown; type?: string }>, over: Record<string, unknown> = {}) {
    return {
      id,
      name: `dep-${id}`,
      group: 'script',
      config: `#!/bin/sh\necho run >> ${dir}/out/${id}\necho "hello $greeting"\necho "$greeting!" > "$heat_outputs_path.result"\n`,
      inputs: [{ name: 'greeting', value: 'zaqar', type: 'String' }, { name: 'deploy_action', value: 'CREATE', type: 'String' }, ...inputs.map((i) => (i.name === 'deploy_auth_url' && !i.value ? { ...i, value: `${cloud.url}/identity/v3/` } : i))],
      outputs: [{ name: 'result', type: 'String' }],
      options: {},
      ...over,
    };
  }
  const zaqar = (id: string, queue = `${STACK}-deployment-${id}`) => deployment(id, [{ name: 'deploy_signal_transport', value: 'ZAQAR_SIGNAL' }, ...auth, ...where, { name: 'deploy_queue_id', value: queue }]);
  const cfn = (id: string, over: Record<string, unknown> = {}) => deployment(id, [{ name: 'deploy_signal_transport', value: 'CFN_SIGNAL' }, { name: 'deploy_signal_id', value: `${cloud.url}/cfn/${id}` }], over);
  /** The signal bodies the stand-in's CFN endpoint took, by deployment id. */
  const cfnBodies = () => Object.fromEntries(cloud.requests.filter((r) => r.url.startsWith('/cfn/')).map((r) => [r.url.slice(5), json(r)]));

  it('ZAQAR_SIGNAL: keystone v3 with the deployment user, the catalog\'s public messaging endpoint of its region, one v2 message with a Client-ID; nothing the next check', async () => {
    setDeployments([zaqar('z1')]);
    const r = await run();
    assert.equal(r.status, 0, r.stderr + log());
    const [authReq, post, ...more] = cloud.requests;
    assert.equal(more.length, 0);
    assert.equal(authReq.url, '/identity/v3/auth/tokens');
    assert.equal(authReq.headers['content-type'], 'application/json');
    assert.deepEqual(json(authReq), { auth: { identity: { methods: ['password'], password: { user: { id: 'u-1', password: PASSWORD } } }, scope: { project: { id: 'p-1' } } } });
    assert.equal(post.method, 'POST');
    assert.equal(post.url, `/zaqar-two/v2/queues/${STACK}-deployment-z1/messages`);
    assert.equal(post.headers['x-auth-token'], TOKEN);
    assert.match(String(post.headers['client-id']), UUID);
    assert.equal(post.headers['content-type'], 'application/json');
    assert.deepEqual(json(post), { messages: [{ ttl: 600, body: { deploy_stdout: 'hello zaqar\n', deploy_stderr: '', deploy_status_code: 0, result: 'zaqar!\n' } }] });
    assert.match(log(), /deployment dep-z1 \(z1\): signalled over ZAQAR_SIGNAL/);
    assert.ok(!log().includes(PASSWORD) && !log().includes(TOKEN), 'neither the password nor the token is logged');

    assert.equal((await run()).status, 0);
    assert.equal(cloud.requests.length, 2, 'not signalled again');
    assert.equal(runs('z1'), 1, 'not run again');
  });

  it('ZAQAR_SIGNAL: a refused post is retried within the signal\'s bounds, then kept and sent again at the next check; a large result fits Zaqar\'s 256 KiB', async () => {
    const big = zaqar('z2');
    big.config = `#!/bin/sh\necho run >> ${dir}/out/z2\nhead -c 400000 /dev/zero | tr '\\0' x\necho THE-END\n`;
    setDeployments([big]);
    zaqarRefuses = [503, 503, 503, 503, 503, 503, 503, 503, 503, 503];
    const first = await run(['--timeout', '2']);
    assert.equal(first.status, 1);
    assert.match(log(), /deployment dep-z2 \(z2\): signal not accepted: HTTP 503.*; signalled again at the next check/);
    const refused = cloud.requests.filter((q) => q.url.startsWith('/zaqar-two/')).length;
    assert.ok(refused >= 2, `retried (${refused} posts)`);
    zaqarRefuses = [];
    cloud.requests.length = 0;
    assert.equal((await run()).status, 0, log());
    assert.equal(runs('z2'), 1, 'not run again');
    const post = cloud.requests.find((q) => q.url.startsWith('/zaqar-two/'))!;
    assert.ok(post.body.length <= 262_144, `${post.body.length} bytes`);
    const body = (json(post).messages as Array<{ body: Record<string, string> }>)[0].body;
    assert.ok(/^\[\d+ characters trimmed to fit Zaqar's limit\]\nx+THE-END\n$/.test(body.deploy_stdout), body.deploy_stdout.slice(0, 80));
  });

  it('a deployment that can never report is not run: said once, the failure over HEAT_SIGNAL where the inputs allow, nothing otherwise; not tried again', async () => {
    setDeployments([
      deployment('badurl', [{ name: 'deploy_signal_transport', value: 'CFN_SIGNAL' }, { name: 'deploy_signal_id', value: 'heat-api-cfn/v1/signal?Signature=SECRETSIG' }]),
      deployment('pigeon', [{ name: 'deploy_signal_transport', value: 'CARRIER_PIGEON' }]),
      deployment('nopass', [{ name: 'deploy_signal_transport', value: 'HEAT_SIGNAL' }, ...auth.filter((i) => i.name !== 'deploy_password'), ...where]),
      deployment('noqueue', [{ name: 'deploy_signal_transport', value: 'ZAQAR_SIGNAL' }, ...auth, ...where]),
      cfn('fine'),
    ]);
    const r = await run();
    assert.equal(r.status, 1, 'deployments were refused');
    for (const id of ['badurl', 'pigeon', 'nopass', 'noqueue']) assert.equal(runs(id), 0, `${id} not run`);
    assert.equal(runs('fine'), 1, 'the others run');
    const text = log();
    assert.match(text, /ERROR .*deployment dep-badurl \(badurl\) not run: CFN_SIGNAL: deploy_signal_id is not an http\(s\) URL; nothing can tell Heat, which waits for the deployment's timeout; not tried again until the deployment changes/);
    assert.match(text, /ERROR .*deployment dep-pigeon \(pigeon\) not run: unknown deploy_signal_transport "CARRIER_PIGEON": expected one of .*; nothing can tell Heat/);
    assert.match(text, /ERROR .*deployment dep-nopass \(nopass\) not run: HEAT_SIGNAL without deploy_password; nothing can tell Heat/);
    assert.match(text, /ERROR .*deployment dep-noqueue \(noqueue\) not run: ZAQAR_SIGNAL without deploy_queue_id; its failure is signalled over HEAT_SIGNAL/);
    assert.ok(!text.includes('SECRETSIG'));
    const heat = cloud.requests.filter((q) => q.url.startsWith('/heat/'));
    assert.deepEqual(
      heat.map((q) => [q.url, q.headers['x-auth-token']]),
      [[`/heat/v1/p-1/stacks/${STACK}/5e1f/resources/deployment/signal`, TOKEN]],
    );
    assert.deepEqual(json(heat[0]), { deploy_stdout: '', deploy_stderr: 'heat-agent did not run this deployment: ZAQAR_SIGNAL without deploy_queue_id', deploy_status_code: 1 });
    assert.deepEqual(Object.keys(cfnBodies()), ['fine']);

    const before = cloud.requests.length;
    assert.equal((await run()).status, 0, 'nothing new to refuse');
    assert.equal(cloud.requests.length, before, 'nothing sent again');
    assert.equal((log().match(/not run: /g) ?? []).length, 4, 'each said once');
  });

  it("hooks: $HEAT_CONFIG_HOOKS before /var/lib/heat-config/hooks, heat-config's file names; --hooks-dir alone when given", async () => {
    const hook = (file: string, says: string) =>
      fs.writeFileSync(file, `#!/bin/sh\ncat > /dev/null\nprintf '{"deploy_stdout": "${says}", "deploy_stderr": "", "deploy_status_code": 0}'\n`, { mode: 0o755 });
    hook(path.join(dir, 'env-hooks', 'mytool'), 'from HEAT_CONFIG_HOOKS');
    hook(path.join(dir, 'heat-config', 'hooks', 'mytool'), 'from /var/lib/heat-config/hooks');
    hook(path.join(dir, 'heat-config', 'hooks', 'other'), 'only in /var/lib/heat-config/hooks');
    setDeployments([cfn('a', { group: 'mytool' }), cfn('b', { group: 'other' }), cfn('c', { group: 'my.tool' })]);
    assert.equal((await run([], { HEAT_CONFIG_HOOKS: path.join(dir, 'env-hooks') })).status, 0, log());
    const got = cfnBodies();
    assert.equal(got.a.deploy_stdout, 'from HEAT_CONFIG_HOOKS');
    assert.equal(got.b.deploy_stdout, 'only in /var/lib/heat-config/hooks');
    assert.equal(got.c.deploy_stdout, 'from HEAT_CONFIG_HOOKS', 'group my.tool runs hook mytool, as heat-config names it');

    cloud.requests.length = 0;
    fs.rmSync(path.join(dir, 'state'), { recursive: true });
    assert.equal((await run(['--hooks-dir', path.join(dir, 'heat-config', 'hooks')], { HEAT_CONFIG_HOOKS: path.join(dir, 'env-hooks') })).status, 0);
    assert.equal(cfnBodies().a.deploy_stdout, 'from /var/lib/heat-config/hooks', '--hooks-dir overrides');
  });

  it("String inputs reach the script as heat-config passes them (Python's str()); a component runs the config for its deploy_action, and says when it has none", async () => {
    const component = {
      configs: [
        { actions: ['CREATE', 'UPDATE'], tool: 'script', config: `#!/bin/sh\necho "create/update n=$n b=$b m=$m z=$z j=$j"\n` },
        { actions: ['DELETE'], tool: 'script', config: '#!/bin/sh\necho "delete $deploy_action"\n' },
      ],
    };
    const inputs = (action: string) => [
      { name: 'deploy_signal_transport', value: 'CFN_SIGNAL' },
      { name: 'n', type: 'String', value: 3 },
      { name: 'b', type: 'String', value: true },
      { name: 'm', type: 'String', value: { k: 'v' } },
      { name: 'z', type: 'String', value: null },
      { name: 'j', type: 'Json', value: { k: 'v' } },
    ].concat([{ name: 'deploy_signal_id', value: `${cloud.url}/cfn/${action}` }]);
    const at = (action: string) => {
      const d = deployment(action, inputs(action), { group: 'component', config: component });
      d.inputs = d.inputs.map((i) => (i.name === 'deploy_action' ? { ...i, value: action } : i));
      return d;
    };
    setDeployments([at('CREATE'), at('DELETE'), at('SUSPEND')]);
    assert.equal((await run()).status, 0, log());
    const got = cfnBodies();
    assert.equal(got.CREATE.deploy_stdout, `create/update n=3 b=True m={'k': 'v'} z=None j={"k":"v"}\n`);
    assert.equal(got.DELETE.deploy_stdout, 'delete DELETE\n');
    assert.deepEqual(got.SUSPEND, { deploy_stdout: '', deploy_stderr: 'group component: no config for deploy_action SUSPEND', deploy_status_code: 1 });
  });

  it("/var/run/heat-config/heat-config is written only when an installed script reads it: as os-apply-config renders it, 0600", async () => {
    const file = path.join(dir, 'run', 'heat-config');
    fs.writeFileSync(path.join(dir, 'orc', 'configure.d', '55-heat-config'), "CONF_FILE = os.environ.get('HEAT_SHELL_CONFIG', '/var/run/heat-config/heat-config')\n", { mode: 0o755 });
    const list = [cfn('a'), cfn('b', { inputs: [{ name: 'n', type: 'String', value: 1 }, { name: 'deploy_signal_id', value: `${cloud.url}/cfn/b` }] })];
    setDeployments(list);
    assert.equal((await run()).status, 0, log());
    assert.equal(fs.existsSync(file), false, "heat-config's own deployer does not count");

    fs.writeFileSync(path.join(dir, 'orc', 'configure.d', '50-heat-config-docker-cmd'), "#!/usr/bin/env python3\nCONF_FILE = os.environ.get('HEAT_SHELL_CONFIG',\n                           '/var/run/heat-config/heat-config')\n", { mode: 0o755 });
    assert.equal((await run()).status, 0, log());
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const text = fs.readFileSync(file, 'utf8');
    assert.deepEqual(JSON.parse(text), list, 'the list as Heat sent it');
    if (spawnSync('python3', ['-c', 'pass']).status === 0) {
      const py = spawnSync('python3', ['-c', 'import json, sys; sys.stdout.write(json.dumps(json.load(sys.stdin)))'], { input: JSON.stringify(list), encoding: 'utf8' });
      assert.equal(text, py.stdout, "byte for byte what os-apply-config's json.dumps writes");
    }
    assert.match(log(), new RegExp(`wrote ${file}, which .*50-heat-config-docker-cmd reads`));
  });
});
