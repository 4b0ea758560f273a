/**
 * README's main command (`npm run demo`): starts the endpoint emulator on a
 * free loopback port with a demo stack, runs the tools against it in a
 * throw-away sandbox (files under it, harmless commands), prints what
 * happened, stops the emulator and exits 0. Nothing is left running.
 */
import { spawn } from 'node:child_process';
import { runProcess, type RunResult } from '../support/cli';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import type { StackSpec } from '../emulator/stackfile';

const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const STACK = 'demo';
const KEY = { accessKey: 'AKIDDEMO0000000000000000000000001', secretKey: 'demo/Secret+Key=1' };

function run(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runProcess([process.execPath, BUNDLE, tool, ...args], { env });
}

/** The Init metadata, with paths inside the sandbox and the emulator's file URL. */
function demoMetadata(sandbox: string, emulatorUrl: string, greeting = 'hello from cfntools'): unknown {
  const out = (p: string) => path.join(sandbox, 'root', p);
  return {
    'AWS::CloudFormation::Init': {
      configSets: { default: ['setup', { ConfigSet: 'app' }], app: ['app'] },
      setup: {
        files: {
          [out('etc/demo/app.conf')]: {
            content: 'greeting={{greeting}}\nport={{port}}\n',
            context: { greeting, port: 8080 },
            mode: '000640',
          },
          [out('etc/demo/motd')]: { source: `${emulatorUrl}/files/motd.txt`, mode: '000644' },
          [out('etc/demo/settings.json')]: { content: { debug: false, workers: 2 } },
        },
      },
      app: {
        commands: {
          '10_greet': { command: `mkdir -p ${out('var/log')} && echo "greeted at $(date -u +%H:%M:%S)" >> ${out('var/log/demo.log')}` },
          '20_list': { command: ['ls', '-1', out('etc/demo')], cwd: sandbox },
          '30_skipped': { command: 'echo never', test: 'false' },
        },
      },
    },
    greeting,
  };
}

function stackSpec(): StackSpec {
  return {
    name: STACK,
    resources: {
      WebServer: { type: 'AWS::EC2::Instance', metadata: {} },
      WaitHandle: { type: 'AWS::CloudFormation::WaitConditionHandle' },
      WaitCondition: { type: 'AWS::CloudFormation::WaitCondition', handle: 'WaitHandle', count: 1 },
    },
    credentials: [KEY],
  };
}

const DEPLOY_STACK = 'deploystack';
const SERVER_KEY = { accessKey: 'AKIDDEMOSERVER000000000000000001', secretKey: 'demo-server-secret' };

