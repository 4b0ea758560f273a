/**
 * Memory stays bounded below the size caps, measured as the peak resident
 * memory of the tools run from bin/ (support/peak-rss.ts): a metadata
 * answer of a wide array (millions of items) is parsed once and walked
 * without a copy per item (depth check, hashing, comparison, Python
 * rendering); a command that prints hundreds of MB keeps its start and its
 * end in Buffers and says what it dropped; a deployment's result that is
 * larger than any transport takes is trimmed to it and reaches Heat once.
 * The ceilings are several times what the tools use and a fraction of what
 * they used before (a 5 MB answer cost 676 MB; 20 MB was killed at 3 GB;
 * 100 MB of output cost 576 MB; 600 MB crashed cfn-init).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { toolEnv } from '../support/cli';
import { removePeakHook, runMeasured } from '../support/peak-rss';
import { startServer, type TestServer } from '../support/server';

const KEY = { accessKey: 'AKIDMEMORY000000000000000000001', secretKey: 'memory-secret/key' };
const INIT = 'AWS::CloudFormation::Init';
/** Items of a wide array whose JSON takes about 5 MB (`1,` each) and 20 MB. */
const WIDE_5MB = 2_500_000;
const WIDE_20MB = 10_000_000;
/** What a command prints: far past any bound, far below the disk. */
const PRINTED_MB = 200;
const printCommand = (mb: number) => `yes 0123456789abcdef | head -c ${mb * 1_000_000}`;

