/**
 * The `packages` key: `{manager: {name: version | [versions] | "" | []}}`.
 *
 * Managers run in aws-cfn-bootstrap's order (rpm, apt, yum, dnf, then the
 * others alphabetically: python, rubygems), whatever the JSON order; several
 * managers in one config work (heat-cfntools crashes on Python 3). A manager
 * aws-cfn-bootstrap has no tool for is skipped with a warning (it ignores
 * it silently; an error under --strict); one it runs but cfntools does not
 * (zypper, msi) is a validation problem, and so is a manager whose program
 * is missing on the machine: nothing is installed when either is wrong.
 */
import { checkKeys, child, describe, expectObject, IGNORED, type JsonObject, type Problems, WINDOWS_UNSUPPORTED } from '../../validation';
import type { Action, HandlerContext, InitHandler, ValidationContext } from '../types';
import { apt } from './apt';
import { python } from './python';
import { rpm } from './rpm';
import { rubygems } from './rubygems';
import type { Batch, ManagerModule, PackageRequest } from './types';
import { dnf, yum } from './yum';

export type { BatchAction, PackageRequest } from './types';

/** Order of execution; also the set of supported managers. */
const MANAGERS: readonly ManagerModule<unknown>[] = [rpm, apt, yum, dnf, python, rubygems];
export const MANAGER_ORDER: readonly string[] = MANAGERS.map((m) => m.name);

/** Why a manager aws-cfn-bootstrap runs is not supported here. */
const UNSUPPORTED: Record<string, string> = {
  msi: `msi packages: ${WINDOWS_UNSUPPORTED}`,
  zypper: 'unknown package manager (zypper is not supported by cfntools)',
};

/** aws-cfn-bootstrap orders `dpkg` but has no tool for it: skipped like any unknown manager. */
const HINTS: Record<string, string> = { dpkg: ' (use the apt key for Debian packages)' };

export interface ManagerBatch extends Batch<unknown> {
  /** Key path of the manager's entry in the metadata, for messages. */
  path: string;
}

export type PackagesSpec = ManagerBatch[];

/** A version given as a string, a number (JSON `1.2`), or a list of them; `""`/`[]` mean any. */
function parseVersions(raw: unknown, p: string, problems: Problems): string[] | undefined {
  const one = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined);
  if (raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const v of list) {
    const s = one(v);
    if (s === undefined) {
      problems.add(p, `expected a version string, a list of versions, "" or [] (any version), got ${describe(raw)}`);
      return undefined;
    }
    if (s !== '') out.push(s);
  }
  return [...new Set(out)];
}

// Debian/RPM names, `name:arch`, pip extras `name[extra]`; no spaces or shell syntax.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+:~@\[\],-]*$/;

export function validatePackages(raw: unknown, path: string, ctx: Pick<ValidationContext, 'problems' | 'system'>): PackagesSpec | undefined {
  const problems = ctx.problems;
  const before = problems.list.length;
  const obj = expectObject(raw, path, problems);
  if (!obj) return undefined;
  const batches: ManagerBatch[] = [];
  for (const [manager, value] of Object.entries(obj)) {
    const mpath = child(path, manager);
    const mod = MANAGERS.find((m) => m.name === manager);
    if (!mod) {
      const why = UNSUPPORTED[manager.toLowerCase()];
      const expected = `expected one of ${MANAGER_ORDER.join(', ')}`;
      if (why) problems.add(mpath, manager.toLowerCase() === 'msi' ? why : `${why}; ${expected}`);
      else problems.tolerate(mpath, `unknown package manager${HINTS[manager.toLowerCase()] ?? ''}; ${expected}`, 'skipped');
      continue;
    }
    const entries = expectObject(value, mpath, problems);
    if (!entries) continue;
    const packages: PackageRequest[] = [];
    for (const [name, rawVersions] of Object.entries(entries)) {
      const ppath = child(mpath, name);
      if (!NAME.test(name)) {
        problems.add(ppath, 'not a valid package name');
        continue;
      }
      const versions = parseVersions(rawVersions, ppath, problems);
      if (versions === undefined) continue;
      const pkg = { name, versions };
      mod.check?.(pkg, mpath, problems);
      packages.push(pkg);
    }
    if (packages.length === 0) continue;
    const tools = mod.locate(ctx.system);
    if (typeof tools === 'string') {
      problems.add(mpath, tools);
      continue;
    }
    batches.push({ manager, tools, packages, path: mpath });
  }
  if (problems.list.length > before) return undefined;
  return batches.sort((a, b) => MANAGER_ORDER.indexOf(a.manager) - MANAGER_ORDER.indexOf(b.manager));
}

export async function planPackages(spec: PackagesSpec, ctx: HandlerContext): Promise<Action[]> {
  const actions: Action[] = [];
  for (const batch of spec) {
    const mod = MANAGERS.find((m) => m.name === batch.manager);
    if (!mod) throw new Error(`no package manager module for ${batch.manager}`); // validate() let it through: a bug
    for (const a of await mod.plan(batch, ctx)) actions.push(a);
  }
  return actions;
}

export const packagesHandler: InitHandler<PackagesSpec> = {
  key: 'packages',
  validate: validatePackages,
  plan: planPackages,
};

/** Unknown `{manager: ...}` keys elsewhere (a service's `packages`): never matched by a change, so ignored. */
export function checkManagerNames(obj: JsonObject, path: string, problems: Problems): void {
  checkKeys(obj, MANAGER_ORDER, path, problems, IGNORED);
}
