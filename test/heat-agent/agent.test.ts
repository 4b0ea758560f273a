/**
 * heat-agent as an image runs it: the server's metadata from the emulator
 * (signed DescribeStackResource), deployments run for real (scripts, a
 * heat-config hook, our cfn-init), signals to a loopback endpoint that
 * records them (and fails when told to).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { startEmulator, type Emulator } from '../emulator/server';
import { BUNDLE, runTool, toolEnv, type RunResult } from '../support/cli';
import { startServer, type TestServer } from '../support/server';

const STACK = 'agentstack';
const KEY = { accessKey: 'AKIDAGENT000000000000000000000001', secretKey: 'agent-secret/key' };
const ROTATED = { accessKey: 'AKIDAGENT000000000000000000000002', secretKey: 'rotated%%secret' };

describe('heat-agent against the emulator', function () {
  this.timeout(60_000);
  let emulator: Emulator;
  let signals: TestServer;
  let failNext = 0;
  let dir: string;

  before(async () => {
    emulator = await startEmulator({
      stacks: [{ name: STACK, resources: { Server: { type: 'OS::Heat::DeployedServer', physicalId: 'srv-1', metadata: {} } }, credentials: [KEY, ROTATED] }],
    });
    signals = await startServer((_req, res) => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503);
        res.end('try later');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  after(async () => {
    await emulator?.stop();
    await signals?.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-agent-'));
    fs.mkdirSync(path.join(dir, 'hooks'));
    fs.mkdirSync(path.join(dir, 'out'));
    signals.requests.length = 0;
    failNext = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const conf = () => {
    const file = path.join(dir, 'os-collect-config.conf');
    fs.writeFileSync(file, `[DEFAULT]\ncollectors = cfn\npolling_interval = 1\n\n[cfn]\nmetadata_url = ${emulator.apiUrl}\nstack_name = ${STACK}\naccess_key_id = ${KEY.accessKey}\nsecret_access_key = ${KEY.secretKey}\npath = Server.Metadata\n`, { mode: 0o600 });
    return file;
  };
  const run = (extra: string[] = []): Promise<RunResult> =>
    runTool('heat-agent', ['--config', conf(), '--one-time', '--hooks-dir', path.join(dir, 'hooks'), '--log-file', path.join(dir, 'heat-agent.log'), '-v', ...extra], {
      env: toolEnv({ CFNTOOLS_HEAT_AGENT_DIR: path.join(dir, 'state'), CFNTOOLS_HEAT_CONFIG_DIR: path.join(dir, 'heat-config'), CFNTOOLS_STATE_DIR: path.join(dir, 'cfn-init-state'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), OS_REFRESH_CONFIG_BASE_DIR: path.join(dir, 'orc'), HEAT_SHELL_CONFIG: path.join(dir, 'heat-shell-config') }),
    });
  const log = () => fs.readFileSync(path.join(dir, 'heat-agent.log'), 'utf8');
  const bodies = () => signals.requests.map((r) => ({ method: r.method, url: r.url, type: r.headers['content-type'], body: JSON.parse(r.body.toString()) as Record<string, unknown> }));
  const runs = (name: string) => (fs.existsSync(path.join(dir, 'out', name)) ? fs.readFileSync(path.join(dir, 'out', name), 'utf8').split('\n').filter(Boolean).length : 0);

  function deployment(id: string, over: Record<string, unknown> = {}) {
    return {
      id,
      name: `dep-${id}`,
      group: 'script',
      config: `#!/bin/sh\necho "run" >> ${dir}/out/${id}\necho "hello $greeting"\necho "$greeting!" > "$heat_outputs_path.result"\n`,
      inputs: [
        { name: 'greeting', value: 'world', type: 'String' },
        { name: 'deploy_signal_transport', value: 'CFN_SIGNAL' },
        { name: 'deploy_signal_id', value: `${signals.url}/v1/signal/arn%3Aopenstack%3Aheat%3A%3At%3Astacks%2Fs%2F1%2Fresources%2F${id}?Timestamp=x&SignatureMethod=HmacSHA256&AWSAccessKeyId=k&SignatureVersion=2&Signature=SECRETSIG${id}` },
        { name: 'deploy_signal_verb', value: 'POST' },
        { name: 'deploy_action', value: 'CREATE' },
      ] as Array<{ name: string; value: unknown; type?: string }>,
      outputs: [{ name: 'result', type: 'String' }, { name: 'boom', error_output: true }],
      options: {},
      creation_time: `2026-12-02T01:00:0${id.length}Z`,
      ...over,
    };
  }
  const setDeployments = (deployments: unknown[], extra: Record<string, unknown> = {}) => emulator.setMetadata(STACK, 'Server', { deployments, ...extra });

  it('a script deployment: run once with its inputs, its output signalled over CFN_SIGNAL; the next check runs nothing', async () => {
    setDeployments([deployment('a')]);
    const r = await run();
    assert.equal(r.status, 0, r.stderr + log());
    const [s] = bodies();
    assert.equal(s.method, 'POST');
    assert.equal(s.type, 'application/json');
    assert.match(s.url, /^\/v1\/signal\/arn/);
    assert.deepEqual(s.body, { deploy_stdout: 'hello world\n', deploy_stderr: '', deploy_status_code: 0, result: 'world!\n' });
    assert.equal((await run()).status, 0);
    assert.equal(runs('a'), 1, 'not run again');
    assert.equal(signals.requests.length, 1, 'not signalled again');
    assert.ok(!log().includes('SECRETSIGa'), 'the pre-signed URL\'s signature is not logged');
    assert.equal(emulator.requestLog.filter((e) => e.action === 'DescribeStackResource').every((e) => e.verified === 'ok'), true);
  });

  it("a new input value runs it again and signals the new output; two deployments run in the list's order, not by creation time", async () => {
    setDeployments([deployment('bb'), deployment('a')]);
    assert.equal((await run()).status, 0);
    assert.deepEqual(bodies().map((b) => b.url.match(/resources%2F(\w+)\?/)?.[1]), ['bb', 'a']);
    const again = deployment('a');
    again.inputs = again.inputs.map((i) => (i.name === 'greeting' ? { ...i, value: 'again' } : i));
    setDeployments([deployment('bb'), again]);
    assert.equal((await run()).status, 0);
    assert.equal(runs('a'), 2);
    assert.equal(runs('bb'), 1);
    assert.equal(bodies()[2].body.result, 'again!\n');
  });

  it('a failing script, and an error output, signal failure (status code, stderr); the run says so with exit 0 once signalled', async () => {
    setDeployments([
      deployment('f', { config: '#!/bin/sh\necho broken >&2\nexit 3\n' }),
      deployment('e', { config: '#!/bin/sh\necho "disk full" > "$heat_outputs_path.boom"\n' }),
    ]);
    const r = await run();
    assert.equal(r.status, 0, 'both results reached Heat');
    const [f, e] = bodies().map((b) => b.body);
    assert.deepEqual(f, { deploy_stdout: '', deploy_stderr: 'broken\n', deploy_status_code: 3 });
    assert.equal(e.boom, 'disk full\n');
    assert.match(log(), /deployment dep-f \(f\) failed: status code 3/);
    assert.match(log(), /deployment dep-e \(e\) failed: error output boom: disk full/);
  });

  it('a signal Heat does not take is sent again at the next check, the deployment not run again', async () => {
    setDeployments([deployment('s')]);
    failNext = 100;
    const first = await run(['--timeout', '1']);
    assert.equal(first.status, 1, 'the signal failed');
    assert.equal(runs('s'), 1);
    assert.match(log(), /signal not accepted: .*503.*signalled again at the next check/);
    failNext = 0;
    signals.requests.length = 0;
    assert.equal((await run()).status, 0);
    assert.equal(runs('s'), 1, 'not run again');
    assert.equal(signals.requests.length, 1);
    assert.equal(bodies()[0].body.result, 'world!\n', 'the result of the first run');
    assert.match(log(), /its result was not accepted yet; signalling again/);
  });

  it("another group: heat-config's hook protocol (the deployment on stdin, the answer on stdout); no hook: failure signalled", async () => {
    const hook = path.join(dir, 'hooks', 'ansible');
    fs.writeFileSync(hook, `#!/usr/bin/env python3\nimport json, sys\nd = json.load(sys.stdin)\nprint("hook ran with " + [i["value"] for i in d["inputs"] if i["name"] == "deploy_password"][0], file=sys.stderr)\njson.dump({"deploy_stdout": "applied " + d["name"], "deploy_stderr": "", "deploy_status_code": 0, "result": d["config"]}, sys.stdout)\n`, { mode: 0o755 });
    const hooked = deployment('h', { group: 'ansible', config: 'playbook text' });
    hooked.inputs.push({ name: 'deploy_password', value: 'Hook-Pa55word!' });
    setDeployments([hooked, deployment('n', { group: 'puppet', config: 'x' }), deployment('o', { group: 'os-apply-config', config: { a: 1 } })]);
    assert.equal((await run()).status, 0);
    const got = Object.fromEntries(bodies().map((b) => [b.url.match(/resources%2F(\w+)\?/)?.[1], b.body]));
    assert.deepEqual(got.h, { deploy_stdout: 'applied dep-h', deploy_stderr: '', deploy_status_code: 0, result: 'playbook text' });
    assert.equal(got.n.deploy_status_code, 1);
    assert.match(String(got.n.deploy_stderr), /no hook for group puppet/);
    assert.equal(got.o, undefined, "os-apply-config's groups are not signalled, as heat-config does");
    assert.match(log(), /hook ansible for dep-h: hook ran with <redacted>/);
    assert.ok(!log().includes('Hook-Pa55word!'), 'a deployment password the hook prints is masked');
  });

  it('a hook answering JSON nested 100,000 deep: its deployment fails with the reason signalled, the run goes on (no stack overflow saving or signalling it)', async () => {
    fs.writeFileSync(path.join(dir, 'hooks', 'deep'), `#!/bin/sh\ncat > /dev/null\nprintf '{"deploy_status_code": 0, "deep": '\nhead -c 100000 /dev/zero | tr '\\0' '['\nhead -c 100000 /dev/zero | tr '\\0' ']'\nprintf '}'\n`, { mode: 0o755 });
    setDeployments([deployment('d', { group: 'deep', config: 'x' }), deployment('a')]);
    const r = await run();
    assert.equal(r.status, 0, `both results reached Heat: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /unexpected error|Maximum call stack/);
    const got = Object.fromEntries(bodies().map((b) => [b.url.match(/resources%2F(\w+)\?/)?.[1], b.body]));
    assert.equal(got.d.deploy_status_code, 1);
    assert.match(String(got.d.deploy_stderr), /nests deeper than 100 levels/);
    assert.equal(got.a.deploy_status_code, 0, 'the next deployment ran and was signalled');
  });

  it('group cfn-init: the config applied by our engine in this process; its command output is deploy_stdout; tolerated mistakes are warnings in deploy_stderr; a bad config fails naming the key', async () => {
    const target = path.join(dir, 'out', 'from-cfn-init.txt');
    // `comands`: a typo aws-cfn-bootstrap ignores; never strict here.
    const init = { config: { files: { [target]: { content: 'applied\n', mode: '000644' } }, commands: { '10_say': { command: 'echo said-by-a-command' } }, comands: { x: { command: 'echo never' } } } };
    setDeployments([
      // Heat's form: the Init value, as JSON text.
      deployment('c', { group: 'cfn-init', config: JSON.stringify(init) }),
      deployment('cc', { group: 'cfn-init', config: { 'AWS::CloudFormation::Init': { config: { files: { '/x': { mode: 'rwx' } } } } } }),
    ]);
    const r = await run();
    assert.equal(r.status, 0, r.stderr + log());
    assert.equal(fs.readFileSync(target, 'utf8'), 'applied\n');
    const [good, bad] = bodies().map((b) => b.body);
    assert.equal(good.deploy_status_code, 0);
    assert.match(String(good.deploy_stdout), /said-by-a-command/);
    assert.doesNotMatch(String(good.deploy_stdout), /never/);
    assert.equal(good.deploy_stderr, 'warning: config.comands: unknown key; a config holds packages, groups, users, sources, files, commands, services (ignored)');
    assert.match(log(), /WARNING .*config\.comands: unknown key; .* \(ignored\)/);
    assert.equal(bad.deploy_status_code, 1);
    assert.match(String(bad.deploy_stderr), /config\.files\.\/x\.mode/);
    assert.match(log(), /Running configSets: default/, "the engine's log is the agent's");
  });

  it('NO_SIGNAL runs and sends nothing; ZAQAR_SIGNAL without its inputs is not run, said once, and the run fails', async () => {
    const only = (t: string) => deployment(t.slice(0, 1).toLowerCase(), { inputs: [{ name: 'deploy_signal_transport', value: t }, { name: 'greeting', value: 'x' }] });
    setDeployments([only('NO_SIGNAL'), only('ZAQAR_SIGNAL')]);
    const r = await run();
    assert.equal(r.status, 1);
    assert.equal(signals.requests.length, 0);
    assert.equal(runs('n'), 1);
    assert.equal(runs('z'), 0);
    assert.match(log(), /deployment dep-z \(z\) not run: ZAQAR_SIGNAL without deploy_auth_url; nothing can tell Heat/);
  });

  it("an image moved from heat-config: what heat-config deployed (deployed/<id>.json) is not run again; a changed one is", async () => {
    fs.mkdirSync(path.join(dir, 'heat-config', 'deployed'), { recursive: true });
    const old = deployment('m');
    fs.writeFileSync(path.join(dir, 'heat-config', 'deployed', 'm.json'), JSON.stringify(old));
    const changed = deployment('k');
    fs.writeFileSync(path.join(dir, 'heat-config', 'deployed', 'k.json'), JSON.stringify({ ...changed, config: '#!/bin/sh\necho older\n' }));
    setDeployments([old, changed]);
    assert.equal((await run()).status, 0);
    assert.equal(runs('m'), 0);
    assert.equal(runs('k'), 1);
    assert.match(log(), /deployment dep-m \(m\): heat-config deployed it before; not run again/);
  });

  it('a deployment timeout that is no time is a usage error, before anything is read', async () => {
    const r = await run(['--deployment-timeout', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^heat-agent: --deployment-timeout: expected seconds above 0, got 0\n$/);
  });

  it("a deployment timeout past Node's timer range (3000000 s) is a timeout, not 1 ms: the script runs to its end and its result is signalled", async () => {
    setDeployments([deployment('t', { config: `#!/bin/sh\nsleep 0.2\necho "run" >> ${dir}/out/t\necho done\n` })]);
    const r = await run(['--deployment-timeout', '3000000']);
    assert.equal(r.status, 0, r.stderr + log());
    assert.equal(runs('t'), 1);
    assert.deepEqual(bodies()[0]?.body, { deploy_stdout: 'done\n', deploy_stderr: '', deploy_status_code: 0 });
  });

  it('--one-time with a lock whose pid belongs to an unrelated process now: taken over, said in the log, and the deployment runs', async () => {
    fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
    const other = spawn('bash', ['-c', 'exec -a heat-agent sleep 60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      fs.writeFileSync(path.join(dir, 'state', 'heat-agent.lock'), `${other.pid}\n`);
      setDeployments([deployment('l')]);
      const r = await run();
      assert.equal(r.status, 0, r.stderr + log());
      assert.equal(runs('l'), 1);
      assert.match(log(), new RegExp(`WARNING .*heat-agent\\.lock: taken over: process ${other.pid} is no heat-agent now`));
    } finally {
      other.kill();
    }
  });

  it('hostile metadata is refused whole, naming the key path: nothing runs', async () => {
    setDeployments([deployment('a'), deployment('x', { group: '../../../bin/sh' })]);
    const r = await run();
    assert.equal(r.status, 1);
    assert.match(log(), /nothing deployed: .*deployments\[1\]\.group: not a hook name/);
    assert.equal(runs('a'), 0);
  });

  it('new keys in the metadata\'s os-collect-config block are used from the next check', async () => {
    setDeployments([], { 'os-collect-config': { cfn: { access_key_id: ROTATED.accessKey, secret_access_key: ROTATED.secretKey, metadata_url: emulator.apiUrl, stack_name: STACK, path: 'Server.Metadata' } } });
    emulator.clearRequestLog();
    assert.equal((await run()).status, 0);
    assert.equal((await run()).status, 0);
    const keys = emulator.requestLog.filter((e) => e.action === 'DescribeStackResource').map((e) => e.accessKey);
    assert.deepEqual(keys, [KEY.accessKey, ROTATED.accessKey]);
    assert.ok(!log().includes(ROTATED.secretKey), 'the secret is not logged');
  });

  it('as a daemon under systemd: picks up a deployment added while it runs (its start and result in the journal too), SIGHUP reads the file again, a broken file fails --check-config and is refused by SIGHUP (the old one keeps working), SIGTERM exits 0', async () => {
    setDeployments([]);
    const env = toolEnv({ CFNTOOLS_HEAT_AGENT_DIR: path.join(dir, 'state'), OS_REFRESH_CONFIG_BASE_DIR: path.join(dir, 'orc'), HEAT_SHELL_CONFIG: path.join(dir, 'heat-shell-config') });
    const file = conf();
    // stderr as systemd connects it: the stream JOURNAL_STREAM names.
    const journal = path.join(dir, 'journal');
    const fd = fs.openSync(journal, 'a', 0o600);
    const st = fs.fstatSync(fd, { bigint: true });
    const child = spawn(process.execPath, [BUNDLE, 'heat-agent', '--config', file, '--hooks-dir', path.join(dir, 'hooks'), '--log-file', path.join(dir, 'heat-agent.log'), '-v'], { env: { ...env, JOURNAL_STREAM: `${st.dev}:${st.ino}` }, stdio: ['ignore', 'ignore', fd] });
    fs.closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const until = async (what: string, test: () => boolean) => {
      for (let i = 0; i < 300 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(test(), `${what}\n${fs.existsSync(path.join(dir, 'heat-agent.log')) ? log() : ''}`);
    };
    const check = () => runTool('heat-agent', ['--config', file, '--check-config', '--log-file', path.join(dir, 'heat-agent.log')], { env });
    try {
      await until('started', () => fs.existsSync(path.join(dir, 'heat-agent.log')) && /heat-agent started/.test(log()));
      setDeployments([deployment('d')]);
      // The first check comes within the splay (at most 30 s; usually sooner), then every second.
      await until('the new deployment ran and was signalled', () => signals.requests.length === 1);
      assert.equal(runs('d'), 1);
      const good = await check();
      assert.equal(good.status, 0, good.stderr);
      assert.equal(good.stdout, `heat-agent: configuration OK: ${file}, cfn ${STACK}/Server, every 1 s\n`);
      child.kill('SIGHUP');
      await until('SIGHUP handled', () => /SIGHUP: configuration read again/.test(log()));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(runs('d'), 1, 'not run again by later checks');

      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('collectors = cfn', 'collectors = cfn\ncollectors = nosuch'));
      const bad = await check();
      assert.equal(bad.status, 1);
      assert.equal(bad.stdout, '');
      assert.match(bad.stderr, /^heat-agent: \S*os-collect-config\.conf: collectors: unknown collector "nosuch"[^\n]*\n$/);
      assert.match(log(), /ERROR .*--check-config: \S*os-collect-config\.conf: collectors: unknown collector "nosuch"/);
      child.kill('SIGHUP');
      await until('the refused reload', () => /ERROR .*SIGHUP: configuration not read again: \S*os-collect-config\.conf: collectors: unknown collector "nosuch".*; keeping the previous one/.test(log()));
      setDeployments([deployment('d'), deployment('e')]);
      await until('the old configuration still deploys', () => signals.requests.length === 2 && runs('e') === 1);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(log(), /heat-agent stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const lines = fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean);
    for (const l of lines) assert.match(l, /^<[3-5]>(INFO|WARNING|ERROR) /, 'a line without its priority, or below notice');
    const has = (re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `no line like ${re} in the journal:\n${lines.join('\n')}`);
    has(/^<5>INFO heat-agent started /);
    has(/^<5>INFO deployment dep-d \(d\), group script: new; running$/);
    has(/^<5>INFO deployment dep-d \(d\): signalled over CFN_SIGNAL$/);
    has(/^<3>ERROR SIGHUP: configuration not read again: /);
    has(/^<5>INFO deployment dep-e \(e\): signalled over CFN_SIGNAL$/);
    has(/^<5>INFO heat-agent stopped$/);
    const text = lines.join('\n') + log();
    for (const secret of [KEY.secretKey, 'SECRETSIGd', 'SECRETSIGe']) assert.ok(!text.includes(secret), `${secret} written out`);
  });
});
