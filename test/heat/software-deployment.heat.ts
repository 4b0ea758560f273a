/**
 * The OS::Heat::SoftwareDeployment protocol against a real Heat 19 (the
 * rig), driven by hand, no agent: what the server's metadata holds (read
 * with DescribeStackResource and the server's own os-collect-config keys),
 * and which signals complete or fail a deployment, for CFN_SIGNAL,
 * HEAT_SIGNAL and NO_SIGNAL, an update, two deployments on one server and
 * the cfn-init group. The shapes are pinned against the recorded fixtures
 * in test/fixtures/heat-deployments/ (record-deployment-fixtures.ts).
 *
 * Run with `npm run test:heat`, or this file alone:
 * `npm run build && npx mocha --no-config --require dist/test/heat/hooks.js --timeout 60000 dist/test/heat/software-deployment.heat.js`.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  TEMPLATES,
  describeServerMetadata,
  heatSignalAuth,
  inputValues,
  itemOf,
  readFixture,
  resource,
  serverMetadataViaHeatApi,
  settledStack,
  signalCfn,
  signalHeat,
  softwareDeployment,
  stackOutputs,
  useDeploymentStack,
  waitForDeployments,
  waitForDeploymentStatus,
  waitForResource,
  type DeploymentItem,
  type DeploymentSignal,
  type ServerMetadata,
} from './deployments';
import { templatePath } from './rig';

const MINUTE = 60_000;
/** Heat's max_json_body_size: the most bytes of a JSON body heat-api(-cfn) accepts. */
const MAX_JSON_BODY = 1_048_576;

interface Template {
  resources: Record<string, { properties: Record<string, unknown> }>;
}
const single = JSON.parse(fs.readFileSync(templatePath(TEMPLATES.single), 'utf8')) as Template;

/** The input names Heat adds after the config's own, per transport. */
const DEPLOY_INPUTS = ['deploy_server_id', 'deploy_action', 'deploy_stack_id', 'deploy_resource_name', 'deploy_signal_transport'];
const CFN_INPUTS = [...DEPLOY_INPUTS, 'deploy_signal_id', 'deploy_signal_verb'];
const HEAT_INPUTS = [...DEPLOY_INPUTS, 'deploy_auth_url', 'deploy_username', 'deploy_user_id', 'deploy_password', 'deploy_project_id', 'deploy_region_name'];
const ITEM_KEYS = ['id', 'name', 'group', 'creation_time', 'config', 'inputs', 'outputs', 'options'];

const inputNames = (item: DeploymentItem) => item.inputs.map((i) => i.name);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WHOLE_SECONDS_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** The same keys as the fixture, everywhere (values differ from run to run). */
function assertSameShape(actual: ServerMetadata, fixture: ServerMetadata): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(fixture).sort(), 'top-level keys');
  assert.deepEqual(Object.keys(actual['os-collect-config']).sort(), Object.keys(fixture['os-collect-config']).sort(), 'os-collect-config keys');
  assert.equal(actual.deployments.length, fixture.deployments.length, 'number of deployments');
  actual.deployments.forEach((item, i) => {
    const want = fixture.deployments[i];
    assert.deepEqual(Object.keys(item), Object.keys(want), `deployments[${i}] keys`);
    assert.deepEqual(inputNames(item), inputNames(want), `deployments[${i}] input names`);
    item.inputs.forEach((inp, j) => assert.deepEqual(Object.keys(inp), Object.keys(want.inputs[j]), `deployments[${i}].inputs[${j}] (${inp.name}) keys`));
    assert.deepEqual(item.outputs, want.outputs, `deployments[${i}].outputs`);
    assert.equal(typeof item.config, typeof want.config, `deployments[${i}].config type`);
  });
}

const success = (result: string): DeploymentSignal => ({ deploy_stdout: `greeting is ${result}\n`, deploy_stderr: 'a line on stderr\n', deploy_status_code: 0, result: `${result}, world` });

