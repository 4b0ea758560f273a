/**
 * What a child inherits: never the tool's credentials (a real child reads
 * its own environment), whatever the caller spreads; a value set on purpose
 * stays. And what a runas hook may see of the metadata's Authentication.
 */
import * as assert from 'node:assert/strict';
import { withoutToolCredentials } from '../../shared/child-env';
import { withoutAuthenticationSecrets } from '../../shared/init/auth-secrets';
import { HostSystem } from '../../shared/system';

const AUTH = 'AWS::CloudFormation::Authentication';

describe('child environment', () => {
  const tool = { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'AKIDCHILDENV', AWS_SECRET_ACCESS_KEY: 'child-env-secret', AWS_SESSION_TOKEN: 'child-env-token', CFN_SIGNAL_AUTH_TOKEN: 'child-env-keystone', MARK: 'kept' };

  it("a real child (heat-agent's way: the tool's env spread with inputs) has none of the tool's credentials", async () => {
    const system = new HostSystem(tool);
    const r = await system.run(['/bin/sh', '-c', 'tr "\\0" "\\n" < /proc/self/environ'], { env: { ...tool, deploy_input: 'x' } });
    const names = r.stdout.split('\n').filter(Boolean).map((kv) => kv.slice(0, kv.indexOf('=')));
    assert.deepEqual(names.filter((n) => n !== 'PWD').sort(), ['MARK', 'PATH', 'deploy_input']);
    const byDefault = await system.run(['/bin/sh', '-c', 'tr "\\0" "\\n" < /proc/self/environ']);
    assert.doesNotMatch(byDefault.stdout, /AWS_|CFN_SIGNAL/);
  });

  it('keeps a credential variable the caller set to a value of its own', () => {
    const out = withoutToolCredentials({ ...tool, AWS_SECRET_ACCESS_KEY: 'a-key-of-its-own' }, tool);
    assert.equal(out.AWS_SECRET_ACCESS_KEY, 'a-key-of-its-own');
    assert.equal(out.AWS_ACCESS_KEY_ID, undefined);
    assert.equal(out.MARK, 'kept');
  });
});

describe('withoutAuthenticationSecrets', () => {
  const blocks = { S3: { type: 'S3', accessKeyId: 'AKID', secretKey: 'sk', buckets: ['b'] }, Web: { type: 'basic', username: 'u', password: 'pw', uris: ['h'] } };
  const clean = { S3: { type: 'S3', buckets: ['b'] }, Web: { type: 'basic', username: 'u', uris: ['h'] } };

  it('leaves the blocks without their secrets at whatever depth a hook path reaches', () => {
    const metadata = { [AUTH]: blocks, other: { password: 'not a block field' } };
    assert.deepEqual(withoutAuthenticationSecrets(metadata, []), { [AUTH]: clean, other: { password: 'not a block field' } });
    assert.deepEqual(withoutAuthenticationSecrets(blocks, [AUTH]), clean);
    assert.deepEqual(withoutAuthenticationSecrets(blocks.Web, [AUTH, 'Web']), clean.Web);
    assert.equal(withoutAuthenticationSecrets('pw', [AUTH, 'Web', 'password']), undefined);
    assert.deepEqual(withoutAuthenticationSecrets(['h'], [AUTH, 'Web', 'uris']), ['h']);
    assert.equal(metadata[AUTH].S3.secretKey, 'sk', 'the input is not changed');
  });
});
