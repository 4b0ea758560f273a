/**
 * heat-agent against a real Heat: a DeployedServer (POLL_SERVER_CFN) with
 * script deployments over CFN_SIGNAL and HEAT_SIGNAL, a stack update with a
 * new input value, and cfn-init group deployments (in a mount namespace
 * with a temporary directory over /srv, where their files go). The agent
 * runs from os-collect-config's file, written as os-apply-config would
 * write it from the server's metadata.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';
import { skipUnless } from '../support/skip';
import { settledStack, softwareDeployment, stackOutputs, TEMPLATES, useDeploymentStack, waitForDeployments, type CfnCollector, type DeploymentStack, type ServerMetadata } from './deployments';

const MINUTE = 60_000;

class AgentBox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-agent-heat-'));
  readonly srv = path.join(this.dir, 'srv');
  constructor() {
    fs.mkdirSync(this.srv);
  }
  configure(cfn: CfnCollector): void {
    const text = `[DEFAULT]\ncollectors = cfn\ncollectors = local\npolling_interval = 1\n\n[cfn]\nmetadata_url = ${cfn.metadata_url}\nstack_name = ${cfn.stack_name}\naccess_key_id = ${cfn.access_key_id}\nsecret_access_key = ${cfn.secret_access_key}\npath = ${cfn.path}\n`;
    fs.writeFileSync(path.join(this.dir, 'os-collect-config.conf'), text, { mode: 0o600 });
  }
  /** One check, with /srv bound to this box when it runs as root. */
  run(): Promise<RunResult> {
    const argv = [process.execPath, BUNDLE, 'heat-agent', '--one-time', '--config', path.join(this.dir, 'os-collect-config.conf'), '--log-file', this.logFile, '-v', '--hooks-dir', path.join(this.dir, 'hooks')];
    const sandboxed = ['unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', 'mount --bind "$1" /srv && shift && exec "$@"', 'sandbox', this.srv, ...argv];
    return runProcess(sandboxed, { env: toolEnv({ CFNTOOLS_HEAT_AGENT_DIR: path.join(this.dir, 'state'), CFNTOOLS_HEAT_CONFIG_DIR: path.join(this.dir, 'heat-config'), CFNTOOLS_STATE_DIR: path.join(this.dir, 'cfn-init') }) });
  }
  /** Waits for `count` deployments in the server's metadata, writes the file from its keys, runs one check (which must succeed). */
  async checkOnce(stack: DeploymentStack, count = 1): Promise<{ cfn: CfnCollector; metadata: ServerMetadata }> {
    const found = await waitForDeployments(stack.rig, stack.ref, { count });
    this.configure(found.cfn);
    const r = await this.run();
    assert.equal(r.status, 0, r.stderr + this.log());
    return found;
  }
  get logFile(): string {
    return path.join(this.dir, 'heat-agent.log');
  }
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }
  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A box for the current `describe` (root and unshare -m needed: /srv is bound to it); `prepare` adds hooks. */
function useAgentBox(prepare: (box: AgentBox) => void = () => undefined): () => AgentBox {
  let box: AgentBox | undefined;
  before(function () {
    skipUnless(this, 'heat-agent against real Heat', process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0 ? 'needs root and unshare -m' : undefined);
    box = new AgentBox();
    prepare(box);
  });
  after(() => box?.close());
  return () => box!;
}

describe('heat-agent against real Heat: a script deployment over CFN_SIGNAL, then a stack update', function () {
  this.timeout(5 * MINUTE);
  const stack = useDeploymentStack('ha-cfn', TEMPLATES.single, { greeting: 'bonjour', signal_transport: 'CFN_SIGNAL' });
  const agentBox = useAgentBox();

  it('runs the script with its input and signals its output: the stack completes with it', async () => {
    const { rig, ref } = stack();
    const box = agentBox();
    const { cfn } = await box.checkOnce(stack());
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const out = await stackOutputs(rig, ref);
    assert.equal(out.result, 'bonjour, world');
    assert.equal(out.deploy_status_code, 0);
    assert.match(String(out.deploy_stdout), /greeting is bonjour/);
    assert.match(String(out.deploy_stderr), /a line on stderr/);
    assert.ok(!box.log().includes(cfn.secret_access_key), 'the secret key is not logged');
  });

  it('a second check runs nothing', async () => {
    const box = agentBox();
    const r = await box.run();
    assert.equal(r.status, 0, r.stderr + box.log());
    assert.equal((box.log().match(/group script: new; running/g) ?? []).length, 1);
  });

  it('a stack update with a new input value runs it again and signals the new output', async () => {
    const { rig, ref } = stack();
    const box = agentBox();
    await rig.heat.updateStack(ref, { parameters: { greeting: 'hola' } });
    await waitForDeployments(rig, ref, { until: (m) => m.deployments.some((d) => d.inputs.some((i) => i.name === 'greeting' && i.value === 'hola')) });
    const r = await box.run();
    assert.equal(r.status, 0, r.stderr + box.log());
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'UPDATE_COMPLETE', s.stack_status_reason);
    assert.equal((await stackOutputs(rig, ref)).result, 'hola, world');
  });
});