describe('real Heat: SoftwareDeployment on a DeployedServer, CFN_SIGNAL, by hand', function () {
  const stack = useDeploymentStack('sd-cfn');
  let first: DeploymentItem | undefined;

  it('the server metadata: one deployment item (config, inputs with deploy_*, outputs), the cfn collector; DescribeStackResource with its keys gives what heat-api shows the admin', async function () {
    const { rig, ref } = stack();
    const { metadata, cfn } = await waitForDeployments(rig, ref);
    assertSameShape(metadata, readFixture('cfn-signal.json'));
    assert.deepEqual(metadata, await serverMetadataViaHeatApi(rig, ref), 'signed DescribeStackResource = admin view');

    assert.deepEqual(metadata['os-collect-config'].collectors, ['cfn', 'local']);
    assert.equal(cfn.metadata_url, rig.cfnUrl);
    assert.equal(cfn.stack_name, ref.name);
    assert.equal(cfn.path, 'server.Metadata');
    assert.match(cfn.access_key_id, /^[0-9a-f]{32}$/);

    const item = metadata.deployments[0];
    assert.deepEqual(Object.keys(item), ITEM_KEYS);
    assert.match(item.id, UUID);
    assert.match(item.creation_time, WHOLE_SECONDS_UTC);
    assert.equal(item.name, `${ref.name}-config-${item.name.slice(`${ref.name}-config-`.length)}`, 'unnamed deployment: the source config\'s physical name');
    assert.equal(item.group, 'script');
    assert.equal(item.config, single.resources.config.properties.config);
    assert.deepEqual(item.options, {});
    assert.deepEqual(inputNames(item), ['greeting', ...CFN_INPUTS]);
    assert.deepEqual(item.inputs[0], { name: 'greeting', description: 'what to greet with', type: 'String', default: 'hi', value: 'hello' });
    assert.deepEqual(item.outputs, [
      { name: 'result', description: 'the greeting the script wrote', type: 'String', error_output: false },
      { name: 'failure', description: 'set only when the script failed', type: 'String', error_output: true },
    ]);

    const iv = inputValues(item);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(iv.deploy_server_id, outputs.server_id);
    assert.equal(iv.deploy_action, 'CREATE');
    assert.equal(iv.deploy_stack_id, `${ref.name}/${ref.id}`);
    assert.equal(iv.deploy_resource_name, 'deployment');
    assert.equal(iv.deploy_signal_transport, 'CFN_SIGNAL');
    assert.equal(iv.deploy_signal_verb, 'POST');
    const url = new URL(iv.deploy_signal_id as string);
    assert.equal(url.origin, new URL(rig.cfnUrl).origin);
    assert.equal(decodeURIComponent(url.pathname), `/v1/signal/arn:openstack:heat::${rig.env.REAL_HEAT_ADMIN_PROJECT_ID}:stacks/${ref.name}/${ref.id}/resources/deployment`);
    assert.deepEqual([...url.searchParams.keys()].sort(), ['AWSAccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'Timestamp']);
    assert.notEqual(url.searchParams.get('AWSAccessKeyId'), cfn.access_key_id, 'the deployment signs with a stack user of its own');
    assert.deepEqual(outputs.os_collect_config, metadata['os-collect-config'], 'the server\'s os_collect_config attribute');

    const res = await resource(rig, ref, 'deployment');
    assert.equal(res.resource_status, 'CREATE_IN_PROGRESS');
    const sd = await softwareDeployment(rig, res.physical_resource_id as string);
    assert.equal(sd.status, 'IN_PROGRESS');
    assert.equal(sd.action, 'CREATE');
    assert.equal(sd.config_id, item.id, 'the item is the deployment\'s derived config');
    assert.equal(sd.server_id, iv.deploy_server_id);
    assert.deepEqual(sd.input_values, { greeting: 'hello' });
    first = item;
  });

  it('a PUT is refused (403, the URL is signed for POST); a POST of deploy_stdout/stderr/status_code 0 + result completes the stack with those outputs; the metadata stays as it was', async function () {
    const { rig, ref } = stack();
    assert.ok(first, 'the first test read the item');
    const put = await signalCfn(first, success('hello'), { verb: 'PUT' });
    assert.equal(put.status, 403, put.body);
    assert.match(put.body, /AccessDenied/);

    const res = await signalCfn(first, success('hello'));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, '');
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.deploy_stdout, 'greeting is hello\n');
    assert.equal(outputs.deploy_stderr, 'a line on stderr\n');
    assert.equal(outputs.deploy_status_code, 0);
    assert.equal(outputs.result, 'hello, world');
    assert.equal(outputs.failure, null);

    const sd = await softwareDeployment(rig, outputs.deployment_id as string);
    assert.equal(sd.status, 'COMPLETE');
    assert.equal(sd.status_reason, 'Outputs received');
    assert.deepEqual(sd.output_values, { result: 'hello, world', deploy_stdout: 'greeting is hello\n', deploy_stderr: 'a line on stderr\n', deploy_status_code: 0 });
    const { metadata } = await waitForDeployments(rig, ref);
    assert.deepEqual(metadata.deployments, [first], 'completion is not in the metadata: the agent must remember what it ran');
  });

  it('a second signal to a complete deployment is answered 200 and ignored', async function () {
    const { rig, ref } = stack();
    assert.ok(first);
    const res = await signalCfn(first, { deploy_stdout: 'again', deploy_status_code: 1, result: 'second' });
    assert.equal(res.status, 200, res.body);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE');
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.result, 'hello, world');
    assert.equal(outputs.deploy_status_code, 0);
  });

  it('an update with a new input value: the same deployment, a new item (id, creation_time, signed URL), deploy_action UPDATE; its signal completes the update', async function () {
    this.timeout(2 * MINUTE);
    const { rig, ref } = stack();
    assert.ok(first);
    const deploymentId = (await resource(rig, ref, 'deployment')).physical_resource_id;
    await rig.heat.updateStack(ref, { parameters: { greeting: 'bonjour' } });
    const { metadata } = await waitForDeployments(rig, ref, { until: (m) => inputValues(m.deployments[0]).greeting === 'bonjour' });
    assertSameShape(metadata, readFixture('cfn-signal-updated.json'));
    const item = metadata.deployments[0];
    assert.equal(metadata.deployments.length, 1, 'the update replaces the item');
    assert.notEqual(item.id, first.id);
    assert.ok(item.creation_time >= first.creation_time);
    assert.equal(item.name, first.name);
    const iv = inputValues(item);
    const was = inputValues(first);
    assert.equal(iv.deploy_action, 'UPDATE');
    assert.notEqual(iv.deploy_signal_id, was.deploy_signal_id, 'a new Timestamp and Signature');
    const [u1, u2] = [new URL(iv.deploy_signal_id as string), new URL(was.deploy_signal_id as string)];
    assert.equal(u1.pathname, u2.pathname);
    assert.equal(u1.searchParams.get('AWSAccessKeyId'), u2.searchParams.get('AWSAccessKeyId'));
    for (const k of ['deploy_server_id', 'deploy_stack_id', 'deploy_resource_name', 'deploy_signal_transport', 'deploy_signal_verb']) assert.equal(iv[k], was[k], k);
    assert.deepEqual(metadata['os-collect-config'], (await serverMetadataViaHeatApi(rig, ref))['os-collect-config']);

    const res = await waitForResource(rig, ref, 'deployment', (r) => r.resource_status === 'UPDATE_IN_PROGRESS');
    assert.equal(res.physical_resource_id, deploymentId, 'updated in place, not replaced');
    const sd = await softwareDeployment(rig, deploymentId as string);
    assert.equal(sd.status, 'IN_PROGRESS');
    assert.equal(sd.action, 'UPDATE');
    assert.equal(sd.config_id, item.id);

    const sig = await signalCfn(item, success('bonjour'));
    assert.equal(sig.status, 200, sig.body);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'UPDATE_COMPLETE', s.stack_status_reason);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.result, 'bonjour, world');
    assert.equal(outputs.deploy_stdout, 'greeting is bonjour\n');
    const done = await softwareDeployment(rig, deploymentId as string);
    assert.equal(done.status, 'COMPLETE');
    assert.ok(done.updated_time, 'updated_time is set by the signal');
  });
});

