/**
 * The `users` key: `{name: {uid?, groups?, homeDir?}}`, applied in name
 * order like aws-cfn-bootstrap. A new user is a system user without a home
 * directory created and with a nologin shell (`useradd -M -r --shell
 * /sbin/nologin`). An existing user gets `usermod` only when its
 * supplementary groups or home differ; one with another uid is an error,
 * found in plan() before any change.
 *
 * `groups` absent leaves an existing user's groups alone; `groups: []` removes
 * all supplementary groups (aws-cfn-bootstrap treats both as []).
 */
import { checkKeys, child, expectAbsolutePath, expectObject, expectStringList, IGNORED, MachineConflictError, Problems } from '../validation';
import type { Action, HandlerContext, InitHandler, ValidationContext } from './types';
import { ACCOUNT_NAME, expectId, locateSbin } from './groups';
import { HandlerError, commandAction, run } from './command';
import { checkPrincipal, lookupNote, UnknownPrincipalError, type PrincipalRef } from '../principals';

export interface UserSpec {
  name: string;
  uid?: number;
  /** Supplementary groups (names or gids); undefined leaves them as they are. */
  groups?: PrincipalRef[];
  homeDir?: string;
}

export interface UsersSpec {
  useradd: string;
  usermod: string;
  users: UserSpec[];
}

export function validateUsers(raw: unknown, path: string, ctx: Pick<ValidationContext, 'problems' | 'system' | 'principals' | 'createdBy'>): UsersSpec | undefined {
  const p = ctx.problems;
  const before = p.list.length;
  const obj = expectObject(raw, path, p);
  if (!obj) return undefined;
  const users: UserSpec[] = [];
  const uids = new Map<number, string>();
  for (const name of Object.keys(obj).sort()) {
    const upath = child(path, name);
    if (!ACCOUNT_NAME.test(name)) p.add(upath, 'not a valid user name');
    const entry = obj[name] === null ? {} : expectObject(obj[name], upath, p);
    if (!entry) continue;
    checkKeys(entry, ['uid', 'groups', 'homeDir'], upath, p, IGNORED);
    const user: UserSpec = { name };
    if ('uid' in entry) {
      user.uid = expectId(entry.uid, child(upath, 'uid'), p);
      const other = user.uid === undefined ? undefined : uids.get(user.uid);
      if (other) p.add(child(upath, 'uid'), `uid ${user.uid} is also requested for user ${other}`);
      if (user.uid !== undefined) uids.set(user.uid, name);
    }
    if ('groups' in entry) {
      const names = expectStringList(entry.groups, child(upath, 'groups'), p);
      const refs = (names ?? []).map((g) => checkPrincipal('group', g, child(upath, 'groups'), ctx, `group ${JSON.stringify(g)} does not exist`));
      if (names && refs.every((r) => r !== undefined)) user.groups = refs as PrincipalRef[];
    }
    if ('homeDir' in entry) user.homeDir = expectAbsolutePath(entry.homeDir, child(upath, 'homeDir'), p);
    users.push(user);
  }
  const useradd = users.length ? locateSbin(ctx.system, 'useradd', path, p) : 'useradd';
  const usermod = users.length ? locateSbin(ctx.system, 'usermod', path, p) : 'usermod';
  if (p.list.length > before || !useradd || !usermod) return undefined;
  return { useradd, usermod, users };
}

/**
 * Group names from names or gids, as the machine knows them now; a group
 * that an earlier step was to create and that is still missing is an error
 * (in a dry run nothing was installed, so it is taken as named).
 */
function groupNames(ctx: HandlerContext, upath: string, groups: readonly PrincipalRef[]): { names: string[]; notes: string[] } {
  const notes: string[] = [];
  const names = groups.map((g) => {
    const found = ctx.system.group(g.name)?.name;
    if (found === undefined && g.after !== undefined) {
      if (!ctx.dryRun) throw new UnknownPrincipalError(child(upath, 'groups'), 'group', g);
      notes.push(lookupNote('group', g, 'when the user is added')!);
    }
    return found ?? g.name;
  });
  return { names: [...new Set(names)], notes };
}

/** Every group the user is in, primary included, from `id -Gn` (NSS, as the shadow tools see it). */
async function currentGroups(ctx: HandlerContext, keyPath: string, name: string): Promise<Set<string>> {
  const r = await run(ctx, ['id', '-Gn', '--', name]);
  if (r.status !== 0) throw new HandlerError(keyPath, `cannot list the groups of ${name}: id exited ${r.status}: ${r.output.trim()}`);
  return new Set(r.stdout.trim().split(/\s+/).filter(Boolean));
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean => a.size === b.size && [...a].every((x) => b.has(x));

export async function planUsers(spec: UsersSpec, ctx: HandlerContext): Promise<Action[]> {
  const conflicts = new Problems();
  const actions: Action[] = [];
  for (const u of spec.users) {
    const upath = child(ctx.keyPath, u.name);
    const existing = ctx.system.user(u.name);
    const resolved = u.groups && groupNames(ctx, upath, u.groups);
    const groups = resolved?.names;
    const note = resolved?.notes.length ? `; ${resolved.notes.join('; ')}` : '';
    let argv: string[];
    let summary: string;
    if (!existing) {
      const holder = u.uid === undefined ? undefined : ctx.system.user(String(u.uid));
      if (holder) {
        conflicts.add(child(upath, 'uid'), `uid ${u.uid} already belongs to user ${holder.name}`);
        continue;
      }
      argv = [spec.useradd, '-M', '-r', '--shell', '/sbin/nologin'];
      if (u.homeDir !== undefined) argv.push('-d', u.homeDir);
      if (u.uid !== undefined) argv.push('-u', String(u.uid));
      if (groups?.length) argv.push('-G', groups.join(','));
      argv.push('--', u.name);
      summary = `users: add ${u.name}${u.uid === undefined ? '' : ` (uid ${u.uid})`}${groups?.length ? ` in ${groups.join(', ')}` : ''}`;
    } else {
      if (u.uid !== undefined && existing.uid !== u.uid) {
        conflicts.add(child(upath, 'uid'), `user ${u.name} exists with uid ${existing.uid}, but uid ${u.uid} was requested`);
        continue;
      }
      const what: string[] = [];
      argv = [spec.usermod];
      if (groups) {
        // id lists the primary group too; it counts as present whether or not it was asked for.
        const primary = ctx.system.group(String(existing.gid))?.name;
        const want = new Set([...groups, ...(primary ? [primary] : [])]);
        if (!sameSet(want, await currentGroups(ctx, upath, u.name))) {
          argv.push('-G', groups.join(','));
          what.push(`groups ${groups.join(', ') || '(none)'}`);
        }
      }
      if (u.homeDir !== undefined && existing.home !== u.homeDir) {
        argv.push('-d', u.homeDir);
        what.push(`home ${u.homeDir}`);
      }
      if (what.length === 0) {
        ctx.logger.debug(`users: ${u.name} is as requested, nothing to do`);
        continue;
      }
      argv.push('--', u.name);
      summary = `users: modify ${u.name}: ${what.join(', ')}`;
    }
    actions.push(commandAction(summary + note, { key: 'users', name: u.name }, upath, argv));
  }
  if (!conflicts.ok) throw new MachineConflictError(conflicts.list);
  return actions;
}

export const usersHandler: InitHandler<UsersSpec> = {
  key: 'users',
  validate: validateUsers,
  plan: planUsers,
};