/** The OS:: way: a server, a script config, and a deployment of it signalled over CFN_SIGNAL. */
function deploymentStackSpec(sandbox: string): StackSpec {
  const out = path.join(sandbox, 'root', 'srv', 'deployed.txt');
  return {
    name: DEPLOY_STACK,
    resources: {
      Server: { type: 'OS::Heat::DeployedServer', ...SERVER_KEY },
      Script: {
        type: 'OS::Heat::SoftwareConfig',
        properties: {
          group: 'script',
          config: `#!/bin/sh\nmkdir -p "$(dirname ${out})"\necho "deployed with $greeting" > ${out}\nprintf '%s' "$greeting" > "$heat_outputs_path.result"\n`,
          inputs: [{ name: 'greeting', type: 'String' }],
          outputs: [{ name: 'result' }],
        },
      },
      Deploy: { type: 'OS::Heat::SoftwareDeployment', properties: { config: 'Script', server: 'Server', input_values: { greeting: 'hello from heat-agent' }, signal_transport: 'CFN_SIGNAL' } },
    },
  };
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Poll until `check` holds or `ms` pass. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * cfn-hup watches the Init metadata with the hook real templates use (run
 * cfn-init again); the metadata is then changed as a stack update would
 * change it, and the new greeting reaches app.conf.
 */
async function watchAnUpdate(emulator: Emulator, sandbox: string, creds: string, logs: string, env: NodeJS.ProcessEnv): Promise<string> {
  const etc = path.join(sandbox, 'etc-cfn');
  fs.mkdirSync(path.join(etc, 'hooks.d'), { recursive: true });
  fs.writeFileSync(path.join(etc, 'cfn-hup.conf'), `[main]\nstack=${STACK}\ncredential-file=${creds}\ninterval=1s\nsplay=0\n`, { mode: 0o644 });
  const cfnInit = [process.execPath, BUNDLE, 'cfn-init', '-s', STACK, '-r', 'WebServer', '-f', creds, '--log-file', path.join(logs, 'cfn-init.log'), '--cmd-log-file', path.join(logs, 'cfn-init-cmd.log')];
  fs.writeFileSync(
    path.join(etc, 'hooks.d', 'cfn-auto-reloader.conf'),
    `[cfn-auto-reloader-hook]\ntriggers=post.update\npath=Resources.WebServer.Metadata.AWS::CloudFormation::Init\naction=${cfnInit.map((a) => `'${a}'`).join(' ')}\nrunas=root\n`,
    { mode: 0o644 },
  );
  const hupLog = path.join(logs, 'cfn-hup.log');
  const hupEnv = { ...env, CFNTOOLS_CFN_DIR: etc, CFNTOOLS_HUP_STATE_DIR: path.join(sandbox, 'cfn-hup') };
  const daemon = spawn(process.execPath, [BUNDLE, 'cfn-hup', '--foreground', '-v', '--log-file', hupLog, '--pid-file', path.join(sandbox, 'cfn-hup.pid')], { env: hupEnv, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => daemon.once('close', resolve));
  const logText = () => (fs.existsSync(hupLog) ? fs.readFileSync(hupLog, 'utf8') : '');
  try {
    if (!(await until(() => /check 1 done/.test(logText()), 40_000))) throw new Error(`cfn-hup made no check:\n${logText()}`);
    emulator.setMetadata(STACK, 'WebServer', demoMetadata(sandbox, emulator.url, 'hello again, after a stack update'));
    const conf = path.join(sandbox, 'root', 'etc/demo/app.conf');
    if (!(await until(() => fs.readFileSync(conf, 'utf8').includes('hello again') && /hook cfn-auto-reloader-hook: succeeded/.test(logText()), 40_000))) {
      throw new Error(`the update did not reach app.conf:\n${logText()}`);
    }
    return `post.update fired, its cfn-init rewrote app.conf: ${JSON.stringify(fs.readFileSync(conf, 'utf8').trim().split('\n')[0])}`;
  } finally {
    daemon.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`cfn-hup exited ${code} on SIGTERM:\n${logText()}`);
  }
}

/**
 * Another emulator, in EC2 mode: a metadata service that hands out a signed
 * identity document, and a CloudFormation that takes it (CFN_V1) from the
 * stack's own instance. No key anywhere.
 */
async function awsWithoutKeys(sandbox: string, logs: string, env: NodeJS.ProcessEnv): Promise<string> {
  const file = path.join(sandbox, 'root', 'var', 'www', 'html', 'index.html');
  const init = { 'AWS::CloudFormation::Init': { config: { files: { [file]: { content: '<h1>{{stack}}</h1>\n', context: { stack: 'aws-demo' }, mode: '000644' } } } } };
  const ec2 = await startEmulator({
    ec2: { region: 'us-east-1' },
    stacks: [{ name: 'aws-demo', resources: { WebServerInstance: { type: 'AWS::EC2::Instance', metadata: init, creationPolicy: { count: 1 } } } }],
  });
  try {
    const awsEnv = { ...env, AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: ec2.imdsUrl! };
    const target = ['--stack', 'aws-demo', '--resource', 'WebServerInstance', '--region', 'us-east-1', '--url', ec2.url];
    const init = await run('cfn-init', ['-v', ...target, '--log-file', path.join(logs, 'cfn-init-aws.log')], awsEnv);
    if (init.status !== 0) throw new Error(`cfn-init (AWS) failed: ${init.stderr.trim()}`);
    const sig = await run('cfn-signal', ['-e', '0', ...target, '--log-file', path.join(logs, 'cfn-signal-aws.log')], awsEnv);
    if (sig.status !== 0) throw new Error(`cfn-signal (AWS) failed: ${sig.stderr.trim()}`);
    const calls = ec2.requestLog.filter((r) => r.action).map((r) => `${r.action} (${r.signature}, ${r.instanceId})`);
    const view = ec2.resource('aws-demo', 'WebServerInstance');
    return `${path.relative(sandbox, file)}: ${JSON.stringify(fs.readFileSync(file, 'utf8'))}; ${calls.join(', ')}; WebServerInstance ${view.status}`;
  } finally {
    await ec2.stop();
  }
}

async function main(): Promise<number> {
  const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-demo-'));
  let emulator: Emulator | undefined;
  const say = (line = '') => process.stdout.write(line + '\n');
  try {
    emulator = await startEmulator({ port: 0, stacks: [stackSpec(), deploymentStackSpec(sandbox)], files: { inline: { 'motd.txt': 'Welcome to the cfntools demo instance.\n' } } });
    emulator.setMetadata(STACK, 'WebServer', demoMetadata(sandbox, emulator.url));

    // What Heat injects into an instance, pointed at the emulator.
    const heat = path.join(sandbox, 'heat');
    fs.mkdirSync(heat);
    fs.writeFileSync(path.join(heat, 'cfn-metadata-server'), emulator.apiUrl);
    fs.writeFileSync(path.join(heat, 'cfn-boto-cfg'), '[Boto]\ndebug = 0\nis_secure = 0\nhttps_validate_certificates = 1\ncfn_region_name = heat\ncfn_region_endpoint = 127.0.0.1');
    const creds = path.join(sandbox, 'cfn-credentials');
    fs.writeFileSync(creds, `AWSAccessKeyId=${KEY.accessKey}\nAWSSecretKey=${KEY.secretKey}\n`, { mode: 0o600 });
    const logs = path.join(sandbox, 'log');
    fs.mkdirSync(logs);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      CFNTOOLS_HEAT_DIR: heat,
      CFNTOOLS_CACHE_DIR: path.join(sandbox, 'cache'),
      CFNTOOLS_STATE_DIR: path.join(sandbox, 'state'),
      CFNTOOLS_PUSH_STATS_DIR: path.join(sandbox, 'push-stats'),
      AWS_EC2_METADATA_DISABLED: 'true',
      NO_PROXY: '127.0.0.1',
    };
    const logArg = (tool: string) => ['--log-file', path.join(logs, `${tool}.log`)];

    say('cfntools demo');
    say(`  emulator  ${emulator.apiUrl}  (stack "${STACK}": WebServer, WaitHandle, WaitCondition)`);
    say(`  sandbox   ${sandbox}`);
    say();

    say(`1. cfn-get-metadata -s ${STACK} -r WebServer -k greeting`);
    const gm = await run('cfn-get-metadata', ['-s', STACK, '-r', 'WebServer', '-k', 'greeting', '-f', creds, ...logArg('cfn-get-metadata')], env);
    if (gm.status !== 0) throw new Error(`cfn-get-metadata failed: ${gm.stderr.trim()}`);
    say(`   -> ${gm.stdout.trim()}   (signed DescribeStackResource, endpoint from the Heat files)`);
    say();

    say(`2. cfn-init -s ${STACK} -r WebServer -f cfn-credentials`);
    const init = await run('cfn-init', ['-s', STACK, '-r', 'WebServer', '-f', creds, '--cmd-log-file', path.join(logs, 'cfn-init-cmd.log'), ...logArg('cfn-init')], env);
    let status = 'SUCCESS';
    let reason = 'Configuration complete';
    if (init.status !== 0) {
      status = 'FAILURE';
      reason = `cfn-init failed: ${init.stderr.trim().split('\n').pop()}`;
      say(`   -> exit ${init.status}: ${init.stderr.trim()}`);
    } else {
      const cmdLog = fs.readFileSync(path.join(logs, 'cfn-init-cmd.log'), 'utf8');
      const commands = cmdLog.split('==== Command ').slice(1).map((block) => {
        const name = block.split(' ')[0];
        return /command skipped/.test(block) ? `${name} (skipped: its test failed)` : name;
      });
      say(`   -> exit 0; commands: ${commands.join(', ')}`);
      say('      files written:');
      for (const f of listFiles(path.join(sandbox, 'root'))) {
        const mode = (fs.statSync(f).mode & 0o777).toString(8).padStart(4, '0');
        say(`      ${mode}  ${path.relative(sandbox, f)}: ${JSON.stringify(fs.readFileSync(f, 'utf8').trim().slice(0, 60))}`);
      }
    }
    say();

    const url = emulator.signalUrls(STACK, 'WaitHandle').sigv2;
    say(`3. cfn-signal -e ${status === 'SUCCESS' ? 0 : 1} -r "${reason}" <pre-signed WaitHandle URL>`);
    const sig = await run('cfn-signal', ['-e', status === 'SUCCESS' ? '0' : '1', '-r', reason, '-i', 'demo-instance', ...logArg('cfn-signal'), url], env);
    if (sig.status !== 0) throw new Error(`cfn-signal failed: ${sig.stderr.trim()}`);
    else say('   -> accepted');
    const wc = emulator.resource(STACK, 'WaitCondition');
    say(`   stack: WaitCondition ${wc.status} (${wc.waitCondition?.received ?? 0}/${wc.waitCondition?.count ?? 1} signals)`);
    say();

    say('4. cfn-hup --foreground, then a stack update changes greeting');
    const hup = await watchAnUpdate(emulator, sandbox, creds, logs, env);
    say(`   -> ${hup}`);
    say();

    say('5. cfn-push-stats --mem-util --disk-space-util --cpu-util --heartbeat --url <emulator>');
    // Heat (since 10.0) writes no CloudWatch endpoint into the instance: the emulator's is given.
    const push = await run('cfn-push-stats', ['--mem-util', '--disk-space-util', '--cpu-util', '--heartbeat', '--url', emulator.apiUrl, '-f', creds, ...logArg('cfn-push-stats')], env);
    if (push.status !== 0) throw new Error(`cfn-push-stats failed: ${push.stderr.trim()}`);
    say(`   -> ${push.stdout.trim()}`);
    const page = await (await fetch(emulator.url + '/')).text();
    const shown = [...page.matchAll(/<tr><td>[^<]*<\/td><td>[^<]*<\/td><td>System\/Linux<\/td><td>([A-Za-z]+)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>/g)];
    say(`   status page ${emulator.url}/ shows: ${shown.map((m) => `${m[1]} ${Number(m[2]).toFixed(1)} ${m[3]}`).join(', ')}`);
    say();

    say('6. heat-agent --one-time (the OS:: way: a SoftwareDeployment of a script, over CFN_SIGNAL)');
    const agentConf = path.join(sandbox, 'os-collect-config.conf');
    fs.writeFileSync(agentConf, `[cfn]\nmetadata_url = ${emulator.apiUrl}\nstack_name = ${DEPLOY_STACK}\naccess_key_id = ${SERVER_KEY.accessKey}\nsecret_access_key = ${SERVER_KEY.secretKey}\npath = Server.Metadata\n`, { mode: 0o600 });
    const agent = await run('heat-agent', ['--one-time', '--config', agentConf, ...logArg('heat-agent')], { ...env, CFNTOOLS_HEAT_AGENT_DIR: path.join(sandbox, 'heat-agent'), CFNTOOLS_HEAT_CONFIG_DIR: path.join(sandbox, 'heat-config') });
    if (agent.status !== 0) throw new Error(`heat-agent failed: ${agent.stderr.trim()}`);
    const deployed = emulator.deployment(DEPLOY_STACK, 'Deploy');
    say(`   -> ${path.relative(sandbox, path.join(sandbox, 'root', 'srv', 'deployed.txt'))}: ${JSON.stringify(fs.readFileSync(path.join(sandbox, 'root', 'srv', 'deployed.txt'), 'utf8'))}`);
    say(`   stack: Deploy ${deployed.status}, output result ${JSON.stringify(deployed.softwareDeployment?.output_values?.result)} (${deployed.signalCount} signal)`);
    say();

    say('7. AWS with no keys and no role: cfn-init and cfn-signal --stack/--resource (emulator in EC2 mode)');
    const aws = await awsWithoutKeys(sandbox, logs, env);
    say(`   -> ${aws}`);
    say();

    const requests = emulator.requestLog.filter((r) => !r.path.startsWith('/_emulator'));
    const label = (r: (typeof requests)[number]) =>
      r.action ?? (r.path.includes('/waitcondition/') ? 'wait-condition signal' : r.path.includes('/signal/') ? 'deployment signal' : `${r.method} ${r.path.split('?')[0]}`);
    say(`emulator saw ${requests.length} requests: ${[...new Set(requests.map(label))].join(', ')}`);
    return status === 'SUCCESS' && wc.status === 'CREATE_COMPLETE' ? 0 : 1;
  } finally {
    await emulator?.stop();
    if (!process.env.CFNTOOLS_DEMO_KEEP) fs.rmSync(sandbox, { recursive: true, force: true });
    say(process.env.CFNTOOLS_DEMO_KEEP ? `emulator stopped; sandbox and logs kept in ${sandbox}` : 'emulator stopped; sandbox removed (CFNTOOLS_DEMO_KEEP=1 keeps it and the logs)');
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