describe('real Heat: removing a deployment (default actions)', function () {
  const stack = useDeploymentStack('sd-remove');

  it('a stack update (PUT) without the deployment deletes it at once, with no DELETE item: deployments becomes []', async function () {
    const { rig, ref } = stack();
    const { metadata, cfn } = await waitForDeployments(rig, ref);
    assert.equal((await signalCfn(metadata.deployments[0], success('hello'))).status, 200);
    assert.equal((await settledStack(rig, ref)).stack_status, 'CREATE_COMPLETE');
    const template = JSON.parse(fs.readFileSync(templatePath(TEMPLATES.single), 'utf8')) as Template & { outputs: Record<string, unknown> };
    delete template.resources.deployment;
    template.outputs = { server_id: template.outputs.server_id };
    const s = await rig.heat.updateStackAndWait(ref, { template: JSON.stringify(template) });
    assert.equal(s.stack_status, 'UPDATE_COMPLETE', s.stack_status_reason);
    assert.deepEqual((await describeServerMetadata(cfn)).deployments, []);
  });
});

describe('real Heat: what fails a deployment, and what does not', function () {
  const code1 = useDeploymentStack('sd-code1');
  const errorOutput = useDeploymentStack('sd-errout');
  const noBrace = useDeploymentStack('sd-nobrace');

  it('deploy_status_code 1: the deployment and the stack are CREATE_FAILED with Heat\'s reason; the outputs are kept', async function () {
    const { rig, ref } = code1();
    const { metadata } = await waitForDeployments(rig, ref);
    const res = await signalCfn(metadata.deployments[0], { deploy_stdout: '', deploy_stderr: 'boom\n', deploy_status_code: 1 });
    assert.equal(res.status, 200, res.body);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_FAILED');
    assert.equal(s.stack_status_reason, 'Resource CREATE failed: Error: resources.deployment: Deployment to server failed: deploy_status_code : Deployment exited with non-zero status code: 1');
    const r = await resource(rig, ref, 'deployment');
    assert.equal(r.resource_status, 'CREATE_FAILED');
    const sd = await softwareDeployment(rig, r.physical_resource_id as string);
    assert.equal(sd.status, 'FAILED');
    assert.equal(sd.status_reason, 'deploy_status_code : Deployment exited with non-zero status code: 1');
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.deploy_stderr, 'boom\n');
    assert.equal(outputs.deploy_status_code, 1);
  });

  it('a value for an error_output output fails the deployment although the status code is 0', async function () {
    const { rig, ref } = errorOutput();
    const { metadata } = await waitForDeployments(rig, ref);
    const res = await signalCfn(metadata.deployments[0], { deploy_stdout: '', deploy_stderr: '', deploy_status_code: 0, failure: 'disk full' });
    assert.equal(res.status, 200, res.body);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_FAILED');
    assert.match(s.stack_status_reason ?? '', /Deployment to server failed: failure : disk full$/);
    assert.equal((await stackOutputs(rig, ref)).failure, 'disk full');
  });

  it('a body that does not start with "{" counts as no body: the deployment completes, with no outputs, whatever its status code', async function () {
    const { rig, ref } = noBrace();
    const { metadata } = await waitForDeployments(rig, ref);
    const res = await signalCfn(metadata.deployments[0], ` ${JSON.stringify({ deploy_status_code: 1, deploy_stderr: 'failed' })}`);
    assert.equal(res.status, 200, res.body);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.deploy_status_code, null);
    assert.equal(outputs.deploy_stderr, null);
  });
});

