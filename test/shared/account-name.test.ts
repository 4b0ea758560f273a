/**
 * Names of users and groups the tools look up: what is refused where it is
 * read, and getent never reading a name as an option (real getent).
 */
import * as assert from 'node:assert/strict';
import { accountNameProblem, MAX_ACCOUNT_ID } from '../../shared/account-name';
import { HostSystem } from '../../shared/system';

describe('account names', () => {
  it('refuses only what no directory holds or a program would misread: a leading "-", ":", control characters, NUL, too long, an id out of range', () => {
    for (const ok of ['root', 'nobody', 'www-data', 'svc_app.1', 'user@example.com', 'EXAMPLE\\jdoe', 'domain users', '0', String(MAX_ACCOUNT_ID), 'a'.repeat(255)]) {
      assert.equal(accountNameProblem('user', ok), undefined, ok);
    }
    assert.equal(accountNameProblem('user', '--service=files'), 'a user name cannot start with "-"');
    assert.equal(accountNameProblem('group', '-g0'), 'a group name cannot start with "-"');
    assert.equal(accountNameProblem('user', 'ro:ot'), 'a user name cannot hold ":" or a control character');
    assert.equal(accountNameProblem('user', 'root\nINFO forged'), 'a user name cannot hold ":" or a control character');
    assert.equal(accountNameProblem('user', 'ro\0ot'), 'a user name cannot hold a NUL byte');
    assert.equal(accountNameProblem('user', ''), 'a user name cannot be empty');
    assert.equal(accountNameProblem('user', 'a'.repeat(256)), 'a user name has at most 255 characters, got 256');
    assert.equal(accountNameProblem('group', String(MAX_ACCOUNT_ID + 1)), `group id ${MAX_ACCOUNT_ID + 1} is out of range (0 to ${MAX_ACCOUNT_ID})`);
  });

  it('getent never takes a name for an option: "--service=files" is no user and no group, where getent alone lists root first', () => {
    const host = new HostSystem();
    assert.equal(host.user('--service=files'), undefined);
    assert.equal(host.group('--service=files'), undefined);
    assert.equal(host.user('-s'), undefined);
    assert.deepEqual([host.user('root')?.uid, host.user('0')?.name, host.group('root')?.gid], [0, 'root', 0]);
  });
});
