/**
 * heat-agent against the emulator's own deployments (test/emulator/stacks/
 * deployments.yaml): the metadata composed as Heat composes it, each signal
 * transport to the emulator's endpoints (a pre-signed POST, a Swift temp
 * URL, keystone + Heat's resource signal), exactly once, updates.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { runTool, toolEnv, type RunResult } from '../support/cli';

const STACKS = path.resolve(__dirname, '..', '..', '..', 'test', 'emulator', 'stacks', 'deployments.yaml');
const STACK = 'deploystack';

describe('heat-agent against the emulator\'s software deployments', function () {
  this.timeout(60_000);
  let emulator: Emulator;
  let dir: string;
  before(async () => {
    emulator = await startEmulator({ stacks: [STACKS] });
  });
  after(async () => emulator?.stop());
  beforeEach(() => {
    emulator.reset();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-agent-tr-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (): Promise<RunResult> =>
    runTool('heat-agent', ['--one-time', '--url', emulator.apiUrl, '--stack', STACK, '--resource', 'Server', '--access-key', 'AKIDSERVER000000000000000000000001', '--secret-key', 'server-secret-key', '--log-file', path.join(dir, 'log'), '-v', '--hooks-dir', path.join(dir, 'hooks')], {
      env: toolEnv({ CFNTOOLS_HEAT_AGENT_DIR: path.join(dir, 'state'), CFNTOOLS_HEAT_CONFIG_DIR: path.join(dir, 'heat-config'), CFNTOOLS_STATE_DIR: path.join(dir, 'cfn-init'), OS_REFRESH_CONFIG_BASE_DIR: path.join(dir, 'orc'), HEAT_SHELL_CONFIG: path.join(dir, 'heat-shell-config') }),
    });
  const log = () => fs.readFileSync(path.join(dir, 'log'), 'utf8');
  const view = (name: string) => emulator.deployment(STACK, name);

  it('every transport: CFN_SIGNAL, TEMP_URL_SIGNAL and HEAT_SIGNAL deployments complete with their outputs, each signalled once; NO_SIGNAL runs', async () => {
    const r = await run();
    assert.equal(r.status, 0, r.stderr + log());
    for (const [name, greeting] of [['ViaCfn', 'cfn'], ['ViaTempUrl', 'swift'], ['ViaHeat', 'heat']] as const) {
      const v = view(name);
      assert.equal(v.status, 'CREATE_COMPLETE', `${name}: ${v.statusReason}`);
      assert.equal(v.signalCount, 1, name);
      assert.equal(v.softwareDeployment?.output_values?.result, `${greeting}!\n`, name);
    }
    assert.equal(view('Unsignalled').status, 'CREATE_COMPLETE');
    assert.equal(fs.readFileSync('/tmp/cfn-example/out/deployed.txt', 'utf8'), 'deployed\n', 'the StructuredDeployment\'s cfn-init config, with its input');
    fs.rmSync('/tmp/cfn-example', { recursive: true, force: true });
    assert.match(log(), /signalled over TEMP_URL_SIGNAL/);
    assert.ok(!/temp_url_sig=[0-9a-f]{8}/.test(log()), 'the temp URL signature is not logged');

    assert.equal((await run()).status, 0);
    for (const name of ['ViaCfn', 'ViaTempUrl', 'ViaHeat']) assert.equal(view(name).signalCount, 1, `${name}: not signalled again`);
  });

  it('an update of one deployment runs that one again and completes the update; a DELETE action runs and signals too', async () => {
    assert.equal((await run()).status, 0);
    emulator.updateDeployment(STACK, 'ViaCfn', { greeting: 'again' });
    assert.equal(view('ViaCfn').status, 'UPDATE_IN_PROGRESS');
    assert.equal((await run()).status, 0);
    assert.equal(view('ViaCfn').status, 'UPDATE_COMPLETE');
    assert.equal(view('ViaCfn').softwareDeployment?.output_values?.result, 'again!\n');
    assert.equal(view('ViaTempUrl').signalCount, 1, 'the others not again');
    emulator.deleteDeployment(STACK, 'ViaHeat');
    assert.equal((await run()).status, 0);
    assert.equal(view('ViaHeat').signalCount, 2, 'its DELETE action signalled');
    assert.match(log(), /deployment 30_heat .*: new; running/);
  });

  it('a 500 on the first CFN signal: the result is signalled again at the next check, the script not run again', async () => {
    emulator.setFaults({ next: [{ kind: 'error', status: 500, count: 20, when: { pathPrefix: '/v1/signal/' } }] });
    const first = await run();
    assert.equal(first.status, 1);
    emulator.setFaults({});
    assert.equal(view('ViaCfn').status, 'CREATE_IN_PROGRESS');
    assert.equal((await run()).status, 0, log());
    assert.equal(view('ViaCfn').status, 'CREATE_COMPLETE');
    assert.equal(view('ViaCfn').signalCount, 1);
    assert.equal((log().match(/deployment 10_cfn .*group script: new; running/g) ?? []).length, 1, 'run once');
    assert.match(log(), /deployment 10_cfn .*its result was not accepted yet; signalling again/);
  });
});
