/**
 * groups and users on the real machine (groupadd/useradd/usermod), with
 * unique cfntest-* names, removed after.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { groupsHandler } from '../../shared/init/handlers/groups';
import { usersHandler } from '../../shared/init/handlers/users';
import { HostSystem } from '../../shared/system';
import { MachineConflictError } from '../../shared/init/validation';
import { applyKey, handlerContext, TestSystem, uniqueName, validate, validationContext } from './support/handler-harness';

const host = new HostSystem();
/** An id free for both users and groups, from a range distributions leave alone. */
function freeId(taken: Set<number>): number {
  for (;;) {
    const id = 40000 + Math.floor(Math.random() * 20000);
    if (!taken.has(id) && !host.user(String(id)) && !host.group(String(id))) {
      taken.add(id);
      return id;
    }
  }
}
const groupsOf = (user: string): string[] => execFileSync('id', ['-Gn', user], { encoding: 'utf8' }).trim().split(/\s+/).sort();

describe('cfn-init groups and users (real shadow utilities)', function () {
  this.timeout(60_000);
  const env = process.env;
  const taken = new Set<number>();
  const [g1, g2, g3] = [uniqueName(), uniqueName(), uniqueName()];
  const [u1, u2] = [uniqueName(), uniqueName()];
  let gid1: number;
  let uid1: number;

  before(() => {
    gid1 = freeId(taken);
    uid1 = freeId(taken);
  });
  after(() => {
    for (const u of [u1, u2]) if (host.user(u)) spawnSync('userdel', [u]);
    for (const g of [g1, g2, g3]) if (host.group(g)) spawnSync('groupdel', [g]);
    for (const n of [u1, u2, g1, g2, g3]) assert.equal(host.user(n) ?? host.group(n), undefined, `cleanup of ${n}`);
  });

  describe('groups', () => {
    it('adds groups in name order as system groups, with the requested gid; plans nothing the second time', async () => {
      const ctx = handlerContext({ env });
      const [first, second] = [g1, g2].sort();
      const raw = { [g2]: {}, [g1]: { gid: String(gid1) } };
      const actions = await applyKey(groupsHandler, raw, ctx);
      assert.deepEqual(actions.map((a) => a.summary), [first, second].map((g) => (g === g1 ? `groups: add ${g1} (gid ${gid1})` : `groups: add ${g2}`)));
      assert.equal(host.group(g1)?.gid, gid1);
      assert.ok((host.group(g2)?.gid ?? 99999) < 1000, 'groupadd -r: a system gid');
      assert.deepEqual([...ctx.changes.groups].sort(), [g1, g2].sort());
      assert.deepEqual(await applyKey(groupsHandler, { [g1]: { gid: gid1 }, [g2]: null }, handlerContext({ env })), []);
    });

    it('an existing group with another gid is an error found in plan(), before any group is added', async () => {
      const other = freeId(taken);
      await assert.rejects(applyKey(groupsHandler, { [g3]: {}, [g1]: { gid: other } }, handlerContext({ env })), (err: unknown) => {
        assert.ok(err instanceof MachineConflictError);
        assert.deepEqual(err.problems, [{ path: `config.groups.${g1}.gid`, message: `group ${g1} exists with gid ${gid1}, but gid ${other} was requested` }]);
        return true;
      });
      assert.equal(host.group(g3), undefined, 'no group was added');
    });

    it('a gid that belongs to another group is an error', async () => {
      await assert.rejects(applyKey(groupsHandler, { [g3]: { gid: gid1 } }, handlerContext({ env })), new RegExp(`gid ${gid1} already belongs to group ${g1}`));
      assert.equal(host.group(g3), undefined);
    });

    it('validates gids and names', () => {
      const { problems, tolerated } = validate(groupsHandler, { a: { gid: 'x1' }, b: { gid: -1 }, c: { gid: 7, extra: 1 }, d: { gid: 7 }, '12': {}, 'e:f': {} }, validationContext(new TestSystem(env)));
      assert.deepEqual(problems.map((p) => p.path), ['config.groups.12', 'config.groups.a.gid', 'config.groups.b.gid', 'config.groups.d.gid', 'config.groups.e:f']);
      // aws-cfn-bootstrap reads only gid.
      assert.deepEqual(tolerated, [{ path: 'config.groups.c.extra', message: 'unknown key; expected one of gid', tolerated: 'ignored' }]);
    });
  });

  describe('users', () => {
    it('adds a system user without creating its home, with nologin, uid and groups; plans nothing the second time', async () => {
      const home = `/nonexistent/${u1}`;
      const ctx = handlerContext({ env });
      const actions = await applyKey(usersHandler, { [u1]: { uid: uid1, groups: [g1, g2], homeDir: home } }, ctx);
      assert.deepEqual(actions.map((a) => a.summary), [`users: add ${u1} (uid ${uid1}) in ${g1}, ${g2}`]);
      const u = host.user(u1);
      assert.deepEqual(u && { uid: u.uid, home: u.home, shell: u.shell }, { uid: uid1, home, shell: '/sbin/nologin' });
      assert.ok(!fs.existsSync(home));
      assert.ok([g1, g2].every((g) => groupsOf(u1).includes(g)));
      assert.deepEqual([...ctx.changes.users], [u1]);
      assert.deepEqual(await applyKey(usersHandler, { [u1]: { uid: String(uid1), groups: [g2, g1], homeDir: home } }, handlerContext({ env })), []);
    });

    it('modifies an existing user only where groups or home differ', async () => {
      const ctx = handlerContext({ env });
      const actions = await applyKey(usersHandler, { [u1]: { groups: [g1], homeDir: `/srv/${u1}` } }, ctx);
      assert.deepEqual(actions.map((a) => a.summary), [`users: modify ${u1}: groups ${g1}, home /srv/${u1}`]);
      assert.ok(groupsOf(u1).includes(g1) && !groupsOf(u1).includes(g2));
      assert.equal(host.user(u1)?.home, `/srv/${u1}`);
      // No groups key: the groups stay; listing the primary group changes nothing either.
      const primary = host.group(String(host.user(u1)?.gid))?.name as string;
      assert.deepEqual(await applyKey(usersHandler, { [u1]: {} }, handlerContext({ env })), []);
      assert.deepEqual(await applyKey(usersHandler, { [u1]: { groups: [g1, primary] } }, handlerContext({ env })), []);
      assert.ok(groupsOf(u1).includes(g1));
    });

    it('an existing user with another uid is an error found in plan(), before any user is added', async () => {
      const other = freeId(taken);
      await assert.rejects(applyKey(usersHandler, { [u2]: {}, [u1]: { uid: other } }, handlerContext({ env })), (err: unknown) => {
        assert.ok(err instanceof MachineConflictError);
        assert.deepEqual(err.problems.map((p) => p.path), [`config.users.${u1}.uid`]);
        assert.match(err.message, new RegExp(`user ${u1} exists with uid ${uid1}, but uid ${other} was requested`));
        return true;
      });
      assert.equal(host.user(u2), undefined, 'no user was added');
    });

    it('validates groups (on the machine or declared by a selected config), uid and homeDir', () => {
      const vctx = validationContext(new TestSystem(env), { groups: ['declared-later'] });
      const { spec, problems, tolerated } = validate(
        usersHandler,
        { a: { groups: [g1, 'declared-later', 'cfntest-nosuchgroup'] }, b: { uid: 'abc' }, c: { homeDir: 'rel/home' }, d: { shell: '/bin/sh' } },
        vctx,
      );
      assert.equal(spec, undefined);
      assert.deepEqual(problems.map((p) => `${p.path}: ${p.message}`), [
        'config.users.a.groups: group "cfntest-nosuchgroup" does not exist, and no selected config creates it',
        'config.users.b.uid: expected a number or a numeric string, got string "abc"',
        'config.users.c.homeDir: expected an absolute path, got "rel/home"',
      ]);
      assert.deepEqual(tolerated, [{ path: 'config.users.d.shell', message: 'unknown key; expected one of uid, groups, homeDir', tolerated: 'ignored' }]);
    });
  });
});
