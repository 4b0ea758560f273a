/**
 * The emulator's metadata transports (test/emulator/stacks/metadata-transports.yaml):
 * each server's os-collect-config block as Heat 19 fills it for its
 * software_config_transport, and what the agent then calls: keystone and
 * heat-api's resource metadata (POLL_SERVER_HEAT), the Swift temp URL Heat
 * PUTs the metadata to (POLL_TEMP_URL, conditional GETs), the Zaqar queue Heat
 * posts it to (ZAQAR_MESSAGE), and a ZAQAR_SIGNAL deployment's queue, whose
 * messages are its signals.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { REPO, send, type Answer } from './helpers';

const STACKS = path.join(REPO, 'test', 'emulator', 'stacks', 'metadata-transports.yaml');
const STACK = 'transports';
const CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c';

type Block = Record<string, unknown> & { collectors: string[] };

describe('emulator: metadata transports', () => {
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator({
      stacks: [
        STACKS,
        {
          name: 'zsignal',
          resources: {
            Server: { type: 'OS::Heat::DeployedServer' },
            Deploy: { type: 'OS::Heat::SoftwareDeployment', properties: { server: 'Server', signal_transport: 'ZAQAR_SIGNAL' } },
          },
        },
      ],
    });
  });
  after(() => emu.stop());
  beforeEach(() => emu.reset());

  const block = (server: string) => (emu.resource(STACK, server).metadata as { 'os-collect-config': Block })['os-collect-config'];
  const json = (a: Answer) => JSON.parse(a.text) as Record<string, unknown>;
  const token = async (section: Record<string, unknown>) => {
    const r = await send(`${section.auth_url as string}auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { id: section.user_id, password: section.password } } }, scope: { project: { id: section.project_id } } } }),
    });
    assert.equal(r.status, 201, r.text);
    const catalog = (json(r).token as { catalog: Array<{ type: string; endpoints: Array<{ url: string }> }> }).catalog;
    return { id: String(r.headers['x-subject-token']), endpoint: (type: string) => catalog.find((s) => s.type === type)!.endpoints[0]!.url };
  };

  it('each server\'s block names its collector, then local, with the section Heat fills (keys in Heat\'s order)', () => {
    assert.deepEqual(block('ViaCfn').collectors, ['cfn', 'local']);
    const heat = block('ViaHeat');
    assert.deepEqual(heat.collectors, ['heat', 'local']);
    const h = heat.heat as Record<string, string>;
    assert.deepEqual(Object.keys(h), ['user_id', 'password', 'auth_url', 'project_id', 'stack_id', 'resource_name', 'region_name']);
    assert.equal(h.auth_url, `${emu.url}/v3/`);
    assert.match(h.stack_id, /^transports\/[0-9a-f-]{36}$/);
    assert.equal(h.resource_name, 'ViaHeat');
    assert.equal(h.region_name, 'RegionOne');
    const swift = block('ViaSwift');
    assert.deepEqual(swift.collectors, ['request', 'local']);
    assert.match((swift.request as { metadata_url: string }).metadata_url, new RegExp(`^${emu.url}/swift/v1/AUTH_tenant0/transports-ViaSwift-[a-z0-9]+/[0-9a-f-]{36}\\?temp_url_sig=[0-9a-f]{64}&temp_url_expires=\\d+$`));
    const zaqar = block('ViaZaqar');
    assert.deepEqual(zaqar.collectors, ['zaqar', 'local']);
    assert.deepEqual(Object.keys(zaqar.zaqar as object), ['user_id', 'password', 'auth_url', 'project_id', 'queue_id', 'region_name']);
    assert.match((zaqar.zaqar as { queue_id: string }).queue_id, /^transports-ViaZaqar-[a-z0-9]+$/);
  });

  it('POLL_SERVER_HEAT: keystone, then heat-api\'s resource metadata with the token; no token 401, another project 403', async () => {
    const h = block('ViaHeat').heat as Record<string, string>;
    const t = await token(h);
    const url = `${t.endpoint('orchestration')}/stacks/${h.stack_id}/resources/${h.resource_name}/metadata`;
    const r = await send(url, { headers: { 'X-Auth-Token': t.id } });
    assert.equal(r.status, 200, r.text);
    const metadata = json(r).metadata as { deployments: Array<{ name: string }> };
    assert.deepEqual(metadata.deployments.map((d) => d.name), ['10_heat']);
    assert.deepEqual(metadata, emu.resource(STACK, 'ViaHeat').metadata);
    assert.equal(emu.requestLog.at(-1)?.signature, 'token');
    assert.equal((await send(url)).status, 401);
    assert.equal((await send(url.replace(`/v1/${h.project_id}/`, '/v1/other/'), { headers: { 'X-Auth-Token': t.id } })).status, 403);
    assert.equal((await send(url.replace('/ViaHeat/', '/Nothing/'), { headers: { 'X-Auth-Token': t.id } })).status, 404);
  });

  it('POLL_TEMP_URL: the GET temp URL serves the metadata Heat PUT; If-None-Match 304 until a change; HEAD; a bad signature 401', async () => {
    const url = (block('ViaSwift').request as { metadata_url: string }).metadata_url;
    const first = await send(url);
    assert.equal(first.status, 200, first.text);
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.ok(first.headers['last-modified']);
    assert.deepEqual((json(first).deployments as Array<{ name: string }>).map((d) => d.name), ['10_swift']);
    const again = await send(url, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal((await send(url, { headers: { 'If-Modified-Since': String(first.headers['last-modified']) } })).status, 304);
    const head = await send(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.etag, etag);
    emu.setMetadata(STACK, 'ViaSwift', { note: 'changed' });
    const changed = await send(url, { headers: { 'If-None-Match': etag } });
    assert.equal(changed.status, 200, 'Heat PUT the object again');
    assert.notEqual(changed.headers.etag, etag);
    assert.equal(json(changed).note, 'changed');
    assert.equal((await send(url.replace(/temp_url_sig=[0-9a-f]{4}/, 'temp_url_sig=0000'))).status, 401);
    assert.equal((await send(url, { method: 'PUT', body: '{}' })).status, 401, 'the GET signature does not allow a PUT');
  });

  it('ZAQAR_MESSAGE: Heat posted the metadata at create (no deployments yet) and with the deployment; a pop takes them; a change posts again', async () => {
    const z = block('ViaZaqar').zaqar as Record<string, string>;
    const t = await token(z);
    const messaging = t.endpoint('messaging');
    assert.equal(messaging, `${emu.url}/zaqar`);
    const messages = `${messaging}/v2/queues/${z.queue_id}/messages`;
    const headers = { 'X-Auth-Token': t.id, 'Client-ID': CLIENT_ID };
    const listed = await send(`${messages}?echo=true`, { headers });
    assert.equal(listed.status, 200, listed.text);
    assert.equal((json(listed).messages as unknown[]).length, 2, 'nothing taken by a listing');
    const popped = await send(`${messages}?pop=20`, { method: 'DELETE', headers });
    assert.equal(popped.status, 200, popped.text);
    const bodies = (json(popped).messages as Array<{ body: { deployments: Array<{ name: string }> }; ttl: number; age: number }>);
    assert.deepEqual(bodies.map((m) => m.body.deployments.map((d) => d.name)), [[], ['10_zaqar']]);
    assert.equal(bodies[0]!.ttl, 3600);
    assert.deepEqual(json(await send(`${messages}?pop=5`, { method: 'DELETE', headers })), { messages: [] });
    emu.setMetadata(STACK, 'ViaZaqar', { note: 'changed' });
    const after = json(await send(`${messaging}/v1.1/queues/${z.queue_id}/messages?pop=1`, { method: 'DELETE', headers })).messages as Array<{ body: { note: string } }>;
    assert.deepEqual(after.map((m) => m.body.note), ['changed'], 'v1.1 pops the same queue; the change posted the metadata again');
  });

  it('Zaqar refuses no token (401) and no Client-ID (400); posts, claims and deletes by claim as Zaqar does', async () => {
    const z = block('ViaZaqar').zaqar as Record<string, string>;
    const t = await token(z);
    const queue = `${t.endpoint('messaging')}/v2/queues/scratch`;
    assert.equal((await send(`${queue}/messages?pop=1`, { method: 'DELETE', headers: { 'Client-ID': CLIENT_ID } })).status, 401);
    const noClient = await send(`${queue}/messages?pop=1`, { method: 'DELETE', headers: { 'X-Auth-Token': t.id } });
    assert.equal(noClient.status, 400);
    assert.match(noClient.text, /Client-ID/);
    const headers = { 'X-Auth-Token': t.id, 'Client-ID': CLIENT_ID, 'Content-Type': 'application/json' };
    assert.equal((await send(`${queue}/messages`, { method: 'POST', headers, body: JSON.stringify([{ ttl: 60, body: 1 }]) })).status, 400, 'a bare list');
    assert.equal((await send(`${queue}/messages`, { method: 'POST', headers, body: JSON.stringify({ messages: [{ ttl: 10, body: 1 }] }) })).status, 400, 'a ttl under 60 s');
    const posted = await send(`${queue}/messages`, { method: 'POST', headers, body: JSON.stringify({ messages: [{ ttl: 600, body: { n: 1 } }, { ttl: 600, body: { n: 2 } }] }) });
    assert.equal(posted.status, 201, posted.text);
    assert.equal((json(posted).resources as string[]).length, 2);
    const claim = await send(`${queue}/claims?limit=1`, { method: 'POST', headers, body: JSON.stringify({ ttl: 60, grace: 60 }) });
    assert.equal(claim.status, 201, claim.text);
    const [claimed] = json(claim).messages as Array<{ href: string; body: unknown }>;
    assert.deepEqual(claimed!.body, { n: 1 });
    assert.match(claimed!.href, /^\/v2\/queues\/scratch\/messages\/\w+\?claim_id=\w+$/);
    assert.equal((await send(`${t.endpoint('messaging')}${claimed!.href.replace(/\?.*/, '')}`, { method: 'DELETE', headers })).status, 403, 'a claimed message needs its claim id');
    assert.equal((await send(`${t.endpoint('messaging')}${claimed!.href}`, { method: 'DELETE', headers })).status, 204);
    const rest = json(await send(`${queue}/messages?pop=20`, { method: 'DELETE', headers })).messages as Array<{ body: unknown }>;
    assert.deepEqual(rest.map((m) => m.body), [{ n: 2 }]);
    assert.equal((await send(`${queue}/claims`, { method: 'POST', headers, body: '{"ttl": 60, "grace": 60}' })).status, 204, 'nothing to claim');
  });

  it('ZAQAR_SIGNAL: a message the deployment\'s user posts to deploy_queue_id is its signal, taken as heat-engine pops it', async () => {
    const item = (emu.resource('zsignal', 'Server').metadata as { deployments: Array<{ inputs: Array<{ name: string; value: string }> }> }).deployments[0]!;
    const value = (name: string) => item.inputs.find((i) => i.name === name)!.value;
    const t = await token({ auth_url: value('deploy_auth_url'), user_id: value('deploy_user_id'), password: value('deploy_password'), project_id: value('deploy_project_id') });
    const r = await send(`${t.endpoint('messaging')}/v1.1/queues/${value('deploy_queue_id')}/messages`, {
      method: 'POST',
      headers: { 'X-Auth-Token': t.id, 'Client-ID': CLIENT_ID, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ ttl: 600, body: { deploy_stdout: 'done', deploy_stderr: '', deploy_status_code: 0 } }] }),
    });
    assert.equal(r.status, 201, r.text);
    const d = emu.deployment('zsignal', 'Deploy');
    assert.equal(d.status, 'CREATE_COMPLETE', d.statusReason);
    assert.deepEqual(d.signals.map((s) => s.via), ['ZAQAR_SIGNAL']);
    assert.equal(d.softwareDeployment?.output_values?.deploy_stdout, 'done');
  });
});