describe('real Heat: the size of a deployment signal', function () {
  const stack = useDeploymentStack('sd-size');

  /** A signal body of exactly `bytes` bytes (ASCII), padded in deploy_stdout. */
  function bodyOf(bytes: number): string {
    const base = { deploy_stdout: '', deploy_stderr: '', deploy_status_code: 0, result: 'big' };
    const pad = bytes - JSON.stringify(base).length;
    const text = JSON.stringify({ ...base, deploy_stdout: 'x'.repeat(pad) });
    assert.equal(Buffer.byteLength(text), bytes);
    return text;
  }

  it(`heat-api-cfn refuses a body of ${MAX_JSON_BODY + 1} bytes (HTTP 500, nothing stored) and takes one of ${MAX_JSON_BODY}, storing deploy_stdout untrimmed`, async function () {
    const { rig, ref } = stack();
    const { metadata } = await waitForDeployments(rig, ref);
    const item = metadata.deployments[0];
    const tooBig = await signalCfn(item, bodyOf(MAX_JSON_BODY + 1));
    assert.equal(tooBig.status, 500, tooBig.body);
    const r = await resource(rig, ref, 'deployment');
    assert.equal(r.resource_status, 'CREATE_IN_PROGRESS', 'the refused signal changed nothing');
    assert.equal((await softwareDeployment(rig, r.physical_resource_id as string)).status, 'IN_PROGRESS');

    const justFits = bodyOf(MAX_JSON_BODY);
    const res = await signalCfn(item, justFits);
    assert.equal(res.status, 200, res.body);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const sd = await softwareDeployment(rig, r.physical_resource_id as string);
    assert.equal((sd.output_values?.deploy_stdout as string).length, (JSON.parse(justFits) as { deploy_stdout: string }).deploy_stdout.length);
  });
});

