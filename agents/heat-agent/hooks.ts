/**
 * Where heat-config's hooks are and which one a group runs, as
 * 55-heat-config finds them: the directories `$HEAT_CONFIG_HOOKS`,
 * `/usr/libexec/heat-config/hooks` (packages), `/var/lib/heat-config/hooks`
 * (diskimage-builder's heat-config elements), the first that holds the
 * hook wins; the hook's file name is the group with everything but
 * letters, digits, `-` and `_` left out. `--hooks-dir` names the only one.
 * A hook runs as root: one that another user could change or replace
 * (trusted-file.ts, the rule cfn-hup's hooks follow) is not run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../../shared/errors';
import { heatConfigDir } from '../../shared/paths';
import { untrustedReason } from '../../shared/trusted-file';

export const PACKAGED_HOOKS_DIR = '/usr/libexec/heat-config/hooks';

/** The directories searched, in order. */
export function hookDirs(env: NodeJS.ProcessEnv, override?: string): string[] {
  if (override) return [override];
  return [env.HEAT_CONFIG_HOOKS, PACKAGED_HOOKS_DIR, path.join(heatConfigDir(env), 'hooks')].filter((d): d is string => !!d);
}

/** The hook file a group runs (`Heat::Ungrouped` → `HeatUngrouped`). */
export function hookName(group: string): string {
  return group.replace(/[^A-Za-z0-9_-]/g, '');
}

/** The group's hook in the first directory that has it. */
export function findHook(dirs: readonly string[], group: string): string | undefined {
  const name = hookName(group);
  if (!name) return undefined;
  for (const dir of dirs) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

/** Why the hook `file` must not run (not a regular file, or others could change it); undefined when it may. */
export function hookProblem(file: string): string | undefined {
  let why: string | undefined;
  try {
    const st = fs.statSync(file);
    why = st.isFile() ? untrustedReason(file, st) : 'is not a regular file';
  } catch (err) {
    // Gone or unreadable since it was found: said, as a hook that cannot run.
    return `hook ${file} cannot be checked: ${errorMessage(err)}`;
  }
  return why && `hook ${file} ${why}: not run, as whoever can change it would run commands as root`;
}
