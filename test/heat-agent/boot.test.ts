/**
 * heat-agent on an image with no /etc/os-collect-config.conf: it reads the
 * os-collect-config block of Heat's boot data (cfn-init-data, or the
 * cfn-init-data part of the user data the metadata service serves) and
 * polls from that alone, through every metadata transport of the emulator
 * (test/emulator/stacks/metadata-transports.yaml): the deployment runs and
 * is signalled, once. Also: a file naming two collectors (Heat's and the
 * local files), and a metadata block that moves the agent to another
 * collector from the next run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { runTool, toolEnv, type RunResult } from '../support/cli';
import { startFakeImds } from '../support/imds-server';

const REPO = path.resolve(__dirname, '..', '..', '..');
const STACKS = path.join(REPO, 'test', 'emulator', 'stacks', 'metadata-transports.yaml');
const HEAT_USER_DATA = path.join(REPO, 'test', 'fixtures', 'heat-wire', 'heat-userdata-mime-HEAT_CFNTOOLS.txt');
const STACK = 'transports';
const PLAIN = { accessKey: 'AKIDPLAIN00000000000000000000001', secretKey: 'plain-secret-key' };

describe("heat-agent from Heat's boot data, through every metadata transport", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let dir: string;

  before(async () => {
    emu = await startEmulator({ stacks: [STACKS, { name: 'plain', resources: { Plain: { type: 'OS::Heat::DeployedServer', ...PLAIN, metadata: {} } } }] });
  });
  after(() => emu.stop());
  beforeEach(() => {
    emu.reset();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-agent-boot-'));
    fs.mkdirSync(path.join(dir, 'heat'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const env = (extra: NodeJS.ProcessEnv = {}) =>
    toolEnv({
      CFNTOOLS_HEAT_AGENT_DIR: path.join(dir, 'state'),
      CFNTOOLS_HEAT_CONFIG_DIR: path.join(dir, 'heat-config'),
      CFNTOOLS_STATE_DIR: path.join(dir, 'cfn-init'),
      CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'),
      CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'),
      // The image has no os-collect-config.conf.
      CFNTOOLS_OCC_CONFIG: path.join(dir, 'os-collect-config.conf'),
      CFNTOOLS_OCC_LOCAL_DATA_DIR: path.join(dir, 'local-data'),
      ...extra,
    });
  const run = (args: string[] = [], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runTool('heat-agent', ['--one-time', '--hooks-dir', path.join(dir, 'hooks'), '--log-file', path.join(dir, 'heat-agent.log'), '-v', ...args], { env: env(extra) });
  const log = () => (fs.existsSync(path.join(dir, 'heat-agent.log')) ? fs.readFileSync(path.join(dir, 'heat-agent.log'), 'utf8') : '');
  /** The server's metadata as Heat wrote it into the user data at boot: its block, no deployments yet. */
  const bootMetadata = (server: string): Record<string, unknown> => ({ ...(emu.resource(STACK, server).metadata as Record<string, unknown>), deployments: [] });
  const writeInitData = (server: string) => fs.writeFileSync(path.join(dir, 'heat', 'cfn-init-data'), JSON.stringify(bootMetadata(server)));
  const secretOf = (server: string) => {
    const occ = (emu.resource(STACK, server).metadata as { 'os-collect-config': Record<string, Record<string, string>> })['os-collect-config'];
    return occ.heat?.password ?? occ.zaqar?.password ?? occ.cfn?.secret_access_key;
  };

  const cases = [
    { transport: 'POLL_SERVER_CFN', collector: 'cfn', server: 'ViaCfn', deployment: 'DeployCfn', greeting: 'cfn', signal: 'CFN_SIGNAL', reads: /^GET \/v1\/\?Action=DescribeStackResource/ },
    { transport: 'POLL_SERVER_HEAT', collector: 'heat', server: 'ViaHeat', deployment: 'DeployHeat', greeting: 'heat', signal: 'HEAT_SIGNAL', reads: /^GET \/v1\/[0-9a-f]{32}\/stacks\/.*\/resources\/ViaHeat\/metadata$/ },
    { transport: 'POLL_TEMP_URL', collector: 'request', server: 'ViaSwift', deployment: 'DeploySwift', greeting: 'swift', signal: 'TEMP_URL_SIGNAL', reads: /^GET \/swift\/v1\/AUTH_tenant0\/transports-ViaSwift-/ },
    { transport: 'ZAQAR_MESSAGE', collector: 'zaqar', server: 'ViaZaqar', deployment: 'DeployZaqar', greeting: 'zaqar', signal: 'HEAT_SIGNAL', reads: /^DELETE \/zaqar\/v2\/queues\/transports-ViaZaqar-\w+\/messages\?pop=20$/ },
  ];
  for (const c of cases) {
    it(`${c.transport}: from cfn-init-data alone, the deployment runs and is signalled over ${c.signal}, once`, async () => {
      writeInitData(c.server);
      const r = await run();
      assert.equal(r.status, 0, r.stderr + log());
      const v = emu.deployment(STACK, c.deployment);
      assert.equal(v.status, 'CREATE_COMPLETE', `${v.statusReason}\n${log()}`);
      assert.equal(v.softwareDeployment?.output_values?.result, `${c.greeting}!\n`);
      assert.ok(emu.requestLog.some((e) => c.reads.test(`${e.method} ${e.path}`)), emu.requestLog.map((e) => `${e.method} ${e.path}`).join('\n'));
      assert.match(log(), new RegExp(`checking the deployments from ${c.collector} .*, local \\S+ \\(from \\S+/heat/cfn-init-data\\)`));
      assert.ok(!log().includes(secretOf(c.server)!), 'the password or secret key is not logged');
      assert.equal((await run()).status, 0, log());
      assert.equal(emu.deployment(STACK, c.deployment).signalCount, 1, 'not run again');
    });
  }

  it("no cfn-init-data: the user data's cfn-init-data part, from the metadata service", async () => {
    const mime = fs.readFileSync(HEAT_USER_DATA, 'utf8').replace(/(filename="cfn-init-data"\n\n).*\n/, (_m, head: string) => `${head}${JSON.stringify(bootMetadata('ViaHeat'))}\n`);
    const imds = await startFakeImds({ tokens: 'unsupported', putStatus: 404, paths: { '/openstack/latest/user_data': mime } });
    try {
      const r = await run([], { AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
      assert.equal(r.status, 0, r.stderr + log());
      assert.equal(imds.count('GET', '/openstack/latest/user_data'), 1);
      assert.match(log(), /collectors' settings from http:\/\/127\.0\.0\.1:\d+\/openstack\/latest\/user_data \(part cfn-init-data\)/);
      assert.equal(emu.deployment(STACK, 'DeployHeat').status, 'CREATE_COMPLETE');
    } finally {
      await imds.close();
    }
  });

  it('no file, no cfn-init-data, no metadata service: a clear error naming all three', async () => {
    const r = await run();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no .*os-collect-config\.conf, and no os-collect-config block in .*cfn-init-data \(Heat's boot data\), nor in the user data of the metadata service \(\/openstack\/latest\/user_data\); give --config FILE, or --stack and --resource/);
  });

  it("a file naming Heat's collector and the local files: both documents' deployments run, Heat's first", async () => {
    const heat = (bootMetadata('ViaHeat')['os-collect-config'] as { heat: Record<string, string> }).heat;
    const conf = path.join(dir, 'os-collect-config.conf');
    fs.writeFileSync(conf, `[DEFAULT]\ncommand = os-refresh-config\ncollectors = heat\ncollectors = local\n\n[heat]\n${Object.entries(heat).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(dir, 'local-data'), { mode: 0o700 });
    const marker = path.join(dir, 'local-ran');
    fs.writeFileSync(
      path.join(dir, 'local-data', 'extra.json'),
      JSON.stringify({ deployments: [{ id: 'local-1', name: 'zz_local', group: 'script', creation_time: '2099-01-01T00:00:00Z', config: `#!/bin/sh\necho ran > ${marker}\n`, inputs: [{ name: 'deploy_signal_transport', value: 'NO_SIGNAL' }], outputs: [] }] }),
    );
    const r = await run();
    assert.equal(r.status, 0, r.stderr + log());
    assert.equal(emu.deployment(STACK, 'DeployHeat').status, 'CREATE_COMPLETE');
    assert.equal(fs.readFileSync(marker, 'utf8'), 'ran\n');
    const order = [...log().matchAll(/deployment (\S+) \(\S+\), group script: new; running/g)].map((m) => m[1]);
    assert.deepEqual(order, ['10_heat', 'zz_local']);
  });

  it("the metadata's block moves the agent to another collector from the next run, and is kept (0600) without its password reaching the log", async () => {
    const heat = (bootMetadata('ViaHeat')['os-collect-config'] as { heat: Record<string, string> }).heat;
    emu.setMetadata('plain', 'Plain', { deployments: [], 'os-collect-config': { collectors: ['heat', 'local'], cfn: { access_key_id: null }, heat } });
    const conf = path.join(dir, 'os-collect-config.conf');
    fs.writeFileSync(conf, `[DEFAULT]\ncollectors = cfn\n\n[cfn]\nmetadata_url = ${emu.apiUrl}\nstack_name = plain\naccess_key_id = ${PLAIN.accessKey}\nsecret_access_key = ${PLAIN.secretKey}\npath = Plain.Metadata\n`, { mode: 0o600 });
    assert.equal((await run()).status, 0, log());
    assert.match(log(), /the metadata's os-collect-config block changes the collectors: heat transports\/[0-9a-f-]{36}\/ViaHeat, local .*; used from the next check/);
    assert.equal(emu.deployment(STACK, 'DeployHeat').status, 'CREATE_IN_PROGRESS', 'nothing from the heat collector yet');
    const state = path.join(dir, 'state', 'deployed.json');
    assert.equal(fs.statSync(state).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(state, 'utf8')).collectors.sections.heat.password, heat.password);
    emu.clearRequestLog();
    assert.equal((await run()).status, 0, log());
    assert.equal(emu.deployment(STACK, 'DeployHeat').status, 'CREATE_COMPLETE');
    assert.ok(!emu.requestLog.some((e) => e.action === 'DescribeStackResource'), 'the cfn collector no longer runs');
    assert.ok(!log().includes(heat.password!), 'the password is not logged');
  });
});
