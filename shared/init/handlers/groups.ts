/**
 * The `groups` key: `{name: {gid?}}`, applied in name order like
 * aws-cfn-bootstrap with `groupadd -r [-g gid] name`. An existing group is
 * left alone; one whose gid differs from the requested gid is an error, found
 * in plan() before any group is added (heat-cfntools only logs groupadd's
 * exit status and carries on).
 */
import { checkKeys, child, describe, expectObject, IGNORED, MachineConflictError, Problems } from '../validation';
import type { System } from '../../system';
import type { Action, HandlerContext, InitHandler, ValidationContext } from './types';
import { commandAction } from './command';

export interface GroupSpec {
  name: string;
  gid?: number;
}

export interface GroupsSpec {
  groupadd: string;
  groups: GroupSpec[];
}

/** Names the shadow utilities accept everywhere: no `:`, `,`, whitespace or `/`, not all digits, no leading `-`. */
export const ACCOUNT_NAME = /^(?!-)(?!\d+$)[^:,\s/]{1,32}$/;

/** A uid/gid: a non-negative integer, or a string of digits (CloudFormation turns numbers into strings). */
export function expectId(value: unknown, path: string, problems: Problems): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(n) && n >= 0 && n < 2 ** 32 - 1) return n;
  problems.add(path, `expected a number or a numeric string, got ${describe(value)}`);
  return undefined;
}

/** The program, or a problem: shadow utilities live in sbin, which a non-root PATH may lack. */
export function locateSbin(system: System, name: string, path: string, problems: Problems): string | undefined {
  const found = system.which(name) ?? system.which(`/usr/sbin/${name}`);
  if (!found) problems.add(path, `${name} is not on PATH`);
  return found;
}

export function validateGroups(raw: unknown, path: string, ctx: Pick<ValidationContext, 'problems' | 'system'>): GroupsSpec | undefined {
  const p = ctx.problems;
  const before = p.list.length;
  const obj = expectObject(raw, path, p);
  if (!obj) return undefined;
  const groups: GroupSpec[] = [];
  const gids = new Map<number, string>();
  for (const name of Object.keys(obj).sort()) {
    const gpath = child(path, name);
    if (!ACCOUNT_NAME.test(name)) p.add(gpath, 'not a valid group name');
    const value = obj[name];
    // `{}` and null alike mean "no gid": AWS templates use both.
    const entry = value === null ? {} : expectObject(value, gpath, p);
    if (!entry) continue;
    checkKeys(entry, ['gid'], gpath, p, IGNORED);
    const gid = 'gid' in entry ? expectId(entry.gid, child(gpath, 'gid'), p) : undefined;
    if (gid !== undefined) {
      const other = gids.get(gid);
      if (other) p.add(child(gpath, 'gid'), `gid ${gid} is also requested for group ${other}`);
      gids.set(gid, name);
    }
    groups.push(gid === undefined ? { name } : { name, gid });
  }
  const groupadd = groups.length ? locateSbin(ctx.system, 'groupadd', path, p) : 'groupadd';
  if (p.list.length > before || !groupadd) return undefined;
  return { groupadd, groups };
}

export async function planGroups(spec: GroupsSpec, ctx: HandlerContext): Promise<Action[]> {
  const conflicts = new Problems();
  const actions: Action[] = [];
  for (const g of spec.groups) {
    const gpath = child(ctx.keyPath, g.name);
    const existing = ctx.system.group(g.name);
    if (existing) {
      if (g.gid !== undefined && existing.gid !== g.gid) conflicts.add(child(gpath, 'gid'), `group ${g.name} exists with gid ${existing.gid}, but gid ${g.gid} was requested`);
      else ctx.logger.debug(`groups: ${g.name} exists (gid ${existing.gid}), nothing to do`);
      continue;
    }
    const holder = g.gid === undefined ? undefined : ctx.system.group(String(g.gid));
    if (holder) {
      conflicts.add(child(gpath, 'gid'), `gid ${g.gid} already belongs to group ${holder.name}`);
      continue;
    }
    const argv = [spec.groupadd, '-r', ...(g.gid === undefined ? [] : ['-g', String(g.gid)]), '--', g.name];
    const summary = `groups: add ${g.name}${g.gid === undefined ? '' : ` (gid ${g.gid})`}`;
    actions.push(commandAction(summary, { key: 'groups', name: g.name }, gpath, argv));
  }
  // Refuse the whole key before adding anything: a half-created set of groups helps nobody.
  if (!conflicts.ok) throw new MachineConflictError(conflicts.list);
  return actions;
}

export const groupsHandler: InitHandler<GroupsSpec> = {
  key: 'groups',
  validate: validateGroups,
  plan: planGroups,
};