describe('memory below the size caps (peak RSS of bin/*)', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => undefined);
  after(() => removePeakHook());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-memory-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = (...parts: string[]) => path.join(dir, ...parts);
  const within = (r: { status: number | null; stderr: string; peakMiB: number }, ceilingMiB: number, what: string) => {
    assert.equal(r.status, 0, `${what}: ${r.stderr.slice(-2000)}`);
    assert.ok(r.peakMiB < ceilingMiB, `${what}: peak RSS ${r.peakMiB.toFixed(0)} MiB, the ceiling is ${ceilingMiB} MiB`);
  };

  describe('a metadata answer of a wide array (cfn-init, cfn-get-metadata and cfn-hup share the path)', () => {
    let emulator: Emulator;
    const wide = (n: number) => ({ [INIT]: { config: { commands: { a: { command: 'true' } } } }, wide: new Array(n).fill(1) });
    before(async () => {
      emulator = await startEmulator({
        stacks: [
          {
            name: 'mem',
            resources: { Five: { type: 'AWS::EC2::Instance', physicalId: 'five-1', metadata: wide(WIDE_5MB) }, Twenty: { type: 'AWS::EC2::Instance', physicalId: 'twenty-1', metadata: wide(WIDE_20MB) } },
            credentials: [KEY],
          },
        ],
      });
    });
    after(() => emulator?.stop());
    const env = () => toolEnv({ CFNTOOLS_STATE_DIR: p('state'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_HEAT_DIR: p('heat'), CFNTOOLS_HUP_STATE_DIR: p('hup'), CFNTOOLS_CFN_DIR: p('etc') });
    const keys = () => ['-u', emulator.apiUrl, '--access-key', KEY.accessKey, '--secret-key', KEY.secretKey];

    it('cfn-init: 5 MB under 300 MiB, 20 MB under 700 MiB', async () => {
      within(await runMeasured('cfn-init', ['-s', 'mem', '-r', 'Five', ...keys(), '--log-file', p('init.log')], env()), 300, 'cfn-init, 5 MB');
      within(await runMeasured('cfn-init', ['-s', 'mem', '-r', 'Twenty', ...keys(), '--log-file', p('init.log')], env()), 700, 'cfn-init, 20 MB');
    });

    it('cfn-get-metadata: 5 MB under 300 MiB', async () => {
      const r = await runMeasured('cfn-get-metadata', ['-s', 'mem', '-r', 'Five', ...keys(), '-k', 'wide'], env());
      within(r, 300, 'cfn-get-metadata');
      assert.equal(r.stdout.length, WIDE_5MB * 3 - 2 + 2 + 1, 'the whole list printed, as json.dumps writes it');
    });

    it('cfn-hup: a hook watching 5 MB of metadata, checked twice (first seen, then compared), under 300 MiB', async () => {
      fs.mkdirSync(p('etc', 'hooks.d'), { recursive: true });
      fs.writeFileSync(p('etc', 'cfn-hup.conf'), `[main]\nstack=mem\nurl=${emulator.apiUrl}\ninterval=60\nsplay=0\n`, { mode: 0o600 });
      fs.writeFileSync(p('etc', 'creds'), `AWSAccessKeyId=${KEY.accessKey}\nAWSSecretKey=${KEY.secretKey}\n`, { mode: 0o600 });
      fs.appendFileSync(p('etc', 'cfn-hup.conf'), `credential-file=${p('etc', 'creds')}\n`);
      fs.writeFileSync(p('etc', 'hooks.d', 'h'), `[h]\ntriggers=post.add,post.update\npath=Resources.Five.Metadata\naction=echo "$CFN_NEW_METADATA" | head -c 10 >> ${p('fired')}\n`, { mode: 0o600 });
      for (let i = 0; i < 2; i++) within(await runMeasured('cfn-hup', ['--no-daemon', '--log-file', p('hup.log')], env()), 300, `cfn-hup, check ${i + 1}: ${fs.existsSync(p('hup.log')) ? fs.readFileSync(p('hup.log'), 'utf8').slice(-1500) : ''}`);
      assert.match(fs.readFileSync(p('hup.log'), 'utf8'), /CFN_NEW_METADATA not set: the value is longer than the 102400 characters passed/);
    });
  });

  describe('heat-agent (local collector)', () => {
    let signals: TestServer;
    before(async () => {
      signals = await startServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
      });
    });
    after(() => signals?.close());
    beforeEach(() => {
      signals.requests.length = 0;
      for (const d of ['local', 'hooks', 'state', 'heat', 'out']) fs.mkdirSync(p(d), { mode: 0o700 });
      fs.writeFileSync(p('occ.conf'), `[DEFAULT]\ncollectors = local\n\n[local]\npath = ${p('local')}\n`, { mode: 0o600 });
    });
    const env = () => toolEnv({ CFNTOOLS_HEAT_AGENT_DIR: p('state'), CFNTOOLS_HEAT_DIR: p('heat'), CFNTOOLS_HEAT_CONFIG_DIR: p('heat-config'), CFNTOOLS_STATE_DIR: p('cfn-init'), CFNTOOLS_CACHE_DIR: p('cache'), OS_REFRESH_CONFIG_BASE_DIR: p('orc') });
    const agent = () => runMeasured('heat-agent', ['--one-time', '--config', p('occ.conf'), '--hooks-dir', p('hooks'), '--log-file', p('agent.log')], env());
    const metadata = (md: unknown) => fs.writeFileSync(p('local', 'md.json'), JSON.stringify(md), { mode: 0o600 });
    const noSignal = [{ name: 'deploy_signal_transport', value: 'NO_SIGNAL' }];

    it('5 MB of metadata beside the deployments, and as a String input (heat-config passes str() of it): under 300 MiB', async () => {
      const wide = new Array(WIDE_5MB).fill(1);
      metadata({ wide, deployments: [{ id: 'd1', name: 'one', group: 'script', config: `#!/bin/sh\necho ran >> ${p('out', 'one')}\n`, inputs: noSignal }] });
      within(await agent(), 300, 'wide metadata');
      metadata({ deployments: [{ id: 'd2', name: 'two', group: 'script', config: `#!/bin/sh\necho ran >> ${p('out', 'two')}\n`, inputs: [...noSignal, { name: 'big', type: 'String', value: wide }] }] });
      const r = await agent();
      assert.ok(r.peakMiB < 300, `a wide String input: peak RSS ${r.peakMiB.toFixed(0)} MiB`);
    });

    it(`a cfn-init group whose commands print ${PRINTED_MB} MB each: under 350 MiB, its stdout the start and the end`, async () => {
      metadata({ deployments: [{ id: 'd1', name: 'init', group: 'cfn-init', config: { config: { commands: { a: { command: printCommand(PRINTED_MB) }, b: { command: printCommand(PRINTED_MB) } } } }, inputs: [{ name: 'deploy_signal_transport', value: 'CFN_SIGNAL' }, { name: 'deploy_signal_id', value: `${signals.url}/signal` }] }] });
      within(await agent(), 350, 'cfn-init group');
      assert.equal(signals.requests.length, 1);
      const body = JSON.parse(signals.requests[0].body.toString()) as { deploy_stdout: string; deploy_status_code: number };
      assert.equal(body.deploy_status_code, 0);
      assert.match(body.deploy_stdout, /\n\[\d+ bytes of output dropped\]\n/);
      assert.ok(signals.requests[0].body.length <= 950_000);
    });

    it('a script output of 5 MB reaches Heat once, trimmed to its limit, status kept (it was signalled again at every check)', async () => {
      const config = `#!/bin/sh\nyes x | tr -d '\\n' | head -c 5000000 > "$heat_outputs_path.result"\necho done\n`;
      metadata({ deployments: [{ id: 'd1', name: 'big', group: 'script', config, outputs: [{ name: 'result' }], inputs: [{ name: 'deploy_signal_transport', value: 'CFN_SIGNAL' }, { name: 'deploy_signal_id', value: `${signals.url}/signal` }] }] });
      for (let i = 0; i < 2; i++) within(await agent(), 300, `check ${i + 1}`);
      assert.equal(signals.requests.length, 1, 'signalled once, accepted, not again');
      assert.ok(signals.requests[0].body.length <= 950_000, String(signals.requests[0].body.length));
      const body = JSON.parse(signals.requests[0].body.toString()) as { result: string; deploy_status_code: number; deploy_stdout: string };
      assert.equal(body.deploy_status_code, 0);
      assert.equal(body.deploy_stdout, 'done\n');
      assert.ok(/^x{500000,}\n\[\d+ characters trimmed to fit Heat's limit\]$/.test(body.result), body.result.slice(-200));
    });
  });

  it('cfn-init: a document of a million mistakes is refused saying the first 100 and counting the rest, under 300 MiB', async () => {
    fs.writeFileSync(p('md.json'), JSON.stringify({ [INIT]: { config: { users: { u: { groups: new Array(1_000_000).fill('no-such-group') } } } } }));
    const r = await runMeasured('cfn-init', [p('md.json'), '--dry-run', '--log-file', p('init.log')], toolEnv({ CFNTOOLS_STATE_DIR: p('state'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_HEAT_DIR: p('heat') }));
    assert.equal(r.status, 1);
    assert.ok(r.peakMiB < 300, `peak RSS ${r.peakMiB.toFixed(0)} MiB`);
    assert.match(r.stderr, /1000000 problems in AWS::CloudFormation::Init:\n/);
    assert.match(r.stderr, /\n {2}\.\.\. and 999900 more problems, not listed/);
    assert.ok(r.stderr.length < 64 * 1024, `${r.stderr.length} characters on stderr`);
  });

  it(`cfn-init: a command printing ${PRINTED_MB} MB, under 300 MiB; the command log keeps its start and end and says what it dropped`, async () => {
    fs.writeFileSync(p('md.json'), JSON.stringify({ [INIT]: { config: { commands: { big: { command: printCommand(PRINTED_MB) } } } } }));
    const r = await runMeasured('cfn-init', [p('md.json'), '--log-file', p('init.log')], toolEnv({ CFNTOOLS_STATE_DIR: p('state'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_HEAT_DIR: p('heat') }));
    within(r, 300, 'cfn-init');
    const log = fs.readFileSync(p('cfn-init-cmd.log'), 'utf8');
    assert.match(log, /\t\[\d+ bytes of output dropped\]\n/);
    assert.ok(log.length < 16 * 1024 * 1024, `${log.length} characters of command log`);
  });
});
