/** Shapes shared by the package-manager modules. */
import type { System } from '../../../system';
import type { Problems } from '../../validation';
import type { Action, Change, HandlerContext } from '../types';

/** One metadata entry: `"nginx": "1.22"`, `["1.0", "1.2"]`, `""` or `[]` (= any version). */
export interface PackageRequest {
  /** The metadata key (for rpm: a label; the location is in `versions`). */
  name: string;
  /** Requested versions (rpm: locations); empty means "any version, newest when installing". */
  versions: string[];
}

/** The packages of one manager in one config, with the programs found at validation. */
export interface Batch<Tools> {
  /** The metadata key, e.g. `yum` even when dnf does the work: restarts and changes name it. */
  manager: string;
  tools: Tools;
  packages: PackageRequest[];
}

export interface ManagerModule<Tools> {
  readonly name: string;
  /**
   * Find the programs this manager needs on the machine (validation time, so
   * nothing is half-applied when one is missing); a string is the problem.
   */
  locate(system: System): Tools | string;
  /** Manager-specific checks of one entry (already parsed into a request). */
  check?(pkg: PackageRequest, path: string, problems: Problems): void;
  plan(batch: Batch<Tools>, ctx: HandlerContext): Promise<Action[]>;
}

/** One action per manager batch, one change per package. */
export interface BatchAction extends Action {
  readonly changes: readonly Change[];
}

export function packageChanges(manager: string, names: Iterable<string>): Change[] {
  return [...new Set(names)].map((name) => ({ key: 'packages', manager, name }));
}

/** Build the batch action; apply() returns changed only when the work ran. */
export function batchAction(summary: string, changes: Change[], work: (ctx: HandlerContext) => Promise<void>): BatchAction {
  return {
    summary,
    changes,
    async apply(ctx) {
      await work(ctx);
      return { changed: true };
    },
  };
}