describe('real Heat: SoftwareDeployment with HEAT_SIGNAL', function () {
  const stack = useDeploymentStack('sd-heat', TEMPLATES.single, { signal_transport: 'HEAT_SIGNAL' });

  it('keystone credentials instead of a signal URL; password auth as the stack user, then POST .../stacks/<deploy_stack_id>/resources/<deploy_resource_name>/signal (200 null) completes the stack', async function () {
    const { rig, ref } = stack();
    const { metadata } = await waitForDeployments(rig, ref);
    assertSameShape(metadata, readFixture('heat-signal.json'));
    const item = metadata.deployments[0];
    assert.deepEqual(inputNames(item), ['greeting', ...HEAT_INPUTS]);
    const iv = inputValues(item);
    assert.equal(iv.deploy_signal_transport, 'HEAT_SIGNAL');
    assert.equal(iv.deploy_auth_url, `${rig.env.REAL_HEAT_KEYSTONE_URL}/`, 'keystone /v3/ with a trailing slash');
    assert.equal(iv.deploy_region_name, rig.env.REAL_HEAT_REGION);
    assert.equal(iv.deploy_stack_id, `${ref.name}/${ref.id}`);
    assert.equal(iv.deploy_resource_name, 'deployment');
    assert.ok(String(iv.deploy_username).startsWith(`${ref.name}-deployment-`), String(iv.deploy_username));

    const auth = await heatSignalAuth(item);
    const tokenUser = auth.tokenBody.user as { id: string; domain: { name: string } };
    assert.equal(tokenUser.id, iv.deploy_user_id);
    assert.equal(tokenUser.domain.name, 'heat', 'a user of the stack user domain');
    assert.equal((auth.tokenBody.project as { id: string }).id, iv.deploy_project_id);
    assert.deepEqual((auth.tokenBody.roles as Array<{ name: string }>).map((r) => r.name), ['heat_stack_user']);
    assert.equal(auth.orchestrationUrl, `${rig.env.REAL_HEAT_HEAT_API_ROOT}/v1/${iv.deploy_project_id}`, 'the stack user project, not the stack owner\'s');
    assert.equal(auth.signalUrl, `${auth.orchestrationUrl}/stacks/${ref.name}/${ref.id}/resources/deployment/signal`);

    const res = await signalHeat(item, success('hello'), auth);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, 'null');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const sd = await waitForDeploymentStatus(rig, (await resource(rig, ref, 'deployment')).physical_resource_id as string);
    assert.equal(sd.status, 'COMPLETE', sd.status_reason);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.result, 'hello, world');
    assert.equal(outputs.deploy_status_code, 0);
  });
});

describe('real Heat: SoftwareDeployment with NO_SIGNAL', function () {
  const stack = useDeploymentStack('sd-nosig', TEMPLATES.single, { signal_transport: 'NO_SIGNAL' });

  it('the stack completes without a signal; the item has no signal inputs; the outputs stay null', async function () {
    const { rig, ref } = stack();
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const { metadata } = await waitForDeployments(rig, ref);
    assertSameShape(metadata, readFixture('no-signal.json'));
    assert.deepEqual(inputNames(metadata.deployments[0]), ['greeting', ...DEPLOY_INPUTS]);
    assert.equal(inputValues(metadata.deployments[0]).deploy_signal_transport, 'NO_SIGNAL');
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.deploy_status_code, null);
    assert.equal(outputs.result, null);
    const sd = await softwareDeployment(rig, outputs.deployment_id as string);
    assert.equal(sd.status, 'COMPLETE');
    assert.equal(sd.status_reason, 'Not waiting for outputs signal');
  });
});

