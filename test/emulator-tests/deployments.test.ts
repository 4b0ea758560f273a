/**
 * Software deployments as Heat runs them: the server's metadata composed
 * key by key, each signal transport (a CFN pre-signed POST, a Swift temp URL
 * PUT, keystone then heat-api's resource signal) accepted with the right
 * verb and signature and refused otherwise, the status a signal leaves, stack
 * updates and deletes through the admin API, and faults on the signal paths.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { loadStackFile } from '../emulator/stackfile';
import type { StackSpec } from '../emulator/stackfile';
import { tempUrl } from '../emulator/swift-tempurl';
import { REPO, send, signedGet, type Answer } from './helpers';

const SERVER_KEY = { accessKey: 'AKIDSERVER', secretKey: 'server-secret' };
const PROJECT = { accessKey: 'AKIDPROJECT', secretKey: 'project-secret' };
const TEMP_URL_KEY = 'temp-url-key';
const STACK_ID = 'd0d0d0d0-0000-4000-8000-000000000000';

const SCRIPT = '#!/bin/sh\necho "hello $greeting"\n';
const deploy = (props: Record<string, unknown>) => ({ type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Script', server: 'Server', ...props } });

const STACK: StackSpec = {
  name: 'dep',
  id: STACK_ID,
  resources: {
    Server: {
      type: 'OS::Heat::DeployedServer',
      physicalId: 'srv-phys',
      ...SERVER_KEY,
      metadata: { note: 'kept', 'os-collect-config': { heat: { password: 'from-boot', user_id: 'u' }, polling_interval: 10 } },
    },
    Nova: { type: 'OS::Nova::Server', physicalId: 'nova-phys' },
    Script: {
      type: 'OS::Heat::SoftwareConfig',
      properties: {
        group: 'script',
        config: SCRIPT,
        inputs: [{ name: 'greeting', default: 'world', description: 'whom to greet' }, { name: 'count', type: 'Number', default: '3' }, { name: 'flags', type: 'CommaDelimitedList', default: 'a,b' }],
        outputs: [{ name: 'result', description: 'the result' }, { name: 'failure', error_output: true }],
        options: { retries: 1 },
      },
    },
    // Out of name order on purpose: the metadata sorts by config name.
    Zaqar: deploy({ signal_transport: 'ZAQAR_SIGNAL', name: '50_zaqar' }),
    Cfn: deploy({ input_values: { greeting: 'cfn', extra: 42 }, name: '10_cfn' }),
    Swift: deploy({ signal_transport: 'TEMP_URL_SIGNAL', name: '20_swift' }),
    Native: deploy({ signal_transport: 'HEAT_SIGNAL', name: '30_native', actions: ['CREATE', 'UPDATE', 'DELETE'] }),
    Quiet: deploy({ signal_transport: 'NO_SIGNAL', name: '40_quiet' }),
    // On the Nova server: equal names keep creation order; no config and no name.
    Second: deploy({ server: 'Nova', name: 'same' }),
    First: deploy({ server: 'Nova', name: 'same' }),
    Bare: { type: 'OS::Heat::SoftwareDeployment', properties: { server: 'Nova', signal_transport: 'NO_SIGNAL' } },
    UpdateOnly: deploy({ server: 'Nova', actions: ['UPDATE'], name: 'zz' }),
  },
};

type Input = { name: string; value: unknown } & Record<string, unknown>;
type Item = { id: string; name: string; creation_time: string; inputs: Input[] } & Record<string, unknown>;

describe('emulator: software deployments', () => {
  let emu: Emulator;
  let clock = Date.now();

  before(async () => {
    emu = await startEmulator({ now: () => clock, stacks: [STACK], credentials: [PROJECT], tempUrlKey: TEMP_URL_KEY });
  });
  after(() => emu.stop());
  beforeEach(() => {
    clock = Date.now();
    emu.setFaults({});
    emu.reset();
  });

  const describeResource = (resource: string, keys: { accessKey: string; secretKey: string } = SERVER_KEY) =>
    signedGet(`${emu.url}/v1/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'dep', LogicalResourceId: resource }, keys, clock);
  const metadata = async (server = 'Server', keys: { accessKey: string; secretKey: string } = server === 'Server' ? SERVER_KEY : PROJECT) => {
    const r = await describeResource(server, keys);
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail.Metadata as { deployments: Item[] } & Record<string, unknown>;
  };
  const value = (item: Item, name: string) => item.inputs.find((i) => i.name === name)?.value;
  const item = async (resource: string, server = 'Server') => {
    const found = (await metadata(server)).deployments.find((d) => value(d, 'deploy_resource_name') === resource);
    assert.ok(found, `no metadata item for ${resource}`);
    return found;
  };
  const post = (url: string, body: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }) => send(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const outputs = { deploy_stdout: 'hello\n', deploy_stderr: '', deploy_status_code: 0, result: 'done' };

  describe('the server\'s metadata', () => {
    it('is the template\'s, then deployments, then os-collect-config, as Heat composes it', async () => {
      const md = await metadata();
      assert.deepEqual(Object.keys(md), ['note', 'os-collect-config', 'deployments']);
      assert.equal(md.note, 'kept');
      assert.deepEqual(md['os-collect-config'], {
        heat: { password: null, user_id: null },
        polling_interval: 10,
        collectors: ['cfn', 'local'],
        cfn: { metadata_url: `${emu.url}/v1/`, access_key_id: SERVER_KEY.accessKey, secret_access_key: SERVER_KEY.secretKey, stack_name: 'dep', path: 'Server.Metadata' },
      });
      assert.deepEqual(
        md.deployments.map((d) => [d.name, value(d, 'deploy_resource_name')]),
        [['10_cfn', 'Cfn'], ['20_swift', 'Swift'], ['30_native', 'Native'], ['40_quiet', 'Quiet'], ['50_zaqar', 'Zaqar']],
      );
    });

    it('each item is a derived config: its keys, inputs with values, then Heat\'s deploy_* inputs', async () => {
      const cfn = await item('Cfn');
      assert.deepEqual(Object.keys(cfn), ['id', 'name', 'group', 'creation_time', 'config', 'inputs', 'outputs', 'options']);
      assert.match(cfn.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(cfn.group, 'script');
      assert.equal(cfn.creation_time, new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z'));
      assert.equal(cfn.config, SCRIPT);
      assert.deepEqual(cfn.outputs, [
        { name: 'result', description: 'the result', type: 'String', error_output: false },
        { name: 'failure', description: '', type: 'String', error_output: true },
      ]);
      assert.deepEqual(cfn.options, { retries: 1 });
      const inputs = cfn.inputs;
      assert.deepEqual(inputs.slice(0, 4), [
        { name: 'greeting', description: 'whom to greet', type: 'String', default: 'world', value: 'cfn' },
        { name: 'count', description: '', type: 'Number', default: 3, value: 3 },
        { name: 'flags', description: '', type: 'CommaDelimitedList', default: ['a', 'b'], value: ['a', 'b'] },
        { name: 'extra', type: 'String', value: 42 },
      ]);
      assert.deepEqual(inputs.slice(4, 9), [
        { name: 'deploy_server_id', description: 'ID of the server being deployed to', type: 'String', value: 'srv-phys' },
        { name: 'deploy_action', description: 'Name of the current action being deployed', type: 'String', value: 'CREATE' },
        { name: 'deploy_stack_id', description: 'ID of the stack this deployment belongs to', type: 'String', value: `dep/${STACK_ID}` },
        { name: 'deploy_resource_name', description: 'Name of this deployment resource in the stack', type: 'String', value: 'Cfn' },
        { name: 'deploy_signal_transport', description: 'How the server should signal to heat with the deployment output values.', type: 'String', value: 'CFN_SIGNAL' },
      ]);
      assert.deepEqual(inputs.slice(9).map((i) => [i.name, i.description]), [
        ['deploy_signal_id', 'ID of signal to use for signaling output values'],
        ['deploy_signal_verb', 'HTTP verb to use for signaling output values'],
      ]);
      const url = new URL(String(value(cfn, 'deploy_signal_id')));
      assert.equal(`${url.origin}${url.pathname}`, `${emu.url}/v1/signal/arn%3Aopenstack%3Aheat%3A%3Atenant0%3Astacks/dep/${STACK_ID}/resources/Cfn`);
      assert.deepEqual([...url.searchParams.keys()], ['SignatureMethod', 'SignatureVersion', 'AWSAccessKeyId', 'Timestamp', 'Signature']);
      assert.equal(value(cfn, 'deploy_signal_verb'), 'POST');
    });

    it('the other transports\' inputs: a temp URL to PUT, keystone credentials, nothing for NO_SIGNAL', async () => {
      const tail = (it: Item) => it.inputs.slice(it.inputs.findIndex((i) => i.name === 'deploy_signal_transport') + 1).map((i) => i.name);
      const swift = await item('Swift');
      assert.deepEqual(tail(swift), ['deploy_signal_id', 'deploy_signal_verb']);
      assert.match(String(value(swift, 'deploy_signal_id')), new RegExp(`^${emu.url}/swift/v1/AUTH_tenant0/${STACK_ID}/dep-Swift-[a-z2-7]{12}\\?temp_url_sig=[0-9a-f]{64}&temp_url_expires=214748358[67]$`));
      assert.equal(value(swift, 'deploy_signal_verb'), 'PUT');
      const native = await item('Native');
      assert.deepEqual(tail(native), ['deploy_auth_url', 'deploy_username', 'deploy_user_id', 'deploy_password', 'deploy_project_id', 'deploy_region_name']);
      assert.equal(value(native, 'deploy_auth_url'), `${emu.url}/v3/`);
      assert.equal(value(native, 'deploy_region_name'), 'RegionOne');
      assert.match(String(value(native, 'deploy_username')), /^dep-Native-[a-z2-7]{12}$/);
      assert.match(String(value(native, 'deploy_user_id')), /^[0-9a-f]{32}$/);
      assert.match(String(value(native, 'deploy_password')), /^[a-zA-Z0-9!@#%^&*]{32}$/);
      assert.match(String(value(native, 'deploy_project_id')), /^[0-9a-f]{32}$/);
      const zaqar = await item('Zaqar');
      assert.deepEqual(tail(zaqar), [...tail(native), 'deploy_queue_id']);
      assert.equal(value(zaqar, 'deploy_queue_id'), value(zaqar, 'deploy_username'));
      assert.deepEqual(tail(await item('Quiet')), []);
    });

    it('an OS::Nova::Server: collectors ec2, cfn, local; equal names in creation order; no config is an empty one', async () => {
      const nova = emu.model.stacks.get('dep')!.resources.get('Nova')!.server!.keys;
      const md = await metadata('Nova', nova);
      const occ = md['os-collect-config'] as { collectors: string[]; cfn: Record<string, string> };
      assert.deepEqual(occ.collectors, ['ec2', 'cfn', 'local']);
      assert.equal(occ.cfn.access_key_id, nova.accessKey);
      assert.deepEqual(md.deployments.map((d) => [d.name, value(d, 'deploy_resource_name')]).slice(1), [['same', 'Second'], ['same', 'First']]);
      const bare = md.deployments[0];
      assert.match(bare.name, /^dep-Bare-[a-z2-7]{12}$/);
      assert.equal(bare.group, 'Heat::Ungrouped');
      assert.equal(bare.config, '');
      assert.deepEqual(bare.outputs, []);
      assert.deepEqual(bare.options, {});
      assert.deepEqual(md.deployments.map((d) => value(d, 'deploy_resource_name')).includes('UpdateOnly'), false, 'CREATE is not among its actions');
    });

    it('the server\'s key reads only the server; Heat\'s JSON text form; stable ids across polls', async () => {
      const denied = await describeResource('Cfn');
      assert.equal(denied.text, '"User is not authorized to perform action"');
      const r = await describeResource('Server');
      assert.match(r.text, /"Metadata": \{"note": "kept", "os-collect-config": \{"heat": \{"password": null, "user_id": null\}, "polling_interval": 10, "collectors": \["cfn", "local"\], "cfn": \{"metadata_url": /);
      assert.deepEqual(await metadata(), await metadata());
    });

    it('a server without deployments keeps its metadata as it is', async () => {
      const plain = await startEmulator({ stacks: [{ name: 'p', resources: { S: { type: 'OS::Heat::DeployedServer', metadata: { deployments: [{ id: 'x' }] } } } }], credentials: [PROJECT] });
      try {
        const r = await signedGet(`${plain.url}/v1/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'p', LogicalResourceId: 'S' }, PROJECT);
        assert.deepEqual(JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail.Metadata, { deployments: [{ id: 'x' }] });
      } finally {
        await plain.stop();
      }
    });
  });

  describe('CFN_SIGNAL: POST to the pre-signed /v1/signal/<arn>', () => {
    it('completes the deployment; Heat\'s empty answer; outputs stored; signalled exactly once', async () => {
      assert.equal(emu.deployment('dep', 'Cfn').status, 'CREATE_IN_PROGRESS');
      const r = await post(String(value(await item('Cfn'), 'deploy_signal_id')), outputs);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], 'text/html; charset=UTF-8');
      assert.equal(r.text, '');
      assert.equal(emu.requestLog.at(-1)?.signature, 'v2');
      const d = emu.deployment('dep', 'Cfn');
      assert.equal(d.status, 'CREATE_COMPLETE');
      assert.equal(d.signalCount, 1);
      assert.deepEqual(d.softwareDeployment?.output_values, { result: 'done', deploy_stdout: 'hello\n', deploy_stderr: '', deploy_status_code: 0 });
      assert.equal(d.softwareDeployment?.status, 'COMPLETE');
      assert.equal(d.softwareDeployment?.status_reason, 'Outputs received');
      assert.deepEqual(d.signals.map((s) => [s.via, s.action, s.applied]), [['CFN_SIGNAL', 'CREATE', true]]);
    });

    it('a non-zero deploy_status_code, or a value for an error_output, fails it with Heat\'s reason', async () => {
      await post(String(value(await item('Cfn'), 'deploy_signal_id')), { ...outputs, deploy_status_code: 3, deploy_stderr: 'broken' });
      let d = emu.deployment('dep', 'Cfn');
      assert.equal(d.status, 'CREATE_FAILED');
      assert.equal(d.statusReason, 'Error: resources.Cfn: Deployment to server failed: deploy_status_code : Deployment exited with non-zero status code: 3');
      assert.equal(d.softwareDeployment?.status, 'FAILED');
      await post(String(value(await item('Swift'), 'deploy_signal_id')), {});
      const swift = await send(String(value(await item('Swift'), 'deploy_signal_id')), { method: 'PUT', body: JSON.stringify({ ...outputs, failure: 'disk full' }) });
      assert.equal(swift.status, 201);
      d = emu.deployment('dep', 'Swift');
      assert.equal(d.status, 'CREATE_FAILED');
      assert.equal(d.softwareDeployment?.status_reason, 'failure : disk full');
    });

    it('a second signal, to a deployment that waits for none, is counted and dropped', async () => {
      const url = String(value(await item('Cfn'), 'deploy_signal_id'));
      await post(url, outputs);
      assert.equal((await post(url, { ...outputs, deploy_status_code: 1 })).status, 200);
      const d = emu.deployment('dep', 'Cfn');
      assert.equal(d.status, 'CREATE_COMPLETE');
      assert.equal(d.signalCount, 2);
      assert.deepEqual(d.signals.map((s) => s.applied), [true, false]);
      assert.match(d.signals[1].note ?? '', /not waiting for a signal/);
    });

    it('refuses a wrong verb, a changed signature, another resource\'s path, a body without its Content-Type, and the URL 15 minutes on', async () => {
      const url = String(value(await item('Cfn'), 'deploy_signal_id'));
      const put = await send(url, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(outputs) });
      assert.equal(put.status, 403, 'the signature covers the verb');
      assert.match(put.text, /<Code>AccessDenied<\/Code>/);
      const u = new URL(url);
      u.searchParams.set('Signature', 'AAAA');
      assert.equal((await post(u.toString(), outputs)).status, 403);
      assert.equal((await post(url.replace('/resources/Cfn', '/resources/Swift'), outputs)).status, 403);
      // Without a type webob reads the JSON as a form field, which then is signed: Heat refuses it too.
      assert.equal((await post(url, outputs, {})).status, 403);
      clock += 16 * 60_000;
      assert.equal((await post(url, outputs)).status, 403);
      assert.match(emu.requestLog.at(-1)?.verified ?? '', /^AccessDenied: request expired/);
      assert.equal(emu.deployment('dep', 'Cfn').signalCount, 0);
    });

    it('no body is a signal without details: complete, outputs null', async () => {
      const r = await send(String(value(await item('Cfn'), 'deploy_signal_id')), { method: 'POST', headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 200);
      const d = emu.deployment('dep', 'Cfn');
      assert.equal(d.status, 'CREATE_COMPLETE');
      assert.deepEqual(d.softwareDeployment?.output_values, { deploy_stdout: null, deploy_stderr: null, deploy_status_code: null });
    });
  });

  describe('TEMP_URL_SIGNAL: PUT to the Swift temp URL', () => {
    it('201 as Swift answers; completes the deployment', async () => {
      const r = await send(String(value(await item('Swift'), 'deploy_signal_id')), { method: 'PUT', body: JSON.stringify(outputs) });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.text, '');
      assert.match(String(r.headers.etag), /^[0-9a-f]{32}$/);
      assert.match(String(r.headers['x-trans-id']), /^tx[0-9a-f]{21}-[0-9a-f]{10}$/);
      assert.equal(emu.requestLog.at(-1)?.signature, 'temp-url');
      const d = emu.deployment('dep', 'Swift');
      assert.equal(d.status, 'CREATE_COMPLETE');
      assert.equal(d.signalCount, 1);
      assert.equal(d.softwareDeployment?.output_values?.result, 'done');
    });

    it('refuses another verb, a changed signature or path, and an expired URL with Swift\'s 401', async () => {
      const url = String(value(await item('Swift'), 'deploy_signal_id'));
      const refused = async (target: string, method = 'PUT') => {
        const r = await send(target, { method, body: JSON.stringify(outputs) });
        assert.equal(r.status, 401, `${method} ${target}`);
        assert.equal(r.text, '401 Unauthorized: Temp URL invalid\n');
        return emu.requestLog.at(-1)?.verified ?? '';
      };
      assert.match(await refused(url, 'POST'), /signature does not match \(sha256 over POST/);
      assert.match(await refused(url.replace(/temp_url_sig=./, 'temp_url_sig=0')), /signature does not match/);
      assert.match(await refused(url.replace('/dep-Swift-', '/dep-Other-')), /signature does not match/);
      const objectPath = new URL(url).pathname.slice('/swift'.length);
      const expires = Math.floor(clock / 1000) - 1;
      assert.match(await refused(tempUrl(emu.url, TEMP_URL_KEY, objectPath, expires)), /^Unauthorized: expired at/);
      assert.equal(emu.deployment('dep', 'Swift').signalCount, 0);
      const sha1 = await send(tempUrl(emu.url, TEMP_URL_KEY, objectPath, expires + 3600, 'PUT', 'sha1'), { method: 'PUT', body: JSON.stringify(outputs) });
      assert.equal(sha1.status, 201, 'Swift takes sha1 signatures too');
      assert.equal(emu.deployment('dep', 'Swift').status, 'CREATE_COMPLETE');
    });

    it('an empty object is no signal; one that is not JSON is noted and dropped', async () => {
      const url = String(value(await item('Swift'), 'deploy_signal_id'));
      assert.equal((await send(url, { method: 'PUT', body: '' })).status, 201);
      assert.equal(emu.deployment('dep', 'Swift').signalCount, 0);
      assert.equal((await send(url, { method: 'PUT', body: 'not json' })).status, 201);
      const d = emu.deployment('dep', 'Swift');
      assert.equal(d.status, 'CREATE_IN_PROGRESS');
      assert.match(d.signals[0].note ?? '', /^dropped: the object is not JSON/);
    });
  });

  describe('HEAT_SIGNAL: keystone, then heat-api\'s resource signal', () => {
    const authenticate = (it: Item, over: { password?: string; project?: string } = {}) =>
      send(`${value(it, 'deploy_auth_url')}auth/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          auth: {
            identity: { methods: ['password'], password: { user: { id: value(it, 'deploy_user_id'), password: over.password ?? value(it, 'deploy_password') } } },
            scope: { project: { id: over.project ?? value(it, 'deploy_project_id') } },
          },
        }),
      });
    const signalUrl = (token: Answer, it: Item) => {
      const orchestration = (JSON.parse(token.text).token.catalog as Array<{ type: string; endpoints: Array<{ url: string }> }>).find((s) => s.type === 'orchestration')!;
      return `${orchestration.endpoints[0].url}/stacks/${value(it, 'deploy_stack_id')}/resources/${value(it, 'deploy_resource_name')}/signal`;
    };

    it('a token by user id and password, scoped to the stack user project; the catalog points back here; the signal completes it', async () => {
      const it = await item('Native');
      const token = await authenticate(it);
      assert.equal(token.status, 201, token.text);
      const subject = String(token.headers['x-subject-token']);
      assert.ok(subject.length > 20);
      const body = JSON.parse(token.text).token;
      assert.deepEqual(Object.keys(body), ['methods', 'user', 'audit_ids', 'expires_at', 'issued_at', 'project', 'is_domain', 'roles', 'catalog']);
      assert.equal(body.user.id, value(it, 'deploy_user_id'));
      assert.equal(body.user.name, value(it, 'deploy_username'));
      assert.equal(body.project.id, value(it, 'deploy_project_id'));
      assert.match(body.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(body.roles.map((r: { name: string }) => r.name), ['heat_stack_user']);
      const url = signalUrl(token, it);
      assert.equal(url, `${emu.url}/v1/${value(it, 'deploy_project_id')}/stacks/dep/${STACK_ID}/resources/Native/signal`);
      const r = await post(url, outputs, { 'Content-Type': 'application/json', 'X-Auth-Token': subject });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, 'null');
      assert.equal(emu.requestLog.at(-1)?.signature, 'token');
      const d = emu.deployment('dep', 'Native');
      assert.equal(d.status, 'CREATE_COMPLETE');
      assert.equal(d.signalCount, 1);
      assert.deepEqual(d.signals.map((s) => s.via), ['HEAT_SIGNAL']);
    });

    it('keystone refuses a wrong password or project; heat-api refuses no token, an expired one, another project, an unknown resource', async () => {
      const it = await item('Native');
      for (const over of [{ password: 'wrong' }, { project: 'f'.repeat(32) }]) {
        const r = await authenticate(it, over);
        assert.equal(r.status, 401);
        assert.equal(r.text, '{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}\n');
        assert.equal(r.headers['www-authenticate'], `Keystone uri="${emu.url}"`);
      }
      const token = await authenticate(it);
      const subject = String(token.headers['x-subject-token']);
      const url = signalUrl(token, it);
      const none = await post(url, outputs);
      assert.equal(none.status, 401);
      assert.equal(JSON.parse(none.text).error.message, 'The request you have made requires authentication.');
      const other = await post(url.replace(String(value(it, 'deploy_project_id')), 'tenant0'), outputs, { 'Content-Type': 'application/json', 'X-Auth-Token': subject });
      assert.equal(other.status, 403);
      assert.equal(other.text, '{"code": 403, "title": "Forbidden", "explanation": "Access was denied to this resource.", "error": {"type": "HTTPForbidden", "traceback": null}}');
      const missing = await post(url.replace('/Native/', '/Nope/'), outputs, { 'Content-Type': 'application/json', 'X-Auth-Token': subject });
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.text).error.message, 'The Resource (Nope) could not be found in Stack dep.');
      const config = await post(url.replace('/Native/', '/Script/'), outputs, { 'Content-Type': 'application/json', 'X-Auth-Token': subject });
      assert.equal(config.status, 400);
      assert.equal(JSON.parse(config.text).error.type, 'ResourceActionNotSupported');
      clock += 3600_000;
      const late = await post(url, outputs, { 'Content-Type': 'application/json', 'X-Auth-Token': subject });
      assert.equal(late.status, 401);
      assert.match(emu.requestLog.at(-1)?.verified ?? '', /^Unauthorized: token expired/);
      assert.equal(emu.deployment('dep', 'Native').signalCount, 0);
    });
  });

  describe('stack updates and deletes', () => {
    const cfnSignal = async (resource: string, body: unknown) => post(String(value(await item(resource), 'deploy_signal_id')), body);
    /** keystone, then heat-api, with the credentials the deployment's metadata item carries. */
    const heatSignal = async (resource: string, body: unknown) => {
      const it = await item(resource);
      const token = await send(`${value(it, 'deploy_auth_url')}auth/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { id: value(it, 'deploy_user_id'), password: value(it, 'deploy_password') } } }, scope: { project: { id: value(it, 'deploy_project_id') } } } }),
      });
      assert.equal(token.status, 201, token.text);
      const url = `${emu.url}/v1/${value(it, 'deploy_project_id')}/stacks/${value(it, 'deploy_stack_id')}/resources/${resource}/signal`;
      return { answer: await post(url, body, { 'Content-Type': 'application/json', 'X-Auth-Token': String(token.headers['x-subject-token']) }), url, token: String(token.headers['x-subject-token']) };
    };

    it('an update: a new config (new id, creation time, deploy_action UPDATE), UPDATE_IN_PROGRESS until signalled again', async () => {
      const before = await item('Cfn');
      await cfnSignal('Cfn', outputs);
      clock += 5000;
      const view = emu.updateDeployment('dep', 'Cfn', { greeting: 'again' });
      assert.equal(view.status, 'UPDATE_IN_PROGRESS');
      assert.equal(view.softwareDeployment?.status, 'IN_PROGRESS');
      assert.equal(view.softwareDeployment?.status_reason, 'Deploy data available');
      assert.deepEqual(view.softwareDeployment?.output_values?.result, 'done', 'the outputs of CREATE stay until the next signal');
      const after = await item('Cfn');
      assert.notEqual(after.id, before.id);
      assert.notEqual(after.creation_time, before.creation_time);
      assert.equal(value(after, 'deploy_action'), 'UPDATE');
      assert.equal(value(after, 'greeting'), 'again');
      assert.equal(value(after, 'extra'), undefined, 'the new input values replace the old');
      const key = (it: Item) => new URL(String(value(it, 'deploy_signal_id'))).searchParams.get('AWSAccessKeyId');
      assert.equal(key(after), key(before), 'the same key pair');
      await cfnSignal('Cfn', { ...outputs, result: 'again' });
      const done = emu.deployment('dep', 'Cfn');
      assert.equal(done.status, 'UPDATE_COMPLETE');
      assert.deepEqual(done.signals.map((s) => s.action), ['CREATE', 'UPDATE']);
      assert.equal(done.softwareDeployment?.output_values?.result, 'again');
      assert.equal(done.softwareDeployment?.updated_time, new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    });

    it('an update while CREATE waits is queued, as Heat waits for the running action; the signal completes CREATE, then UPDATE runs', async () => {
      const created = await item('Cfn');
      const queued = emu.updateDeployment('dep', 'Cfn', { greeting: 'later' });
      assert.equal(queued.status, 'CREATE_IN_PROGRESS');
      assert.equal(queued.queued, 'update');
      assert.equal((await item('Cfn')).id, created.id, 'the metadata still has the CREATE config');
      await cfnSignal('Cfn', outputs);
      const updating = emu.deployment('dep', 'Cfn');
      assert.equal(updating.status, 'UPDATE_IN_PROGRESS');
      assert.equal(updating.queued, null);
      assert.equal(value(await item('Cfn'), 'greeting'), 'later');
    });

    it('unchanged values change nothing; without UPDATE among its actions nothing runs; NO_SIGNAL waits for nothing', async () => {
      await cfnSignal('Cfn', outputs);
      const before = await item('Cfn');
      emu.updateDeployment('dep', 'Cfn', { extra: 42, greeting: 'cfn' });
      assert.equal((await item('Cfn')).id, before.id);
      assert.equal(emu.deployment('dep', 'Cfn').status, 'CREATE_COMPLETE');
      const view = emu.updateDeployment('dep', 'UpdateOnly', { greeting: 'x' });
      assert.equal(view.status, 'UPDATE_IN_PROGRESS', 'UPDATE is its only action: now it runs');
      assert.equal(value(await item('UpdateOnly', 'Nova'), 'deploy_action'), 'UPDATE');
      const quiet = emu.updateDeployment('dep', 'Quiet', { greeting: 'x' });
      assert.equal(quiet.status, 'UPDATE_COMPLETE');
      assert.equal(quiet.softwareDeployment?.status_reason, 'Not waiting for outputs signal');
    });

    it('a failed deployment is replaced on update: new id and credentials, deploy_action CREATE; the old key is gone', async () => {
      const old = await item('Cfn');
      await cfnSignal('Cfn', { deploy_status_code: 1 });
      const oldId = emu.deployment('dep', 'Cfn').softwareDeployment?.id;
      const view = emu.updateDeployment('dep', 'Cfn', { greeting: 'fixed' });
      assert.equal(view.status, 'CREATE_IN_PROGRESS');
      assert.notEqual(view.softwareDeployment?.id, oldId);
      const fresh = await item('Cfn');
      assert.equal(value(fresh, 'deploy_action'), 'CREATE');
      const key = (it: Item) => new URL(String(value(it, 'deploy_signal_id'))).searchParams.get('AWSAccessKeyId');
      assert.notEqual(key(fresh), key(old));
      const stale = await post(String(value(old, 'deploy_signal_id')), outputs);
      assert.equal(stale.status, 403);
      assert.match(stale.text, /InvalidClientTokenId/);
      await cfnSignal('Cfn', outputs);
      assert.equal(emu.deployment('dep', 'Cfn').status, 'CREATE_COMPLETE');
    });

    it('a delete without DELETE among its actions drops the item and the resource at once; its signal URL dies', async () => {
      const url = String(value(await item('Cfn'), 'deploy_signal_id'));
      await post(url, outputs);
      const view = emu.deleteDeployment('dep', 'Cfn');
      assert.equal(view.status, 'DELETE_COMPLETE');
      assert.equal(view.deleted, true);
      assert.equal(view.metadata, null);
      assert.equal(view.softwareDeployment, null);
      assert.equal((await metadata()).deployments.some((d) => d.name === '10_cfn'), false);
      assert.equal((await describeResource('Cfn', PROJECT)).text, '"A bad or out-of-range value was supplied"');
      assert.equal((await post(url, outputs)).status, 403);
      assert.throws(() => emu.deleteDeployment('dep', 'Cfn'), /was deleted/);
      assert.equal(emu.deployment('dep', 'Cfn').signalCount, 1);
    });

    it('a delete with DELETE among its actions: a DELETE config stays until signalled, then it goes with its user', async () => {
      await heatSignal('Native', outputs);
      const created = await item('Native');
      const view = emu.deleteDeployment('dep', 'Native');
      assert.equal(view.status, 'DELETE_IN_PROGRESS');
      const deleting = await item('Native');
      assert.notEqual(deleting.id, created.id);
      assert.equal(value(deleting, 'deploy_action'), 'DELETE');
      assert.throws(() => emu.updateDeployment('dep', 'Native', {}), /is being deleted/);
      const { answer, url, token } = await heatSignal('Native', outputs);
      assert.equal(answer.status, 200);
      const gone = emu.deployment('dep', 'Native');
      assert.equal(gone.status, 'DELETE_COMPLETE');
      assert.deepEqual(gone.signals.map((s) => s.action), ['CREATE', 'DELETE']);
      assert.equal((await metadata()).deployments.some((d) => d.name === '30_native'), false);
      assert.equal((await post(url, outputs, { 'Content-Type': 'application/json', 'X-Auth-Token': token })).status, 401, 'the stack user went with it');
    });

    it('a failed DELETE keeps the item: DELETE_FAILED', async () => {
      await heatSignal('Native', outputs);
      emu.deleteDeployment('dep', 'Native');
      assert.equal((await heatSignal('Native', { deploy_status_code: 2 })).answer.status, 200);
      assert.equal(emu.deployment('dep', 'Native').status, 'DELETE_FAILED');
      assert.equal(value(await item('Native'), 'deploy_action'), 'DELETE');
    });

    it('the admin API: GET, PUT {"input_values"}, DELETE; 404, 409 and 400 for what it cannot do', async () => {
      const base = `${emu.url}/_emulator/deployments/dep`;
      const got = await send(`${base}/Cfn`);
      assert.equal(got.status, 200);
      assert.equal(JSON.parse(got.text).signalTransport, 'CFN_SIGNAL');
      await cfnSignal('Cfn', outputs);
      const put = await send(`${base}/Cfn`, { method: 'PUT', body: JSON.stringify({ input_values: { greeting: 'admin' } }) });
      assert.equal(put.status, 200, put.text);
      assert.equal(JSON.parse(put.text).status, 'UPDATE_IN_PROGRESS');
      assert.equal(value(await item('Cfn'), 'greeting'), 'admin');
      assert.equal((await send(`${base}/Cfn`, { method: 'PUT', body: '{"inputs": {}}' })).status, 400);
      assert.equal((await send(`${base}/Cfn`, { method: 'PUT', body: '{"input_values": [1]}' })).status, 400);
      assert.equal((await send(`${base}/Nope`)).status, 404);
      assert.equal((await send(`${base}/Quiet`, { method: 'DELETE' })).status, 200);
      assert.equal((await send(`${base}/Quiet`, { method: 'DELETE' })).status, 409);
      const state = JSON.parse((await send(`${emu.url}/_emulator/state`)).text);
      const deployments = state.stacks[0].deployments as Array<{ name: string; deleted: boolean }>;
      assert.equal(deployments.find((d) => d.name === 'Quiet')?.deleted, true);
      assert.equal(state.stacks[0].resources.some((r: { name: string }) => r.name === 'Quiet'), false);
      const page = await send(emu.url);
      assert.match(page.text, /<h3>software deployments<\/h3>/);
      assert.match(page.text, /Quiet <small>\(deleted\)<\/small>/);
    });

    it('NO_SIGNAL completes at once; reset brings every deployment back', async () => {
      const quiet = emu.deployment('dep', 'Quiet');
      assert.equal(quiet.status, 'CREATE_COMPLETE');
      assert.equal(quiet.softwareDeployment?.status, 'COMPLETE');
      assert.equal(quiet.softwareDeployment?.status_reason, 'Not waiting for outputs signal');
      const before = await metadata();
      emu.deleteDeployment('dep', 'Quiet');
      emu.reset();
      const after = await metadata();
      assert.deepEqual(after.deployments.map((d) => d.id), before.deployments.map((d) => d.id));
    });
  });

  describe('faults on the signal paths', () => {
    it('a 500 on the first CFN signal: not taken; the retry is', async () => {
      emu.setFaults({ next: [{ kind: 'error', status: 500, count: 1, when: { pathPrefix: '/v1/signal/' } }] });
      const url = String(value(await item('Cfn'), 'deploy_signal_id'));
      const first = await post(url, outputs);
      assert.equal(first.status, 500);
      assert.match(first.text, /<Code>InternalFailure<\/Code>/);
      assert.equal(emu.deployment('dep', 'Cfn').signalCount, 0);
      assert.equal((await post(url, outputs)).status, 200);
      assert.equal(emu.deployment('dep', 'Cfn').signalCount, 1);
    });

    it('a reset connection on the temp URL and on keystone, then the retries', async () => {
      emu.setFaults({ next: [{ kind: 'reset', count: 1, when: { pathPrefix: '/swift/' } }, { kind: 'error', status: 503, count: 1, when: { pathPrefix: '/v3/' } }] });
      const url = String(value(await item('Swift'), 'deploy_signal_id'));
      await assert.rejects(send(url, { method: 'PUT', body: JSON.stringify(outputs) }), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
      assert.equal((await send(url, { method: 'PUT', body: JSON.stringify(outputs) })).status, 201);
      assert.equal(emu.deployment('dep', 'Swift').signalCount, 1);
      const keystone = await send(`${emu.url}/v3/auth/tokens`, { method: 'POST', body: '{}' });
      assert.equal(keystone.status, 503);
    });
  });

  describe('structured configs, and what Heat stores of an input', () => {
    const INIT = { config: { files: { '/tmp/x': { content: { get_input: 'greeting' }, mode: '000600' } }, commands: { c: { command: { get_input: 'deploy_action' } } } } };
    const structured: StackSpec = {
      name: 'st',
      resources: {
        Server: { type: 'OS::Heat::DeployedServer', ...SERVER_KEY },
        Init: { type: 'OS::Heat::StructuredConfig', properties: { group: 'cfn-init', inputs: [{ name: 'greeting' }], config: INIT } },
        Typed: {
          type: 'OS::Heat::SoftwareConfig',
          properties: { inputs: ['String', 'Number', 'Boolean', 'CommaDelimitedList', 'Json'].map((type) => ({ name: type.toLowerCase(), type })), config: 'x' },
        } as StackSpec['resources'][string],
        Replaced: { type: 'OS::Heat::StructuredDeployment', properties: { config: 'Init', server: 'Server', input_values: { greeting: 'hi' }, name: '1' } },
        AsIs: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Init', server: 'Server', name: '2' } },
        Empty: { type: 'OS::Heat::StructuredDeployment', properties: { server: 'Server', name: '3' } },
        Defaults: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Typed', server: 'Server', name: '4' } },
      },
    };

    it('a StructuredDeployment replaces {get_input: name} (the deploy_* inputs too); a SoftwareDeployment passes it on; no config is {}', async () => {
      const st = await startEmulator({ stacks: [structured] });
      try {
        const r = await signedGet(`${st.url}/v1/`, { Action: 'DescribeStackResource', ContentType: 'JSON', StackName: 'st', LogicalResourceId: 'Server' }, SERVER_KEY);
        const [replaced, asIs, empty, defaults] = JSON.parse(r.text).DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail.Metadata.deployments as Item[];
        assert.deepEqual(replaced.config, { config: { files: { '/tmp/x': { content: 'hi', mode: '000600' } }, commands: { c: { command: 'CREATE' } } } });
        assert.deepEqual(asIs.config, INIT);
        assert.deepEqual(value(asIs, 'greeting'), '', 'no value: the stored default, "" for a String');
        assert.deepEqual(empty.config, {});
        assert.equal(empty.group, 'Heat::Ungrouped');
        assert.deepEqual(
          defaults.inputs.slice(0, 5).map((i) => [i.name, i.description, i.default, i.value]),
          [['string', '', '', ''], ['number', '', 0, 0], ['boolean', '', false, false], ['commadelimitedlist', '', [], []], ['json', '', {}, {}]],
        );
      } finally {
        await st.stop();
      }
    });

    it('a config of the wrong kind is refused as Heat refuses it', async () => {
      const bad = (config: unknown, type: string) => startEmulator({ stacks: [{ name: 'b', resources: { C: { type, properties: { config } } } as StackSpec['resources'] }] });
      await assert.rejects(bad({ a: 1 }, 'OS::Heat::SoftwareConfig'), /resources\.C\.properties\.config: must be a string \(a script\); a mapping is the config of an OS::Heat::StructuredConfig/);
      await assert.rejects(bad('text', 'OS::Heat::StructuredConfig'), /resources\.C\.properties\.config: must be a mapping, not a string/);
    });
  });

  describe("against real Heat 19's recordings (test/fixtures/heat-deployments)", () => {
    const FIXTURES = path.join(REPO, 'test', 'fixtures', 'heat-deployments');
    const recorded = (file: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as { deployments: Item[]; 'os-collect-config': { cfn: { stack_name: string } } };
    /** What differs between two clouds (hosts, ids, keys, times, signatures, short ids) replaced by what it is; the rest must be equal, key order included. */
    const shape = (v: unknown, key = ''): unknown => {
      if (Array.isArray(v)) return v.map((x) => shape(x));
      if (v !== null && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.name === 'deploy_password') return { ...o, value: '<secret>' };
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, shape(x, k)]));
      }
      if (typeof v !== 'string') return v;
      if (key === 'secret_access_key') return '<secret>';
      return v
        .replace(/http:\/\/127\.0\.0\.1:\d+/g, '<host>')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
        .replace(/[0-9a-f]{32}/g, '<hex>')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, '<time>')
        .replace(/(Timestamp|Signature)=[^&]*/g, '$1=<$1>')
        .replace(/-[a-z2-7]{12}$/, '-<short>');
    };
    const TENANT = 'e4ef74b6387448a093c8d8aaa84375aa';
    const SCRIPT_FIXTURE = '#!/bin/sh\necho "greeting is ${greeting}"\necho \'a line on stderr\' >&2\nprintf \'%s, world\' "${greeting}" > "${heat_outputs_path}.result"\n';
    /** test/heat/templates/heat-agent.json as a stack file says it. */
    const agentStack = (name: string, props: Record<string, unknown> = {}): StackSpec => ({
      name,
      tenant: TENANT,
      resources: {
        server: { type: 'OS::Heat::DeployedServer' },
        config: {
          type: 'OS::Heat::SoftwareConfig',
          properties: {
            group: 'script',
            inputs: [{ name: 'greeting', description: 'what to greet with', default: 'hi' }],
            outputs: [{ name: 'result', description: 'the greeting the script wrote' }, { name: 'failure', description: 'set only when the script failed', error_output: true }],
            config: SCRIPT_FIXTURE,
          },
        },
        deployment: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'config', server: 'server', input_values: { greeting: 'hello' }, ...props } },
      },
    });
    const compare = async (file: string, stack: (name: string) => StackSpec, before: (e: Emulator, stack: string) => Promise<void> = async () => {}) => {
      const want = recorded(file);
      const name = want['os-collect-config'].cfn.stack_name;
      const e = await startEmulator({ stacks: [stack(name)], tempUrlKey: TEMP_URL_KEY });
      try {
        await before(e, name);
        const server = e.model.stacks.get(name)!.resources.get('server')!;
        const got = e.model.metadataOf(e.model.stacks.get(name)!, server);
        assert.equal(JSON.stringify(shape(got), null, 1), JSON.stringify(shape(want), null, 1));
      } finally {
        await e.stop();
      }
    };
    const signalled = async (e: Emulator, stack: string) => {
      const item = e.deployment(stack, 'deployment').metadata as Item;
      assert.equal((await post(String(value(item, 'deploy_signal_id')), outputs)).status, 200);
    };

    it('CFN_SIGNAL (cfn-signal.json)', () => compare('cfn-signal.json', (n) => agentStack(n)));
    it('HEAT_SIGNAL (heat-signal.json)', () => compare('heat-signal.json', (n) => agentStack(n, { signal_transport: 'HEAT_SIGNAL' })));
    it('NO_SIGNAL (no-signal.json)', () => compare('no-signal.json', (n) => agentStack(n, { signal_transport: 'NO_SIGNAL' })));
    it('after an update (cfn-signal-updated.json)', () =>
      compare('cfn-signal-updated.json', (n) => agentStack(n), async (e, stack) => {
        await signalled(e, stack);
        e.updateDeployment(stack, 'deployment', { greeting: 'bonjour' });
      }));
    it('during a delete with DELETE among the actions (delete-action.json)', () =>
      compare('delete-action.json', (n) => agentStack(n, { actions: ['CREATE', 'UPDATE', 'DELETE'] }), async (e, stack) => {
        await signalled(e, stack);
        e.deleteDeployment(stack, 'deployment');
      }));
    it('two deployments sorted by name (two-deployments.json)', () =>
      compare('two-deployments.json', (name) => ({
        name,
        tenant: TENANT,
        resources: {
          server: { type: 'OS::Heat::DeployedServer' },
          ...Object.fromEntries(
            ['a', 'b'].map((x) => [`config_${x}`, { type: 'OS::Heat::SoftwareConfig', properties: { group: 'script', inputs: [{ name: 'greeting' }], outputs: [{ name: 'result' }], config: `#!/bin/sh\nprintf '${x}: %s' "\${greeting}" > "\${heat_outputs_path}.result"\n` } }]),
          ),
          deploy_a: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'config_a', server: 'server', input_values: { greeting: 'hello' } } },
          deploy_b: { type: 'OS::Heat::SoftwareDeployment', properties: { name: '00_early', config: 'config_b', server: 'server', input_values: { greeting: 'hello' } } },
        },
      })));
    it('cfn-init: a SoftwareConfig\'s text, a StructuredConfig\'s mapping with its input replaced (cfn-init.json)', () =>
      compare('cfn-init.json', (name) => ({
        name,
        tenant: TENANT,
        resources: {
          server: { type: 'OS::Heat::DeployedServer' },
          init_config: { type: 'OS::Heat::SoftwareConfig', properties: { group: 'cfn-init', config: String(recorded('cfn-init.json').deployments[0].config) } },
          structured_config: {
            type: 'OS::Heat::StructuredConfig',
            properties: { group: 'cfn-init', inputs: [{ name: 'greeting' }], config: { config: { files: { '/srv/cfntools-heat-agent/greeting.txt': { content: { get_input: 'greeting' }, mode: '000600' } } } } },
          },
          init_deployment: { type: 'OS::Heat::SoftwareDeployment', properties: { name: '10_init', config: 'init_config', server: 'server', signal_transport: 'CFN_SIGNAL' } },
          structured_deployment: { type: 'OS::Heat::StructuredDeployment', properties: { name: '20_structured', config: 'structured_config', server: 'server', input_values: { greeting: 'hello' }, signal_transport: 'CFN_SIGNAL' } },
        },
      })));
  });

  describe('stack files', () => {
    it('the example deployments.yaml loads and serves a deployment per transport', async () => {
      const file = path.join(REPO, 'test', 'emulator', 'stacks', 'deployments.yaml');
      const spec = loadStackFile(file);
      assert.deepEqual(Object.values(spec.stacks[0].resources).map((r) => r.type).filter((t) => t.endsWith('Deployment')).length, 4);
      const example = await startEmulator({ stacks: [file] });
      try {
        const state = example.state();
        assert.deepEqual(state.stacks[0].deployments.map((d) => [d.name, d.status]), [
          ['ViaCfn', 'CREATE_IN_PROGRESS'],
          ['ViaTempUrl', 'CREATE_IN_PROGRESS'],
          ['ViaHeat', 'CREATE_IN_PROGRESS'],
          ['Unsignalled', 'CREATE_COMPLETE'],
        ]);
      } finally {
        await example.stop();
      }
    });

    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['server of the wrong type', { D: deploy({ server: 'Script' }) }, /resources\.D\.properties\.server: Script is a OS::Heat::SoftwareConfig, not a OS::Heat::DeployedServer or OS::Nova::Server/],
      ['config missing', { D: deploy({ config: 'Nope' }) }, /resources\.D\.properties\.config: no resource "Nope" in this stack/],
      ['unknown transport', { D: deploy({ signal_transport: 'PIGEON' }) }, /properties\.signal_transport: must be one of CFN_SIGNAL, TEMP_URL_SIGNAL, HEAT_SIGNAL, NO_SIGNAL, ZAQAR_SIGNAL/],
      ['unknown action', { D: deploy({ actions: ['CREATE', 'REBOOT'] }) }, /properties\.actions\[1\]: must be one of CREATE, UPDATE, DELETE, SUSPEND, RESUME/],
      ['no server', { D: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Script' } } }, /resources\.D\.properties\.server: is required/],
      ['a Number default that is none', { C: { type: 'OS::Heat::SoftwareConfig', properties: { inputs: [{ name: 'n', type: 'Number', default: 'many' }] } } }, /properties\.inputs\[0\]\.default: could not convert string to float: 'many' \(as a Number\)/],
      ['a property typo', { C: { type: 'OS::Heat::SoftwareConfig', properties: { script: 'x' } } }, /resources\.C\.properties\.script: unknown key/],
      ['a status for a deployment', { D: { ...deploy({}), status: 'CREATE_COMPLETE' } }, /resources\.D\.status: a deployment's status comes from its actions and signals/],
      ['properties elsewhere', { W: { type: 'AWS::EC2::Instance', properties: {} } }, /resources\.W\.properties: only allowed on OS::Heat::SoftwareConfig, OS::Heat::StructuredConfig, OS::Heat::SoftwareDeployment, OS::Heat::StructuredDeployment, OS::Heat::DeployedServer or OS::Nova::Server resources/],
      ['unknown config transport', { S: { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: 'POLL_PIGEON' } } }, /resources\.S\.properties\.software_config_transport: must be one of POLL_SERVER_CFN, POLL_SERVER_HEAT, POLL_TEMP_URL, ZAQAR_MESSAGE/],
    ];
    for (const [name, resources, message] of bad) {
      it(`names the key path: ${name}`, async () => {
        const stack = { name: 'bad', resources: { Server: { type: 'OS::Heat::DeployedServer' }, Script: { type: 'OS::Heat::SoftwareConfig' }, ...resources } } as StackSpec;
        await assert.rejects(startEmulator({ stacks: [stack] }), message);
      });
    }
  });
});
