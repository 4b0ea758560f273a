/**
 * Users and groups that the metadata names: a file's owner and group, a
 * command's `runas`, a user's supplementary groups.
 *
 * Validation accepts a name that exists now or that a selected `users` /
 * `groups` key declares. A name that is neither is accepted too when an
 * earlier step of the run can create it: a package (httpd's install scripts
 * create `apache`), or a command (`adduser jenkins`). Such a name is looked
 * up just before it is used, and a name still unknown then is an error
 * naming its key path, raised before the thing that needed it is touched.
 * With no earlier step that could create it, validation refuses it.
 */
import { accountNameProblem, type AccountKind } from '../account-name';
import { CfnError } from '../errors';
import type { System } from '../system';
import type { Problems } from './validation';

export type PrincipalKind = AccountKind;

/** Existence of users and groups during validation: the machine now, plus what the selected configs declare. */
export interface PrincipalDirectory {
  /** True for a number (an id needs no name), a name on the machine, or one a selected config declares. */
  known(kind: PrincipalKind, name: string): boolean;
}

/** Looked up once per name: validation may ask about the same owner for every file. */
export function principalDirectory(system: Pick<System, 'user' | 'group'>, declared: { users: Iterable<string>; groups: Iterable<string> }): PrincipalDirectory {
  const users = new Set(declared.users);
  const groups = new Set(declared.groups);
  const seen = new Map<string, boolean>();
  return {
    known(kind, name) {
      if (/^\d+$/.test(name)) return true;
      const key = `${kind}:${name}`;
      let ok = seen.get(key);
      if (ok === undefined) {
        ok = kind === 'user' ? users.has(name) || system.user(name) !== undefined : groups.has(name) || system.group(name) !== undefined;
        seen.set(key, ok);
      }
      return ok;
    },
  };
}

/** A name as validated. */
export interface PrincipalRef {
  name: string;
  /** Not known at validation: looked up when used, after this earlier step (`packages`, `the commands of config install`). */
  after?: string;
}

export interface PrincipalCheckContext {
  problems: Problems;
  principals: PrincipalDirectory;
  /** The nearest earlier step of the run that can create users and groups; undefined when there is none. */
  createdBy?: string;
}

/**
 * A known name, a name to look up later (an earlier step may create it), or
 * a problem at `at` (`missing` says what is wrong, e.g. `no such user "x" on this machine`).
 */
export function checkPrincipal(kind: PrincipalKind, name: string, at: string, ctx: PrincipalCheckContext, missing: string): PrincipalRef | undefined {
  const bad = accountNameProblem(kind, name);
  if (bad) {
    ctx.problems.add(at, bad);
    return undefined;
  }
  if (ctx.principals.known(kind, name)) return { name };
  if (ctx.createdBy !== undefined) return { name, after: ctx.createdBy };
  ctx.problems.add(at, `${missing}, and no selected config creates it`);
  return undefined;
}

/** For the plan: `owner apache: looked up when the file is written, after packages`. */
export function lookupNote(label: string, ref: PrincipalRef, when: string): string | undefined {
  return ref.after === undefined ? undefined : `${label} ${ref.name}: looked up ${when}, after ${ref.after}`;
}

/** A name that validation let through for an earlier step to create, still unknown when it was needed. */
export class UnknownPrincipalError extends CfnError {
  constructor(
    readonly keyPath: string,
    readonly kind: PrincipalKind,
    readonly principal: PrincipalRef,
  ) {
    super(`${keyPath}: no such ${kind} ${JSON.stringify(principal.name)}${principal.after !== undefined ? ` (it was expected to exist after ${principal.after})` : ''}`);
  }
}
