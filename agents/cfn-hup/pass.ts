/**
 * One check of every hook: each watched resource is fetched once; a
 * resource being created, updated or deleted (`*_IN_PROGRESS`) is left for a
 * later pass; each hook's value is compared, as JSON, with the one it last
 * handled, and its action runs when one of its triggers says so:
 *
 * | trigger       | fires when                                          |
 * | post.add      | no value before, a value now                        |
 * | post.update   | a value before and now, and they differ             |
 * | post.remove   | a value before, none now                            |
 *
 * "No value" is absent, null, or an empty object, list or string (AWS
 * counts 0 and false as none too; they are values here). A value never seen
 * before is compared with what cfn-init last applied from that resource,
 * when the hook watches its metadata and cfn-init has applied it; otherwise
 * it is recorded, as aws-cfn-bootstrap does, and fires post.add only.
 *
 * A successful action records the new value. A failed one (non-zero exit,
 * timeout) is tried again on later passes, after a growing wait, up to the
 * hook-retries bound; then the change is recorded as handled and the failure
 * logged. A newer change starts afresh. Nothing here lets one hook or one
 * resource stop the others.
 */
import type { StackResourceDetail } from '../../shared/cfn-api';
import { ApiError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { lookup } from '../../shared/key-path';
import { jsonEqual } from '../../shared/metadata-hash';
import { pythonJsonDumpsWithin } from '../../shared/pyjson';
import { redact } from '../../shared/redact';
import { withoutAuthenticationSecrets } from '../../shared/init/auth-secrets';
import type { RunResult } from '../../shared/system';
import { parseRetryAfter } from '../../shared/backoff';
import type { Hook, HookPath, HupConfig, Trigger } from './config';
import type { HupState } from './state';

/** The most of a value passed in CFN_OLD_/CFN_NEW_ variables; Linux refuses one environment string over 128 KiB. */
export const MAX_ENV_VALUE_CHARS = 100 * 1024;

export interface PassDeps {
  describe(resource: string): Promise<StackResourceDetail>;
  /** Run a hook's action with these variables added to cfn-hup's environment. */
  run(hook: Hook, extraEnv: Record<string, string>): Promise<RunResult>;
  /** The metadata cfn-init last applied from `resource`, if it did. */
  applied(resource: string): unknown;
  now(): number;
  logger: Logger;
  state: HupState;
  /** True once cfn-hup was asked to stop: no further action starts. */
  stopping(): boolean;
}

export interface PassResult {
  /** What each watched resource answered this pass (absent: it could not be fetched). */
  details: Map<string, StackResourceDetail>;
  /** Resources that could not be fetched. */
  fetchFailures: number;
  retryAfterMs?: number;
  actionsRun: number;
  actionsFailed: number;
}

export function hasValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** The trigger a change from `old` to `now` pulls, if the hook listens for it. */
export function firedTrigger(old: unknown, now: unknown, triggers: readonly Trigger[]): Trigger | undefined {
  const before = hasValue(old);
  const after = hasValue(now);
  const t: Trigger | undefined = !before && after ? 'post.add' : before && !after ? 'post.remove' : before && after && !jsonEqual(old, now) ? 'post.update' : undefined;
  return t && triggers.includes(t) ? t : undefined;
}

/** Timestamps compare as instants: `...T14:00:00Z` and `...T14:00:00.000Z` are the same time. */
function instant(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

export function extractValue(detail: StackResourceDetail, p: HookPath): unknown {
  if (detail.resourceStatus === 'DELETE_COMPLETE') return undefined;
  if (p.kind === 'physical-id') return detail.physicalResourceId;
  if (p.kind === 'last-updated') return instant(detail.lastUpdatedTimestamp);
  const found = lookup(detail.metadata ?? null, p.segments);
  return found.found ? found.value : undefined;
}

const ENV_NAMES: Record<HookPath['kind'], string> = { metadata: 'METADATA', 'physical-id': 'PHYSICAL_RESOURCE_ID', 'last-updated': 'LAST_UPDATED' };

/**
 * A metadata value as a hook that runs as another user sees it: without the
 * Authentication blocks' secrets, and every string with the secrets this
 * process knows masked (Heat templates put the stack user's key in a `files`
 * content for cfn-hup's own credential file).
 */
export function metadataForRunas(value: unknown, segments: readonly string[]): unknown {
  const masked = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(masked);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, masked(x)]));
    return v;
  };
  return masked(withoutAuthenticationSecrets(value, segments));
}

