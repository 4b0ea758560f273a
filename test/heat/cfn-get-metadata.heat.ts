/**
 * cfn-get-metadata against a real heat-api-cfn: a real stack's metadata,
 * whole and by key, with a credential file; a missing key exits 1.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool, toolEnv } from '../support/cli';
import { templatePath, useScenarioStack } from './rig';

const template = JSON.parse(fs.readFileSync(templatePath('scenario.json'), 'utf8')) as { resources: { config: { metadata: Record<string, unknown> } } };

describe('real Heat: cfn-get-metadata reads a real stack\'s metadata', function () {
  const stack = useScenarioStack('getmeta');
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-gm-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the whole metadata and one key, signed with the stack user\'s credential file', async function () {
    const s = stack();
    const creds = path.join(dir, 'cfn-credentials');
    fs.writeFileSync(creds, `AWSAccessKeyId=${s.accessKey}\nAWSSecretKey=${s.secretKey}\n`, { mode: 0o600 });
    const env = toolEnv({ CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache') });
    const base = ['-s', s.ref.name, '-r', 'config', '-u', s.rig.cfnUrl, '-f', creds, '--log-file', path.join(dir, 'log')];

    const whole = await runTool('cfn-get-metadata', base, { env });
    assert.equal(whole.status, 0, whole.stderr);
    assert.deepEqual(JSON.parse(whole.stdout), template.resources.config.metadata);

    const one = await runTool('cfn-get-metadata', [...base, '-k', "AWS::CloudFormation::Init.base.files.'/tmp/cfntools-scenario/hello.txt'.mode"], { env });
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.stdout, '"000644"\n');

    const missing = await runTool('cfn-get-metadata', [...base, '-k', 'AWS::CloudFormation::Init.nothere'], { env });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /key AWS::CloudFormation::Init\.nothere not found/);
    assert.ok(!fs.readFileSync(path.join(dir, 'log'), 'utf8').includes(s.secretKey));
  });
});