describe('real Heat: two deployments on one server', function () {
  const stack = useDeploymentStack('sd-two', TEMPLATES.two);

  it('deploy_b (depends_on deploy_a) appears once deploy_a is signalled; the list is sorted by name, not creation_time; each signal completes its own', async function () {
    const { rig, ref } = stack();
    const one = await waitForDeployments(rig, ref);
    assert.equal(one.metadata.deployments.length, 1);
    const a = itemOf(one.metadata, 'deploy_a');
    assert.ok(a, 'deploy_a comes first');
    assert.equal((await resource(rig, ref, 'deploy_b')).resource_status, 'INIT_COMPLETE');
    assert.equal((await signalCfn(a, { deploy_stdout: '', deploy_stderr: '', deploy_status_code: 0, result: 'a: hello' })).status, 200);

    const both = await waitForDeployments(rig, ref, { count: 2 });
    assertSameShape(both.metadata, readFixture('two-deployments.json'));
    const names = both.metadata.deployments.map((d) => d.name);
    assert.deepEqual(names, ['00_early', a.name], 'deploy_b\'s name property sorts it first');
    const [b, a2] = both.metadata.deployments;
    assert.equal(inputValues(b).deploy_resource_name, 'deploy_b');
    assert.deepEqual(a2, a, 'deploy_a\'s item is unchanged');
    assert.ok(b.creation_time >= a.creation_time, `${b.creation_time} >= ${a.creation_time}`);
    assert.notEqual(inputValues(b).deploy_signal_id, inputValues(a).deploy_signal_id);

    assert.equal((await signalCfn(b, { deploy_stdout: '', deploy_stderr: '', deploy_status_code: 0, result: 'b: hello' })).status, 200);
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.result_a, 'a: hello');
    assert.equal(outputs.result_b, 'b: hello');
  });
});

describe('real Heat: cfn-init group deployments', function () {
  const stack = useDeploymentStack('sd-cfninit', TEMPLATES.cfnInit, { greeting: 'bonjour' });

  it('a SoftwareConfig\'s config is the JSON text, a StructuredConfig\'s an object with get_input replaced; both signal like any other', async function () {
    const { rig, ref } = stack();
    const { metadata } = await waitForDeployments(rig, ref, { count: 2 });
    assertSameShape(metadata, readFixture('cfn-init.json'));
    const [init, structured] = metadata.deployments;
    assert.deepEqual([init.name, structured.name], ['10_init', '20_structured']);
    assert.deepEqual([init.group, structured.group], ['cfn-init', 'cfn-init']);
    assert.equal(typeof init.config, 'string');
    assert.deepEqual(JSON.parse(init.config as string), {
      config: {
        files: { '/srv/cfntools-heat-agent/init.txt': { content: 'written by cfn-init\n', mode: '000644' } },
        commands: { '01_touch': { command: 'touch /srv/cfntools-heat-agent/init-done' } },
      },
    });
    assert.deepEqual(structured.config, { config: { files: { '/srv/cfntools-heat-agent/greeting.txt': { content: 'bonjour', mode: '000600' } } } });
    assert.deepEqual(inputNames(init), CFN_INPUTS, 'no declared inputs: only Heat\'s');
    assert.deepEqual(inputNames(structured), ['greeting', ...CFN_INPUTS]);
    assert.deepEqual(init.outputs, []);
    assert.deepEqual(init.options, {}, 'no options: {}');

    for (const item of metadata.deployments) {
      const res = await signalCfn(item, { deploy_stdout: '', deploy_stderr: '', deploy_status_code: 0 });
      assert.equal(res.status, 200, res.body);
    }
    const s = await settledStack(rig, ref);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const outputs = await stackOutputs(rig, ref);
    assert.equal(outputs.init_status_code, 0);
    assert.equal(outputs.structured_status_code, 0);
  });
});
