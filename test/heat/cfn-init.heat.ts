/**
 * cfn-init against a real heat-api-cfn (OpenStack Heat 19 on loopback):
 * the metadata of a real stack (Heat resolves its intrinsic functions),
 * fetched with a signed DescribeStackResource using the stack user's key,
 * then files written and commands run; the test then signals the stack's
 * wait condition with what cfn-init produced and the stack completes.
 *
 * cfn-init runs in a private mount namespace with a temp dir over /srv (the
 * template writes under /srv/cfntools-heat), so the real /srv is untouched;
 * the network is the host's (heat-api-cfn listens on 127.0.0.1).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetadataCache } from '../../shared/metadata-source';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';
import { signalAndWait, useScenarioStack } from './rig';

function cfnInitInSandbox(srv: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const script = 'mount --bind "$1" /srv && shift && exec "$@"';
  return runProcess(['unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', script, 'sandbox', srv, process.execPath, BUNDLE, 'cfn-init', ...args], { env, cwd: '/' });
}

describe('real Heat: cfn-init applies a stack resource\'s AWS::CloudFormation::Init', function () {
  const stack = useScenarioStack('cfninit', 'cfn-init.json');
  let dir: string;

  before(function () {
    if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) this.skip();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-init-'));
    fs.mkdirSync(path.join(dir, 'srv'), { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fetches the metadata signed, writes the files, runs the commands, updates the cache; the stack then completes', async function () {
    const s = stack();
    const env = toolEnv({ CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), CFNTOOLS_STATE_DIR: path.join(dir, 'state') });
    const args = ['-s', s.ref.name, '-r', 'config', '-u', s.rig.cfnUrl, '--access-key', s.accessKey, '--secret-key', s.secretKey, '--log-file', path.join(dir, 'cfn-init.log')];
    const r = await cfnInitInSandbox(path.join(dir, 'srv'), args, env);
    const logText = fs.existsSync(path.join(dir, 'cfn-init.log')) ? fs.readFileSync(path.join(dir, 'cfn-init.log'), 'utf8') : '';
    assert.equal(r.status, 0, `${r.stderr}\n${logText}`);

    const out = (name: string) => path.join(dir, 'srv', 'cfntools-heat', name);
    assert.equal(fs.readFileSync(out('hello.txt'), 'utf8'), `stack=${s.ref.name}\nünïcödé ✓\n`);
    assert.equal(fs.statSync(out('hello.txt')).mode & 0o777, 0o640);
    assert.equal(fs.readFileSync(out('conf.json'), 'utf8'), '{"port": 8080, "tags": ["a", "b"]}');
    assert.equal(fs.readFileSync(out('lines'), 'utf8').trim(), '2');
    assert.equal(fs.readFileSync(out('env.txt'), 'utf8'), 'hi from heat\n');
    assert.equal(fs.readFileSync(out('cwd.txt'), 'utf8'), '/srv/cfntools-heat\n');
    assert.match(logText, /Metadata from DescribeStackResource http:\/\/127\.0\.0\.1:\d+\/v1\//);
    assert.ok(!logText.includes(s.secretKey), 'the secret key is not logged');

    const cached = new MetadataCache(path.join(dir, 'cache')).read(s.ref.name, 'config');
    assert.ok(cached, 'the cache holds the metadata after the successful run');
    const init = (cached.metadata as { 'AWS::CloudFormation::Init': { base: { files: Record<string, { content: unknown }> } } })['AWS::CloudFormation::Init'];
    assert.equal(init.base.files['/srv/cfntools-heat/hello.txt'].content, `stack=${s.ref.name}\nünïcödé ✓\n`, 'Heat resolved str_replace');

    const { stack: done } = await signalAndWait(s, { Status: 'SUCCESS', Reason: 'cfn-init complete', UniqueId: 'cfn-init', Data: fs.readFileSync(out('env.txt'), 'utf8').trim() });
    assert.equal(done.stack_status, 'CREATE_COMPLETE', done.stack_status_reason);
  });
});
