/**
 * What the fuzzed tools talk to: the endpoint emulator behind an answer
 * proxy (it hands out the proxy's URL in everything it serves: catalogs,
 * signal URLs, temp URLs, os-collect-config blocks, so every answer of
 * every route passes the proxy), and a fake instance metadata service
 * behind a second one. One stack holds what each tool reads: an instance
 * with Init metadata and a creation policy, a wait-condition handle, a
 * server per metadata transport with deployments over every signal
 * transport, and a bare instance whose metadata a case sets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../../emulator/server';
import { startFakeImds, type FakeImds } from '../../support/imds-server';
import { startAnswerProxy, type AnswerProxy } from './answer-proxy';

export const STACK = 'fuzzstack';
export const KEY = { accessKey: 'AKIDFUZZ000000000000000000000001', secretKey: 'fuzz-Secret/Key+1=' };
export const ROLE = 'fuzz-role';
/** The role's temporary keys: a stack user's with a session token. */
export const ROLE_KEY = { accessKey: 'ASIAFUZZROLE0000000000000000001', secretKey: 'fuzz-Role/Secret+2=', sessionToken: 'fuzz-session-token/with+chars=' };
export const INSTANCE_ID = 'i-0f0e0d0c0b0a09080';

/** Init metadata with effects only under `root` (cfn-init runs it dry, cfn-hup hooks read it). */
export function initMetadata(): Record<string, unknown> {
  return {
    'AWS::CloudFormation::Init': {
      configSets: { default: ['config'] },
      config: { files: { '/tmp/cfntools-fuzz-never/app.conf': { content: 'a = 1\n', mode: '000644' } }, commands: { '01': { command: 'true' } } },
    },
    app: { version: 1, ports: [80, 443], name: 'web' },
  };
}

const SCRIPT = '#!/bin/sh\necho "hello $greeting"\necho "$greeting!" > "$heat_outputs_path.result"\n';

function deployment(config: string, server: string, transport: string, name: string) {
  return { type: 'OS::Heat::SoftwareDeployment', properties: { config, server, input_values: { greeting: name }, signal_transport: transport, name } };
}

/** Metadata transport → the server that uses it. */
export const SERVERS = { cfn: 'ViaCfn', heat: 'ViaHeat', request: 'ViaSwift', zaqar: 'ViaZaqar' } as const;

function stackSpec() {
  return {
    name: STACK,
    resources: {
      Web: { type: 'AWS::EC2::Instance', physicalId: 'i-web-fuzz', metadata: initMetadata(), creationPolicy: { count: 1000 } },
      Handle: { type: 'AWS::CloudFormation::WaitConditionHandle' },
      Wait: { type: 'AWS::CloudFormation::WaitCondition', handle: 'Handle', count: 1000 },
      Free: { type: 'AWS::EC2::Instance', physicalId: 'i-free-fuzz', metadata: {} },
      ViaCfn: { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: 'POLL_SERVER_CFN' } },
      ViaHeat: { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: 'POLL_SERVER_HEAT' } },
      ViaSwift: { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: 'POLL_TEMP_URL' } },
      ViaZaqar: { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: 'ZAQAR_MESSAGE' } },
      Script: {
        type: 'OS::Heat::SoftwareConfig',
        properties: { group: 'script', config: SCRIPT, inputs: [{ name: 'greeting', default: 'world' }], outputs: [{ name: 'result' }, { name: 'failure', error_output: true }] },
      },
      Init: { type: 'OS::Heat::StructuredConfig', properties: { group: 'cfn-init', config: { config: { commands: { '01': { command: 'echo init' } } } } } },
      DCfn: deployment('Script', 'ViaCfn', 'CFN_SIGNAL', '10_cfn'),
      DTemp: deployment('Script', 'ViaCfn', 'TEMP_URL_SIGNAL', '20_temp'),
      DHeat: deployment('Script', 'ViaCfn', 'HEAT_SIGNAL', '30_heat'),
      DZaqar: deployment('Script', 'ViaCfn', 'ZAQAR_SIGNAL', '40_zaqar'),
      DInit: deployment('Init', 'ViaCfn', 'NO_SIGNAL', '50_init'),
      DH: deployment('Script', 'ViaHeat', 'HEAT_SIGNAL', '10_h'),
      DS: deployment('Script', 'ViaSwift', 'TEMP_URL_SIGNAL', '10_s'),
      DZ: deployment('Script', 'ViaZaqar', 'ZAQAR_SIGNAL', '10_z'),
    },
    credentials: [KEY, ROLE_KEY],
  };
}

export interface World {
  emulator: Emulator;
  /** In front of the emulator: the URL every tool is given. */
  api: AnswerProxy;
  imds: FakeImds;
  /** In front of the metadata service: AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  imdsProxy: AnswerProxy;
  /** Back to the stack as written, no rewrite, the metadata service as at the start. */
  reset(): void;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const api = await startAnswerProxy();
  const emulator = await startEmulator({ stacks: [stackSpec() as never], publicUrl: api.url });
  api.target = `http://127.0.0.1:${emulator.port}`;
  const imdsPaths = (): FakeImds['config']['paths'] => ({
    '/latest/meta-data/instance-id': INSTANCE_ID,
    '/latest/meta-data/instance-type': 'm5.large',
    '/latest/meta-data/ami-id': 'ami-0123456789abcdef0',
    '/openstack/latest/meta_data.json': { uuid: '5d1f3c1e-0000-4000-8000-00000000f022', name: 'fuzz', meta: { 'metering.stack': 'x' } },
    '/latest/dynamic/instance-identity/document': { instanceId: INSTANCE_ID, region: 'us-east-1', accountId: '123456789012', availabilityZone: 'us-east-1a' },
    '/latest/dynamic/instance-identity/signature': 'c2lnbmF0dXJl'.repeat(20),
    '/openstack/latest/user_data': '#cloud-config\n{}\n',
  });
  const roles = () => ({ [ROLE]: { Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: ROLE_KEY.accessKey, SecretAccessKey: ROLE_KEY.secretKey, Token: ROLE_KEY.sessionToken, Expiration: '2099-01-01T00:00:00Z', LastUpdated: '2026-01-01T00:00:00Z' } });
  const imds = await startFakeImds({ paths: imdsPaths(), roles: roles() });
  const imdsProxy = await startAnswerProxy(imds.url);
  return {
    emulator,
    api,
    imds,
    imdsProxy,
    reset() {
      emulator.reset();
      api.rewrite = undefined;
      imdsProxy.rewrite = undefined;
      api.seen.length = 0;
      imdsProxy.seen.length = 0;
      imds.config.paths = imdsPaths();
      imds.config.roles = roles();
    },
    async close() {
      await api.close();
      await imdsProxy.close();
      await imds.close();
      await emulator.stop();
    },
  };
}

/** A fresh directory for one case, every tool's state, cache and logs inside it. */
export function caseDir(base: string, name: string): string {
  const dir = path.join(base, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}
