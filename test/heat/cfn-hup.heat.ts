/**
 * cfn-hup against a real heat-api-cfn (OpenStack Heat 19 on loopback), the
 * way an instance's user data uses it: our cfn-init applies the stack's
 * AWS::CloudFormation::Init, the wait condition is signalled, our cfn-hup
 * runs as a daemon (--foreground) with a post.update hook that runs our
 * cfn-init again; a stack update with another `release` changes the
 * metadata, and the hook applies the new config. Its first check must not
 * fire: it compares the value with what cfn-init last applied (its cache).
 * The update replaces the resource that carries the metadata (see the
 * template's description): Heat would keep the old metadata of a resource
 * updated in place.
 *
 * cfn-init and cfn-hup (and so the hook's cfn-init) run in a private mount
 * namespace with a temp dir over /srv (the template writes under
 * /srv/cfntools-hup), so the real /srv is untouched; the network is the
 * host's (heat-api-cfn listens on 127.0.0.1).
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetadataCache } from '../../shared/metadata-source';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';
import { FatalPollError, pollUntil, signalAndWait, useScenarioStack } from './rig';

const MINUTE = 60_000;
const RESOURCE = 'config';
const HOOK = 'cfn-auto-reloader';
const INIT_PATH = `Resources.${RESOURCE}.Metadata.AWS::CloudFormation::Init`;
/** cfn-hup's check interval here; the wait for the hook allows many of them. */
const INTERVAL_S = 2;

const SANDBOX = 'mount --bind "$1" /srv && shift && exec "$@"';
const sandboxArgv = (srv: string, argv: string[]) => ['unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', SANDBOX, 'sandbox', srv, ...argv];

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function readOr(file: string, none = ''): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : none;
}

