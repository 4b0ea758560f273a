/**
 * Our cfn-signal (the bundle, run as a user would) against a real OpenStack
 * Heat 19 on loopback:
 * - AWS::CloudFormation::WaitCondition: a SUCCESS signal on Heat's
 *   pre-signed URL takes the stack to CREATE_COMPLETE with our Data; a
 *   FAILURE signal makes it CREATE_FAILED with our Reason; a forged
 *   signature is refused, exit 1, not retried;
 * - OS::Heat::WaitCondition: the native handle's token transport (the token
 *   and endpoint of its curl_cli) and its CFN_SIGNAL transport (--native PUT)
 *   complete it.
 *
 * Run with `npm run test:heat`; skipped, with the reason, where the Debian
 * packages cannot be installed.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool, toolEnv, type RunResult } from '../support/cli';
import { assertLoopback, pollUntil, useScenarioStack, type ScenarioStack } from './rig';

const MINUTE = 60_000;

/** Run our cfn-signal with a private log file; returns the result and the log. */
async function cfnSignal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult & { log: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-signal-'));
  try {
    const log = path.join(dir, 'cfn-signal.log');
    // --timeout well under the rig's mocha timeouts; loopback only, no proxies (toolEnv).
    const r = await runTool('cfn-signal', ['--log-file', log, '--timeout', '60', ...args], { env: toolEnv(env) });
    return { ...r, log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function jsonOutput(outputs: Record<string, unknown>, key: string): unknown {
  const v = outputs[key];
  return typeof v === 'string' ? JSON.parse(v) : v;
}

async function resourceStatus(s: ScenarioStack, name: string): Promise<string> {
  const r = (await s.rig.heat.resources(s.ref)).find((x) => x.resource_name === name);
  if (!r) throw new Error(`stack ${s.ref.name} has no resource ${name}`);
  return r.resource_status;
}

/** Wait until `name` leaves CREATE_IN_PROGRESS; returns its final status. */
function settled(s: ScenarioStack, name: string): Promise<string> {
  return pollUntil(`${name} of ${s.ref.name} to leave CREATE_IN_PROGRESS`, 2 * MINUTE, async () => {
    const st = await resourceStatus(s, name);
    return st === 'CREATE_IN_PROGRESS' || st === 'INIT_COMPLETE' ? undefined : st;
  });
}

describe('real Heat: cfn-signal completes an AWS::CloudFormation::WaitCondition', function () {
  const stack = useScenarioStack('cfnsig-ok');

  it('a forged signature is refused: exit 1, one attempt, the server\'s code, no signature shown', async function () {
    const s = stack();
    const url = new URL(s.waitHandleUrl);
    const forged = `AAAA${(url.searchParams.get('Signature') ?? '').slice(4)}`;
    url.searchParams.set('Signature', forged);
    const r = await cfnSignal(['-i', 'forger', url.href]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /was refused by http:\/\/127\.0\.0\.1:\d+\/v1\/waitcondition\/\S+ \(not retried\): HTTP 403 AccessDenied/);
    assert.equal((r.log.match(/ -> 403 /g) ?? []).length, 1, r.log);
    for (const text of [r.stderr, r.log]) assert.ok(!text.includes(forged) && !text.includes(encodeURIComponent(forged)), text);
    assert.equal((await s.rig.heat.stack(s.ref)).stack_status, 'CREATE_IN_PROGRESS');
  });

  it('SUCCESS on the pre-signed URL: CREATE_COMPLETE, the Data attribute holds our data', async function () {
    const s = stack();
    const r = await cfnSignal(['-e', '0', '-i', 'i-heat-1', '-d', 'hello from cfntools ünï', s.waitHandleUrl]);
    assert.equal(r.status, 0, r.stderr);
    const signature = new URL(s.waitHandleUrl).searchParams.get('Signature')!;
    assert.ok(!r.log.includes(signature) && !r.log.includes(encodeURIComponent(signature)), r.log);
    const after = await s.rig.heat.waitForStack(s.ref);
    assert.equal(after.stack_status, 'CREATE_COMPLETE', after.stack_status_reason);
    assert.deepEqual(jsonOutput(await s.rig.heat.outputs(s.ref), 'wait_data'), { 'i-heat-1': 'hello from cfntools ünï' });
  });
});

describe('real Heat: a cfn-signal FAILURE fails the AWS::CloudFormation::WaitCondition', function () {
  const stack = useScenarioStack('cfnsig-fail');

  it('FAILURE (-e 3): CREATE_FAILED with our Reason', async function () {
    const s = stack();
    const r = await cfnSignal(['-e', '3', '-r', 'httpd did not start', '-i', 'i-heat-2', s.waitHandleUrl]);
    assert.equal(r.status, 0, r.stderr);
    const after = await s.rig.heat.waitForStack(s.ref);
    assert.equal(after.stack_status, 'CREATE_FAILED');
    assert.match(after.stack_status_reason ?? '', /httpd did not start/);
    assert.equal(await resourceStatus(s, 'wait_condition'), 'CREATE_FAILED');
  });
});

describe('real Heat: cfn-signal completes an OS::Heat::WaitCondition through the native handle', function () {
  const stack = useScenarioStack('cfnsig-native', 'cfn-signal-native.json');

  it("token transport: the token and endpoint of curl_cli, the token from CFN_SIGNAL_AUTH_TOKEN", async function () {
    const s = stack();
    const out = await s.rig.heat.outputs(s.ref);
    const token = out.native_token as string;
    const endpoint = out.native_endpoint as string;
    assert.ok(token && endpoint, JSON.stringify(out));
    assertLoopback(endpoint);
    // What cfn-signal's flags mirror: the POST, its headers and the endpoint of curl_cli.
    assert.equal(
      out.native_curl_cli,
      `curl -i -X POST -H 'X-Auth-Token: ${token}' -H 'Content-Type: application/json' -H 'Accept: application/json' ${endpoint}`,
    );
    assert.equal(await resourceStatus(s, 'native_wait'), 'CREATE_IN_PROGRESS');
    const r = await cfnSignal(['-i', 'i-heat-native', '-d', 'native data', endpoint], { CFN_SIGNAL_AUTH_TOKEN: token });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.log, /native signal SUCCESS \(id i-heat-native, token\) accepted/);
    assert.ok(!r.log.includes(token) && !r.stderr.includes(token), 'the token never reaches the log');
    assert.equal(await settled(s, 'native_wait'), 'CREATE_COMPLETE');
    assert.deepEqual(jsonOutput(await s.rig.heat.outputs(s.ref), 'native_data'), { 'i-heat-native': 'native data' });
  });

  it('CFN_SIGNAL transport: --native PUTs the lower-case body to its pre-signed URL; the stack completes', async function () {
    const s = stack();
    const signal = jsonOutput(await s.rig.heat.outputs(s.ref), 'native_cfn_signal') as { alarm_url?: string };
    assert.ok(signal?.alarm_url, JSON.stringify(signal));
    assertLoopback(signal.alarm_url);
    const r = await cfnSignal(['--native', '-i', 'i-heat-cfn', '-d', 'cfn transport', signal.alarm_url]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await settled(s, 'native_cfn_wait'), 'CREATE_COMPLETE');
    assert.deepEqual(jsonOutput(await s.rig.heat.outputs(s.ref), 'native_cfn_data'), { 'i-heat-cfn': 'cfn transport' });
    const after = await s.rig.heat.waitForStack(s.ref);
    assert.equal(after.stack_status, 'CREATE_COMPLETE', after.stack_status_reason);
  });
});
