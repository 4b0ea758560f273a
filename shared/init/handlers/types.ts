/**
 * The contract every Init key's handler implements (one module per key, like
 * cloud-init's cc_* modules): validate the raw JSON without touching the
 * machine, plan concrete actions from the machine's current state, then the
 * engine applies them in order and records what changed.
 */
import type { DurableWriter } from '../../durable-write';
import type { Limits } from '../limits';
import type { Logger } from '../../log';
import type { PrincipalDirectory } from '../principals';
import type { System } from '../../system';
import type { Problems } from '../validation';

/** The Init keys, in the order AWS documents and runs them. */
export const INIT_KEYS = ['packages', 'groups', 'users', 'sources', 'files', 'commands', 'services'] as const;
export type InitKey = (typeof INIT_KEYS)[number];

/**
 * What changed during this run. Services restart when something they list
 * changed anywhere in the run (AWS looks only at the current config).
 */
export class ChangeSet {
  /** manager → package names (the metadata keys). */
  readonly packages = new Map<string, Set<string>>();
  readonly groups = new Set<string>();
  readonly users = new Set<string>();
  readonly sources = new Set<string>();
  readonly files = new Set<string>();
  readonly commands = new Set<string>();

  record(change: Change): void {
    if (change.key === 'packages') {
      const set = this.packages.get(change.manager) ?? new Set<string>();
      set.add(change.name);
      this.packages.set(change.manager, set);
    } else {
      this[change.key].add(change.name);
    }
  }
}

export type Change =
  | { key: 'packages'; manager: string; name: string }
  | { key: 'groups' | 'users' | 'sources' | 'files' | 'commands'; name: string };

/** Which Authentication block a download uses, and how much of it is accepted. */
export interface DownloadOptions {
  authentication?: string;
  /** The most bytes accepted; more is a LimitError naming `limitName`. */
  maxBytes?: number;
  limitName?: string;
}

/** Downloads for files/sources, with AWS::CloudFormation::Authentication applied. */
export interface Downloader {
  /**
   * GET `url` (or read a local path for sources) into memory; `authentication`
   * names a block explicitly, otherwise blocks are matched by `uris`/`buckets`.
   */
  fetch(url: string, opts?: DownloadOptions): Promise<Buffer>;
  /** GET `url` into `file` (0600, replaced on each attempt), for what is too large for memory. */
  fetchToFile(url: string, file: string, opts?: DownloadOptions): Promise<void>;
  /** Names of the Authentication blocks, for validation. */
  readonly blockNames: ReadonlySet<string>;
}

/** What validation may know besides the raw JSON. */
export interface ValidationContext {
  problems: Problems;
  /** Users and groups that exist or that the selected configs declare (any config): owners may name them. */
  principals: PrincipalDirectory;
  /**
   * The nearest step before this config's keys that can create users and
   * groups (this config's packages, an earlier config's commands or
   * packages): a name unknown now may be looked up when it is used. Undefined
   * when nothing before can create one.
   */
  createdBy?: string;
  /** For lookups of existing users/groups and installed programs; no changes. */
  system: System;
  /** Names of AWS::CloudFormation::Authentication blocks. */
  authenticationNames: ReadonlySet<string>;
  /** Bounds that validation applies too (inline templates are rendered then). */
  limits: Limits;
}

export interface HandlerContext {
  logger: Logger;
  system: System;
  downloader: Downloader;
  /** Everything changed so far in this run (services read it to decide restarts). */
  changes: ChangeSet;
  /** True for --dry-run: plan only; planned changes are recorded as if applied. */
  dryRun: boolean;
  /** Key path prefix for errors found while applying: `configSets.default[1] -> config2.files`. */
  keyPath: string;
  /** Environment the tool was started with (commands without `env` inherit it). */
  env: NodeJS.ProcessEnv;
  /** Where command output goes (`/var/log/cfn-init-cmd.log`). */
  commandLog: Logger;
  /** Durable, crash-safe writes (files, sources). */
  writer: DurableWriter;
  /** Bounds on downloads, archives and templates (`--limit`). */
  limits: Limits;
}

export interface Action {
  /** One line for the log and for --dry-run: `install apt packages: nginx=1.22*, curl`. */
  summary: string;
  /** More lines for --dry-run: one per item of an action that does many things at once. */
  details?: readonly string[];
  /** What this action changes when it does something (a package batch changes several). */
  changes?: readonly Change[];
  /**
   * A named step that progress counts (a command): on --resume the steps
   * already done are not planned again, and a step that stops the run (for a
   * reboot) is checkpointed before it runs.
   */
  step?: { readonly name: string; readonly stopsRun: boolean };
  /**
   * Do it. Returns whether anything changed (an up-to-date file is not a
   * change) and, for an action of many items of which only some changed, which.
   */
  apply(ctx: HandlerContext): Promise<ActionResult>;
}

export interface ActionResult {
  changed: boolean;
  /** The part of `Action.changes` that did change; all of them when absent. */
  changes?: readonly Change[];
}

export interface InitHandler<Spec> {
  readonly key: InitKey;
  /**
   * Check the raw value of this key in one config; return the typed spec, or
   * undefined after adding problems (paths start at `path`, e.g. `config2.files`).
   * Must not change the machine.
   */
  validate(raw: unknown, path: string, ctx: ValidationContext): Spec | undefined;
  /** Decide what to do from the machine's current state; must not change the machine. */
  plan(spec: Spec, ctx: HandlerContext): Promise<Action[]>;
}