interface Daemon {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Start a long-running program; `exited` settles when it ends, whoever ends it. */
function startDaemon(argv: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(argv[0], argv.slice(1), { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, output: () => out };
}

/** `p`'s outcome, or 'timeout'; the timer is cleared either way, so that it does not hold mocha's exit. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The lines of cfn-hup's log that say a hook's action starts. */
const actionLines = (log: string) => log.split('\n').filter((l) => / hook \S+: \S+ of .*: running /.test(l));
/** How many checks the daemon has finished (its -v line after each one). */
const checksDone = (log: string) => (log.match(/ check \d+ done/g) ?? []).length;

describe('real Heat: a stack update makes cfn-hup run cfn-init with the new metadata', function () {
  const stack = useScenarioStack('cfnhup', 'cfn-hup.json');
  let dir: string;
  let daemon: Daemon | undefined;

  before(function () {
    if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) this.skip();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-hup-'));
    fs.mkdirSync(path.join(dir, 'srv'), { mode: 0o755 });
  });
  afterEach(async function () {
    this.timeout(30_000);
    // A failed test may leave cfn-hup running: end it by its pid, politely first.
    const d = daemon;
    daemon = undefined;
    if (d && d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGTERM');
      if ((await within(d.exited, 15_000)) === 'timeout') {
        d.child.kill('SIGKILL');
        await d.exited;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('first check quiet (matches what cfn-init applied); after the update, the post.update hook runs cfn-init once; SIGTERM exits 0', async function () {
    this.timeout(4 * MINUTE);
    const s = stack();
    const srv = path.join(dir, 'srv');
    const out = (name: string) => path.join(srv, 'cfntools-hup', name);
    const creds = path.join(dir, 'cfn-credentials');
    fs.writeFileSync(creds, `AWSAccessKeyId=${s.accessKey}\nAWSSecretKey=${s.secretKey}\n`, { mode: 0o600 });
    const env = toolEnv({
      CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'),
      CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'),
      CFNTOOLS_STATE_DIR: path.join(dir, 'state'),
      CFNTOOLS_HUP_STATE_DIR: path.join(dir, 'hup-state'),
    });
    // The hook's cfn-init logs to a file of its own, so the two runs can be told apart.
    const initArgs = (logFile: string) => ['cfn-init', '-s', s.ref.name, '-r', RESOURCE, '--url', s.rig.cfnUrl, '--credential-file', creds, '--log-file', logFile];
    const initLog = path.join(dir, 'cfn-init.log');
    const hookInitLog = path.join(dir, 'cfn-init-hook.log');

    // As user data would: cfn-init, then the wait condition's signal.
    const first: RunResult = await runProcess(sandboxArgv(srv, [process.execPath, BUNDLE, ...initArgs(initLog)]), { env, cwd: '/' });
    assert.equal(first.status, 0, `${first.stderr}\n${readOr(initLog)}`);
    assert.equal(readOr(out('app.conf')), 'release=v1\n');
    assert.equal(readOr(out('history')), 'v1\n');
    const { stack: created } = await signalAndWait(s, { Status: 'SUCCESS', Reason: 'cfn-init complete', UniqueId: 'cfn-init', Data: 'v1' });
    assert.equal(created.stack_status, 'CREATE_COMPLETE', created.stack_status_reason);

    // cfn-hup refuses configuration that others could change: set the modes whatever the umask.
    const etc = path.join(dir, 'etc-cfn');
    fs.mkdirSync(path.join(etc, 'hooks.d'), { recursive: true });
    fs.chmodSync(etc, 0o755);
    fs.chmodSync(path.join(etc, 'hooks.d'), 0o755);
    const mainConf = path.join(etc, 'cfn-hup.conf');
    fs.writeFileSync(mainConf, ['[main]', `stack=${s.ref.name}`, `credential-file=${creds}`, `url=${s.rig.cfnUrl}`, `region=${s.rig.env.REAL_HEAT_REGION || 'RegionOne'}`, `interval=${INTERVAL_S}s`, ''].join('\n'));
    fs.chmodSync(mainConf, 0o600);
    const action = [process.execPath, BUNDLE, ...initArgs(hookInitLog)].map(shQuote).join(' ');
    const hookConf = path.join(etc, 'hooks.d', 'cfn-auto-reloader.conf');
    fs.writeFileSync(hookConf, [`[${HOOK}]`, 'triggers=post.update', `path=${INIT_PATH}`, `action=${action}`, 'runas=root', ''].join('\n'));
    fs.chmodSync(hookConf, 0o644);

    const hupLog = path.join(dir, 'cfn-hup.log');
    const pidFile = path.join(dir, 'cfn-hup.pid');
    const log = () => readOr(hupLog);
    daemon = startDaemon(sandboxArgv(srv, [process.execPath, BUNDLE, 'cfn-hup', '-c', etc, '--foreground', '--pid-file', pidFile, '--log-file', hupLog, '-v']), env);
    const d = daemon;
    // A daemon that dies early ends the waits below at once, with what it said.
    const alive = () => {
      if (d.child.exitCode !== null || d.child.signalCode !== null) throw new FatalPollError(`cfn-hup exited (${d.child.exitCode ?? d.child.signalCode}): ${d.output()}\n${log()}`);
    };
    // A timeout says what cfn-hup did meanwhile.
    const waitFor = async (what: string, timeoutMs: number, done: () => boolean) => {
      try {
        await pollUntil(what, timeoutMs, async () => {
          alive();
          return done() ? true : undefined;
        }, 250);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- cfn-hup log ---\n${log()}`);
      }
    };

    // unshare and sh exec, so the pid we hold is cfn-hup's own.
    const pid = await pollUntil('cfn-hup to write its pid file', 30_000, async () => {
      alive();
      const text = readOr(pidFile).trim();
      return text ? Number(text) : undefined;
    }, 200);
    assert.equal(pid, d.child.pid, 'the pid file names the daemon');

    // Two checks: the first compares with cfn-init's cache, the second with cfn-hup's own state.
    await waitFor('cfn-hup to finish two checks', MINUTE, () => checksDone(log()) >= 2);
    const beforeUpdate = log();
    assert.deepEqual(actionLines(beforeUpdate), [], `no hook before the update:\n${beforeUpdate}`);
    assert.match(beforeUpdate, new RegExp(`hook ${HOOK}: first check; compared with what cfn-init last applied`));
    assert.doesNotMatch(beforeUpdate, /ERROR|WARNING/, beforeUpdate);

    const updated = await s.rig.heat.updateStackAndWait(s.ref, { parameters: { release: 'v2' } });
    assert.equal(updated.stack_status, 'UPDATE_COMPLETE', updated.stack_status_reason);

    // Heat replaces the resource, so cfn-hup may well act before the stack is UPDATE_COMPLETE.
    await waitFor('the hook\'s cfn-init to write release=v2', MINUTE, () => readOr(out('app.conf')) === 'release=v2\n');
    await waitFor('cfn-hup to log the hook\'s outcome', MINUTE, () => new RegExp(`hook ${HOOK}: (succeeded|.*giving up|.*trying again)`).test(log()));
    // One more check after the success: it must find nothing left to do.
    const checksAtSuccess = checksDone(log());
    await waitFor('cfn-hup to finish one more check', MINUTE, () => checksDone(log()) > checksAtSuccess);

    const afterUpdate = log();
    const actions = actionLines(afterUpdate);
    assert.equal(actions.length, 1, `the hook ran once:\n${afterUpdate}`);
    assert.ok(actions[0].includes(`hook ${HOOK}: post.update of ${INIT_PATH}: running `) && actions[0].endsWith(' as root'), actions[0]);
    assert.equal((afterUpdate.match(new RegExp(`hook ${HOOK}: succeeded`, 'g')) ?? []).length, 1, afterUpdate);
    assert.doesNotMatch(afterUpdate, /ERROR/, afterUpdate);
    assert.equal(readOr(out('history')), 'v1\nv2\n', 'cfn-init ran once by hand and once from the hook');
    assert.match(readOr(hookInitLog), /Metadata from DescribeStackResource http:\/\/127\.0\.0\.1:\d+\/v1\//);

    const cached = new MetadataCache(path.join(dir, 'cache')).read(s.ref.name, RESOURCE);
    const files = (cached?.metadata as { 'AWS::CloudFormation::Init': { config: { files: Record<string, { content: unknown }> } } } | undefined)?.['AWS::CloudFormation::Init'].config.files;
    assert.equal(files?.['/srv/cfntools-hup/app.conf'].content, 'release=v2\n', 'the hook\'s cfn-init cached what it applied');

    d.child.kill('SIGTERM');
    const ended = await within(d.exited, 30_000);
    assert.notEqual(ended, 'timeout', 'cfn-hup stops within 30 s of SIGTERM');
    assert.deepEqual(ended, { code: 0, signal: null }, d.output());
    assert.ok(!fs.existsSync(pidFile), 'the pid file is removed');
    const final = log();
    assert.match(final, /SIGTERM: stopping/);
    assert.match(final, /cfn-hup stopped/);

    for (const [name, text] of [['cfn-hup.log', final], ['cfn-hup output', d.output()], ['cfn-init.log', readOr(initLog)], ['cfn-init-hook.log', readOr(hookInitLog)], ['cfn-init output', first.stdout + first.stderr]]) {
      assert.ok(!text.includes(s.secretKey), `the secret key is not in ${name}`);
    }
  });
});