/**
 * CFN_OLD_<KIND> and CFN_NEW_<KIND>, as aws-cfn-bootstrap sets them: strings
 * as they are, other values as Python's json.dumps, none when empty. A hook
 * with `runas` gets the metadata without its secrets (metadataForRunas).
 */
export function actionEnv(hook: Hook, old: unknown, now: unknown, logger: Logger): Record<string, string> {
  const env: Record<string, string> = {};
  const shown = (v: unknown) => (hook.runas !== undefined && hook.path.kind === 'metadata' ? metadataForRunas(v, hook.path.segments) : v);
  for (const [side, value] of [['OLD', shown(old)], ['NEW', shown(now)]] as const) {
    if (!hasValue(value)) continue;
    const name = `CFN_${side}_${ENV_NAMES[hook.path.kind]}`;
    // Built only up to the bound: a value of millions of items is never written out whole.
    const text = typeof value === 'string' ? value : pythonJsonDumpsWithin(value, MAX_ENV_VALUE_CHARS);
    if (text === undefined) logger.warn(`hook ${hook.name}: ${name} not set: the value is longer than the ${MAX_ENV_VALUE_CHARS} characters passed`);
    else if (text.length > MAX_ENV_VALUE_CHARS) logger.warn(`hook ${hook.name}: ${name} not set: the value is ${text.length} characters, more than the ${MAX_ENV_VALUE_CHARS} passed`);
    else env[name] = text;
  }
  return env;
}

/** How long after its failure number `failures` a hook is tried again: one interval, doubling, at most an hour (or one interval). */
export function actionRetryDelayMs(failures: number, intervalMs: number): number {
  return Math.max(intervalMs, Math.min(intervalMs * 2 ** (failures - 1), 60 * 60_000));
}

/** The stack name inside an ARN (`arn:...:stack/<name>/<id>`, Heat's `stacks/<name>/<id>`), for cfn-init's cache. */
export function stackNameOf(stack: string): string {
  const m = /^arn:[^:]*:[^:]*:[^:]*:[^:]*:stacks?\/([^/]+)\//.exec(stack);
  return m ? m[1] : stack;
}

function logOutput(logger: Logger, hook: Hook, r: RunResult): void {
  const text = r.output.trimEnd();
  if (!text) return;
  logger.info(`hook ${hook.name} output:`);
  for (const line of text.split('\n')) logger.info(`  | ${line}`);
}

