import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

describe('bundle dispatch', () => {
  it('names every tool and refuses an unknown one with exit 2', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cfntools.cjs'), 'nope'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    for (const t of ['cfn-init', 'cfn-signal', 'cfn-hup', 'cfn-push-stats', 'cfn-get-metadata', 'cfn-create-aws-symlinks']) {
      assert.match(r.stderr, new RegExp(t));
    }
  });
});
