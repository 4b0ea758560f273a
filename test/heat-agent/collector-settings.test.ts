/**
 * Which collectors heat-agent runs and with what: os-collect-config's file
 * (every `collectors` line counts), Heat's block in the metadata laid over
 * it (blanked keys unset, rotated keys taken), Heat's boot data when there
 * is no file, and the user data part Heat puts that boot data in.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockFromIni, blockFromMetadata, mergeBlocks, resolveCollectors } from '../../agents/heat-agent/collectors/settings';
import { effectiveCollectors, NoSourceError, readSource } from '../../agents/heat-agent/config';
import { userDataPart } from '../../agents/heat-agent/user-data';
import { IniFile } from '../../shared/ini-file';

const HEAT_USER_DATA = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'heat-wire', 'heat-userdata-mime-HEAT_CFNTOOLS.txt');
const HEAT = { auth_url: 'http://127.0.0.1:5000/v3/', user_id: 'u1', password: 'Pa55-word', project_id: 'p1', stack_id: 's/1', resource_name: 'server', region_name: 'RegionOne' };

/** The file heat-agents' os-apply-config template renders from a block. */
function rendered(collector: string, section: Record<string, string>): string {
  return `[DEFAULT]\ncommand = os-refresh-config\ncollectors = ${collector}\ncollectors = local\n\n[${collector}]\n${Object.entries(section).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

describe('heat-agent: choosing the collectors', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-occ-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = () => ({ CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), CFNTOOLS_OCC_LOCAL_DATA_DIR: path.join(dir, 'local') });

  it('the file as os-apply-config renders it: `collectors = heat` and `collectors = local` both count, in order', () => {
    const file = path.join(dir, 'occ.conf');
    fs.writeFileSync(file, rendered('heat', HEAT));
    const e = effectiveCollectors(readSource({ config: file }, env()), undefined);
    assert.deepEqual(e.collectors, [
      { name: 'heat', keystone: { authUrl: HEAT.auth_url, userId: 'u1', password: 'Pa55-word', projectId: 'p1', regionName: 'RegionOne' }, stackId: 's/1', resourceName: 'server' },
      { name: 'local', paths: [path.join(dir, 'local')] },
    ]);
    assert.equal(e.intervalMs, 30_000);
  });

  it("oslo's list form, dashes in key names, repeated `[local] path`; no `collectors`: os-collect-config's default order, unconfigured ones said", () => {
    const ini = (text: string) => blockFromIni(new IniFile(text, 'f', { repeatedKeys: 'last', interpolation: false }));
    assert.deepEqual(ini('[DEFAULT]\ncollectors = request, local\n[request]\nmetadata-url = http://x/o\n').collectors, ['request', 'local']);
    assert.deepEqual(ini('[DEFAULT]\ncollectors = request, local\n[request]\nmetadata-url = http://x/o\n').sections.request, { metadata_url: 'http://x/o' });
    const block = ini('[local]\npath = /a\npath = /b\n[zaqar]\nauth_url = http://k/v3\n');
    const r = resolveCollectors(block, 'f', '/default');
    assert.deepEqual(r.collectors, [{ name: 'local', paths: ['/a', '/b'] }]);
    assert.deepEqual(r.notes, ['collector cfn not configured (no stack_name, path)', 'collector heat not configured (no auth_url, user_id, password, project_id, stack_id, resource_name)', 'collector request not configured (no metadata_url)', 'collector zaqar not configured (no user_id, password, project_id, queue_id)']);
    assert.throws(() => resolveCollectors({ collectors: ['cfn', 'pigeon'], sections: {} }, 'f', '/d'), /f: collectors: unknown collector "pigeon"/);
    // Heat's boot data is the metadata's: a 2 MB name is not quoted whole.
    assert.throws(
      () => resolveCollectors({ collectors: ['z'.repeat(2_000_000)], sections: {} }, 'f', '/d'),
      (err: Error) => /unknown collector "z{80}"; heat-agent has/.test(err.message) && err.message.length < 500,
    );
  });

  it("the metadata's block laid over the file: its list and keys win, Heat's blanked keys are unset, a rotated password is taken", () => {
    const file = path.join(dir, 'occ.conf');
    fs.writeFileSync(file, rendered('cfn', { metadata_url: 'http://127.0.0.1:8000/v1/', stack_name: 'st', access_key_id: 'AK', secret_access_key: 'SK', path: 'server.Metadata' }));
    const source = readSource({ config: file }, env());
    // Heat moved the server to POLL_SERVER_HEAT: the cfn section blanked, a heat section, the list changed.
    const moved = blockFromMetadata({ 'os-collect-config': { collectors: ['heat', 'local'], cfn: { metadata_url: null, access_key_id: null, secret_access_key: null, stack_name: null, path: null }, heat: HEAT } })!;
    assert.deepEqual(effectiveCollectors(source, moved).collectors.map((c) => c.name), ['heat', 'local']);
    const merged = mergeBlocks(blockFromIni(new IniFile(fs.readFileSync(file, 'utf8'), file, { repeatedKeys: 'last' })), moved);
    assert.equal(merged.sections.cfn?.access_key_id, null);
    const rotated = blockFromMetadata({ 'os-collect-config': { heat: { ...HEAT, password: 'New-Pa55' } } })!;
    const heat = effectiveCollectors({ ...source, base: moved }, rotated).collectors[0]!;
    assert.ok(heat.name === 'heat' && heat.keystone.password === 'New-Pa55');
    // A block that names a collector heat-agent does not know is passed over, never fatal.
    const odd = effectiveCollectors(source, { collectors: ['pigeon'], sections: {} });
    assert.deepEqual(odd.collectors.map((c) => c.name), ['cfn', 'local']);
    assert.match(odd.notes[0]!, /the metadata's os-collect-config block is passed over: .*unknown collector "pigeon"/);
  });

  it('--stack/--resource: the cfn collector of that resource; the metadata gives it keys, never another collector', () => {
    const source = readSource({ stack: 'st', resource: 'srv', url: 'http://x/v1/' }, env());
    const block = blockFromMetadata({ 'os-collect-config': { collectors: ['heat', 'local'], heat: HEAT, cfn: { access_key_id: 'AK2', secret_access_key: 'SK2' } } });
    assert.deepEqual(effectiveCollectors(source, block).collectors, [{ name: 'cfn', metadataUrl: 'http://x/v1/', stackName: 'st', resource: 'srv', subPath: [], accessKeyId: 'AK2', secretAccessKey: 'SK2' }]);
  });

  it("no file: the block of Heat's cfn-init-data; a file without any of Heat's collectors is completed from it; neither is a NoSourceError", () => {
    const heatDir = path.join(dir, 'heat');
    fs.mkdirSync(heatDir);
    const missing = { CFNTOOLS_OCC_CONFIG: path.join(dir, 'none.conf'), ...env() };
    assert.throws(() => readSource({}, missing), (err: Error) => err instanceof NoSourceError && /no .*none\.conf, and no os-collect-config block in .*cfn-init-data/.test(err.message));
    fs.writeFileSync(path.join(heatDir, 'cfn-init-data'), JSON.stringify({ deployments: [], 'os-collect-config': { collectors: ['heat', 'local'], heat: HEAT } }));
    const boot = readSource({}, missing);
    assert.equal(boot.from, path.join(heatDir, 'cfn-init-data'));
    assert.deepEqual(effectiveCollectors(boot, undefined).collectors.map((c) => c.name), ['heat', 'local']);
    // --config names a file that must exist.
    assert.throws(() => readSource({ config: path.join(dir, 'none.conf') }, env()), /none\.conf: cannot read \(ENOENT\)/);
    // What some image builds leave: a bare [DEFAULT] for os-apply-config to fill from heat_local.
    const bare = path.join(dir, 'bare.conf');
    fs.writeFileSync(bare, '[DEFAULT]\ncommand = os-refresh-config\n');
    const completed = readSource({ config: bare }, env());
    assert.equal(completed.from, `${bare} and ${path.join(heatDir, 'cfn-init-data')}`);
    assert.deepEqual(effectiveCollectors(completed, undefined).collectors.map((c) => c.name), ['heat', 'local']);
  });

  it('CFNTOOLS_AGENT_INTERVAL_MS (benchmarks) wins over --interval and the file, and is bounded as cfn-hup\'s', () => {
    const file = path.join(dir, 'occ.conf');
    fs.writeFileSync(file, `${rendered('heat', HEAT)}\n[DEFAULT]\npolling_interval = 10\n`);
    assert.equal(effectiveCollectors(readSource({ config: file, interval: 5 }, env()), undefined).intervalMs, 5000);
    assert.equal(effectiveCollectors(readSource({ config: file, interval: 5 }, { ...env(), CFNTOOLS_AGENT_INTERVAL_MS: '50' }), undefined).intervalMs, 50);
    assert.equal(effectiveCollectors(readSource({ stack: 'st', resource: 'srv' }, { ...env(), CFNTOOLS_AGENT_INTERVAL_MS: '50' }), undefined).intervalMs, 50);
    assert.throws(() => readSource({ config: file }, { ...env(), CFNTOOLS_AGENT_INTERVAL_MS: '0.5' }), /^ConfigError: CFNTOOLS_AGENT_INTERVAL_MS: expected milliseconds from 1 to 86400000, got "0\.5"$/);
  });
});

describe('heat-agent: the cfn-init-data part of the user data Heat builds', () => {
  it("Heat's own MIME message (HEAT_CFNTOOLS): the part by its file name, as the part handler writes it", () => {
    const text = fs.readFileSync(HEAT_USER_DATA, 'utf8');
    assert.deepEqual(JSON.parse(userDataPart(text, 'cfn-init-data')!), { 'AWS::CloudFormation::Init': { config: { files: { '/tmp/f': { content: 'x' } } } } });
    assert.equal(userDataPart(text, 'cfn-metadata-server'), 'http://192.0.2.10:8000/v1/');
    assert.equal(userDataPart(text, 'no-such-part'), undefined);
    assert.equal(userDataPart('#!/bin/sh\necho plain user data\n', 'cfn-init-data'), undefined);
  });

  it('a base64 part (utf-8 text), a folded header and a part nested in a multipart part', () => {
    const json = JSON.stringify({ 'os-collect-config': { collectors: ['zaqar', 'local'], note: 'é' } });
    const b64 = Buffer.from(json).toString('base64').replace(/(.{76})/g, '$1\n');
    const text = [
      'Content-Type: multipart/mixed; boundary="outer"',
      'MIME-Version: 1.0',
      '',
      '--outer',
      'Content-Type: multipart/mixed;',
      ' boundary=inner',
      '',
      '--inner',
      'Content-Type: text/x-cfninitdata; charset="utf-8"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment;',
      '\tfilename="cfn-init-data"',
      '',
      b64,
      '--inner--',
      '--outer--',
      '',
    ].join('\n');
    assert.deepEqual(JSON.parse(userDataPart(text, 'cfn-init-data')!), JSON.parse(json));
  });
});