describe('heat-agent against real Heat: HEAT_SIGNAL (keystone password auth, then the resource signal)', function () {
  this.timeout(5 * MINUTE);
  const stack = useDeploymentStack('ha-heat', TEMPLATES.single, { greeting: 'ciao', signal_transport: 'HEAT_SIGNAL' });
  const agentBox = useAgentBox();

  it('signals through keystone and heat-api: the stack completes with the output', async () => {
    const { rig, ref } = stack();
    const box = agentBox();
    const { metadata } = await box.checkOnce(stack());
    assert.match(box.log(), /signalled over HEAT_SIGNAL/);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    assert.equal((await stackOutputs(rig, ref)).result, 'ciao, world');
    const password = metadata.deployments[0].inputs.find((i) => i.name === 'deploy_password')?.value;
    assert.ok(typeof password === 'string' && !box.log().includes(password), 'the deployment password is not logged');
  });
});

describe('heat-agent against real Heat: cfn-init group deployments', function () {
  this.timeout(5 * MINUTE);
  const stack = useDeploymentStack('ha-init', TEMPLATES.cfnInit);
  const agentBox = useAgentBox();

  it('applies both configs with our engine in the agent and signals success', async () => {
    const { rig, ref } = stack();
    const box = agentBox();
    await box.checkOnce(stack(), 2);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const out = await stackOutputs(rig, ref);
    assert.equal(out.init_status_code, 0);
    assert.equal(out.structured_status_code, 0);
    assert.equal(fs.readFileSync(path.join(box.srv, 'cfntools-heat-agent', 'init.txt'), 'utf8'), 'written by cfn-init\n');
    assert.ok(fs.existsSync(path.join(box.srv, 'cfntools-heat-agent', 'init-done')), "the config's command ran");
    assert.equal(fs.readFileSync(path.join(box.srv, 'cfntools-heat-agent', 'greeting.txt'), 'utf8'), 'hello');
  });
});

describe('heat-agent against real Heat: a failing script, and a group run by a heat-config hook', function () {
  this.timeout(5 * MINUTE);
  const stack = useDeploymentStack('ha-fail', TEMPLATES.failAndHook);
  const agentBox = useAgentBox((box) => {
    fs.mkdirSync(path.join(box.dir, 'hooks'));
    // heat-config's protocol: the deployment on stdin, the answer on stdout.
    const hook = `#!/usr/bin/env python3\nimport json, sys\nd = json.load(sys.stdin)\nwho = [i["value"] for i in d["inputs"] if i["name"] == "who"][0]\njson.dump({"deploy_stdout": "hooked " + d["config"], "deploy_stderr": "", "deploy_status_code": 0, "answer": "hello from " + who}, sys.stdout)\n`;
    fs.writeFileSync(path.join(box.dir, 'hooks', 'cfntools-test-hook'), hook, { mode: 0o755 });
  });

  it('the failing script fails its deployment with its status code; the hook\'s deployment completes with the hook\'s answer', async () => {
    const { rig, ref } = stack();
    const box = agentBox();
    // Exit 0: both results reached Heat, the failure too.
    await box.checkOnce(stack(), 2);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_FAILED');
    const out = await stackOutputs(rig, ref);
    const failing = await softwareDeployment(rig, String(out.failing_id));
    assert.equal(failing.status, 'FAILED');
    assert.match(failing.status_reason, /non-zero status code: 3/);
    assert.equal(failing.output_values?.deploy_stderr, 'about to fail\n');
    const hooked = await softwareDeployment(rig, String(out.hooked_id));
    assert.equal(hooked.status, 'COMPLETE', hooked.status_reason);
    assert.equal(hooked.output_values?.answer, 'hello from the hook');
    assert.equal(hooked.output_values?.deploy_stdout, 'hooked a config only the hook understands');
  });
});
