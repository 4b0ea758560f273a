/**
 * AWS's default path: an instance with no keys and a role without
 * CloudFormation permissions, running a template written for
 * aws-cfn-bootstrap. The emulator in EC2 mode plays the metadata service
 * (identity document and signature) and a CloudFormation that checks
 * CFN_V1 and stack membership. AWS's LAMP walkthrough (corpus 062) is
 * applied by cfn-init on a machine that looks like Amazon Linux, the
 * instance signals its creation policy with cfn-signal, and cfn-hup sees a
 * stack update; an instance of another stack is refused.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { amazonLinux, namespaceUnavailable, type AmazonLinux } from '../cfn-init/support/amazon-linux';
import { CORPUS, rebased } from '../cfn-init/support/corpus';
import { runTool, toolEnv } from '../support/cli';

const STACK = 'lamp-walkthrough';
const RESOURCE = 'WebServerInstance';
const INSTANCE = 'i-0a1b2c3d4e5f60718';
const OUTSIDER = 'i-0ffffffffffffff01';
const LAMP = '062-awsdocs-deploying-applications-block8-WebServerInstance.json';
const INIT = 'AWS::CloudFormation::Init';

describe('AWS with no keys: CFN_V1 end to end (emulator in EC2 mode)', function () {
  this.timeout(120_000);
  let emu: Emulator;
  let dir: string;
  let machine: AmazonLinux;
  let lamp: ReturnType<typeof rebased> | undefined;

  const absent = !fs.existsSync(CORPUS) ? `${CORPUS} is absent` : namespaceUnavailable();

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-aws-nocreds-'));
    lamp = absent ? undefined : rebased(LAMP, path.join(dir, 'fs'));
    const metadata = lamp?.doc ?? { [INIT]: { config: { commands: { hello: { command: 'true' } } } } };
    emu = await startEmulator({
      ec2: { region: 'us-east-1', instanceId: INSTANCE, role: { name: 'NoCfnRole', scope: 'none' } },
      stacks: [
        { name: STACK, resources: { [RESOURCE]: { type: 'AWS::EC2::Instance', physicalId: INSTANCE, metadata, creationPolicy: { count: 1 } } } },
        { name: 'other-stack', resources: { Other: { type: 'AWS::EC2::Instance', physicalId: OUTSIDER, metadata: {} } } },
      ],
    });
    machine = amazonLinux(path.join(dir, 'machine'), { network: 'host' });
  });
  after(async () => {
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const imdsEnv = () => ({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsUrl! });
  const cfnRequests = () => emu.requestLog.filter((e) => e.service !== 'imds' && e.action);
  const tool = (name: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runTool(name, ['--log-file', path.join(dir, `${name}.log`), ...args], {
      env: toolEnv({ ...imdsEnv(), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), CFNTOOLS_STATE_DIR: path.join(dir, 'state'), CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), ...extra }),
    });
  const aws = ['--region', 'us-east-1'];

  it("cfn-init applies AWS's LAMP walkthrough, signing with the instance identity (the role is never asked for)", async function () {
    if (!lamp) {
      process.stdout.write(`      (skipped: ${absent})\n`);
      this.skip();
    }
    const r = await machine.cfnInit(['-v', '--stack', STACK, '--resource', RESOURCE, ...aws, '-c', 'InstallAndRun', '--url', emu.url], imdsEnv());
    assert.equal(r.status, 0, `${r.stderr}\n${fs.readFileSync(path.join(machine.root, 'cfn-init.log'), 'utf8')}`);
    assert.match(fs.readFileSync(lamp!.at('/var/www/html/index.php'), 'utf8'), /AWS CloudFormation PHP Sample/);
    assert.ok(machine.calls().some((c) => / install (\S+ )*httpd( |$)/.test(c)), machine.calls().join('\n'));
    const [describe] = cfnRequests();
    assert.equal(describe?.action, 'DescribeStackResource');
    assert.equal(describe?.signature, 'cfn-v1');
    assert.equal(describe?.instanceId, INSTANCE);
    assert.equal(describe?.status, 200);
    const asked = emu.requestLog.filter((e) => e.service === 'imds').map((e) => e.path);
    assert.ok(asked.includes('/latest/dynamic/instance-identity/document'), asked.join('\n'));
    assert.ok(!asked.some((p) => p.includes('iam/security-credentials')), `the role is never asked for:\n${asked.join('\n')}`);
  });

  it('cfn-signal signals the creation policy with the instance id as UniqueId', async () => {
    emu.clearRequestLog();
    const r = await tool('cfn-signal', ['-e', '0', '--stack', STACK, '--resource', RESOURCE, ...aws, '--url', emu.url]);
    assert.equal(r.status, 0, r.stderr);
    const [signal] = cfnRequests();
    assert.deepEqual([signal?.action, signal?.signature, signal?.instanceId, signal?.status], ['SignalResource', 'cfn-v1', INSTANCE, 200]);
    const view = emu.resource(STACK, RESOURCE);
    assert.equal(view.signals.length, 1);
    assert.equal(view.signals[0]!.uniqueId, INSTANCE);
    assert.equal(view.signals[0]!.status, 'SUCCESS');
    assert.equal(view.status, 'CREATE_COMPLETE');
  });

  it('cfn-hup with only stack= and region= sees a stack update and runs its hook', async () => {
    const etc = path.join(dir, 'etc-cfn');
    const out = path.join(dir, 'hook.out');
    fs.mkdirSync(path.join(etc, 'hooks.d'), { recursive: true });
    // No role= and no credential-file=: CFN_V1. (url= for the emulator; splay=0: no cron spread in a test.)
    fs.writeFileSync(path.join(etc, 'cfn-hup.conf'), `[main]\nstack=${STACK}\nregion=us-east-1\nurl=${emu.url}\nsplay=0\n`);
    fs.writeFileSync(
      path.join(etc, 'hooks.d', 'cfn-auto-reloader.conf'),
      `[cfn-auto-reloader-hook]\ntriggers=post.update\npath=Resources.${RESOURCE}.Metadata.${INIT}\naction=echo reloaded >> ${out}\nrunas=root\n`,
    );
    const hup = () => tool('cfn-hup', ['--no-daemon', '-c', etc], { CFNTOOLS_CFN_DIR: etc, CFNTOOLS_HUP_STATE_DIR: path.join(dir, 'hup-state') });
    let r = await hup();
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(out), 'nothing changed yet');

    const meta = structuredClone(emu.resource(STACK, RESOURCE).metadata) as Record<string, Record<string, unknown>>;
    meta[INIT]!.updated = { commands: { again: { command: 'true' } } };
    emu.setMetadata(STACK, RESOURCE, meta);
    emu.clearRequestLog();
    r = await hup();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(out, 'utf8'), 'reloaded\n');
    assert.ok(cfnRequests().every((e) => e.signature === 'cfn-v1' && e.status === 200), JSON.stringify(cfnRequests()));
  });

  it('an instance of another stack is refused: one line with AccessDenied, exit 1', async () => {
    emu.setEc2({ instanceId: OUTSIDER });
    try {
      for (const [name, args] of [
        ['cfn-signal', ['-e', '0', '--stack', STACK, '--resource', RESOURCE]],
        ['cfn-get-metadata', ['-s', STACK, '-r', RESOURCE]],
      ] as const) {
        const r = await tool(name, [...args, ...aws, '--url', emu.url]);
        assert.equal(r.status, 1, `${name}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`AccessDenied.*Instance ${OUTSIDER} is not allowed`));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
    } finally {
      emu.setEc2({ instanceId: INSTANCE });
    }
  });

  it('off EC2 (no metadata service) with no keys: one line saying what was tried, exit 1', async () => {
    const r = await tool('cfn-get-metadata', ['-s', STACK, '-r', RESOURCE, ...aws, '--url', emu.url], { AWS_EC2_METADATA_DISABLED: 'true' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /no credentials found; tried: --access-key\/--secret-key \(not given\); credential file \(not given\); AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY \(not set\); instance identity document \(the instance metadata service is disabled/);
  });
});