async function runHook(hook: Hook, key: string, old: unknown, now: unknown, trigger: Trigger, config: HupConfig, deps: PassDeps, result: PassResult): Promise<void> {
  const { logger, state } = deps;
  if (deps.stopping()) return;
  const pending = state.pendingOf(key);
  const retrying = pending !== undefined && jsonEqual(pending.value, now);
  if (retrying && pending.nextAt > deps.now()) {
    logger.debug(`hook ${hook.name}: ${trigger} still pending; next try at ${new Date(pending.nextAt).toISOString()}`);
    return;
  }
  const attempt = (retrying ? pending.failures : 0) + 1;
  const attempts = config.main.hookRetries + 1;
  logger.notice(`hook ${hook.name}: ${trigger} of ${hook.pathText}${attempt > 1 ? ` (attempt ${attempt} of ${attempts})` : ''}: running ${JSON.stringify(hook.action)}${hook.runas ? ` as ${hook.runas}` : ''}`);
  result.actionsRun++;
  let r: RunResult | undefined;
  let failure: string | undefined;
  try {
    r = await deps.run(hook, actionEnv(hook, old, now, logger));
    logOutput(logger, hook, r);
    if (r.timedOut) failure = `timed out after ${hook.timeoutMs / 1000} s and was stopped`;
    else if (r.status !== 0) failure = `exited with code ${r.status}`;
  } catch (err) {
    failure = `could not run: ${errorMessage(err)}`;
  }
  if (failure === undefined) {
    logger.notice(`hook ${hook.name}: succeeded`);
    state.set(key, now);
  } else if (attempt >= attempts) {
    result.actionsFailed++;
    logger.error(`hook ${hook.name}: ${failure}; giving up after ${attempt} attempt(s): this change counts as handled, the next one runs the action again`);
    state.set(key, now);
  } else {
    result.actionsFailed++;
    const nextAt = deps.now() + actionRetryDelayMs(attempt, config.main.intervalMs);
    logger.error(`hook ${hook.name}: ${failure}; trying again at the first check after ${new Date(nextAt).toISOString()} (attempt ${attempt} of ${attempts})`);
    state.setPending(key, { value: now, failures: attempt, nextAt });
  }
  await state.save();
}

export async function runPass(config: HupConfig, deps: PassDeps): Promise<PassResult> {
  const { logger, state } = deps;
  const result: PassResult = { details: new Map(), fetchFailures: 0, actionsRun: 0, actionsFailed: 0 };
  for (const resource of new Set(config.hooks.map((h) => h.path.resource))) {
    if (deps.stopping()) return result;
    try {
      result.details.set(resource, await deps.describe(resource));
    } catch (err) {
      result.fetchFailures++;
      if (err instanceof ApiError) {
        const asked = parseRetryAfter(err.retryAfter, new Date(deps.now()));
        if (asked !== undefined) result.retryAfterMs = Math.max(result.retryAfterMs ?? 0, asked);
      }
      logger.error(`cannot check ${config.main.stack}/${resource}: ${errorMessage(err)}; its hooks wait for the next check`);
    }
  }
  for (const hook of config.hooks) {
    if (deps.stopping()) break;
    if (!hook.triggers.some((t) => t !== 'service.restarted')) continue;
    const detail = result.details.get(hook.path.resource);
    if (!detail) continue;
    if (detail.resourceStatus?.endsWith('_IN_PROGRESS')) {
      logger.debug(`hook ${hook.name}: ${hook.path.resource} is ${detail.resourceStatus}; checked again next time`);
      continue;
    }
    // While Heat replaces a resource, the old copy may answer as DELETE_COMPLETE: only a hook that
    // asks about removals takes that for an answer, the others wait for the resource that replaces it.
    if (detail.resourceStatus === 'DELETE_COMPLETE' && !hook.triggers.includes('post.remove')) continue;
    const key = `${hook.name}|${hook.pathText}`;
    const now = extractValue(detail, hook.path);
    let old: unknown;
    if (state.has(key)) old = state.get(key);
    else if (hook.path.kind === 'metadata') {
      const applied = deps.applied(hook.path.resource);
      if (applied !== undefined) {
        const found = lookup(applied ?? null, hook.path.segments);
        old = found.found ? found.value : undefined;
        logger.debug(`hook ${hook.name}: first check; compared with what cfn-init last applied`);
      }
    }
    const trigger = firedTrigger(old, now, hook.triggers);
    if (trigger) {
      await runHook(hook, key, old, now, trigger, config, deps, result);
      continue;
    }
    if (!state.has(key) || !jsonEqual(state.get(key), now ?? null) || state.pendingOf(key)) {
      if (!state.has(key)) logger.debug(`hook ${hook.name}: first check; value recorded`);
      state.set(key, now);
      await state.save();
    }
  }
  return result;
}
