/**
 * Drives one cfn-init handler the way the engine does (validate, plan, apply,
 * record changes) against the real machine, with a private environment: the
 * tool environment given to the handler, and `which` looking in that
 * environment's PATH so stand-ins and virtualenvs placed first are found.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DurableWriter } from '../../../shared/durable-write';
import { MemoryLogger } from '../../../shared/log';
import { principalDirectory } from '../../../shared/init/principals';
import { DEFAULT_LIMITS, type Limits } from '../../../shared/init/limits';
import { HostSystem } from '../../../shared/system';
import { ChangeSet, type Action, type Downloader, type HandlerContext, type InitHandler, type ValidationContext } from '../../../shared/init/handlers/types';
import { Problems } from '../../../shared/init/validation';

/** `cfntest-<8 hex>`: unique per call, short enough for user and group names. */
export const uniqueName = (prefix = 'cfntest'): string => `${prefix}-${crypto.randomBytes(4).toString('hex')}`;

/** The real machine, with programs looked up in the test's environment (stand-ins and venvs first on PATH). */
export class TestSystem extends HostSystem {
  constructor(override readonly env: NodeJS.ProcessEnv) {
    super(env);
  }
}

/** A Downloader over a map of URL → body; unknown URLs fail like a 404. */
export function mapDownloader(files: Record<string, Buffer>): Downloader & { fetched: string[] } {
  const fetched: string[] = [];
  return {
    fetched,
    blockNames: new Set(),
    async fetch(url: string) {
      fetched.push(url);
      const body = files[url];
      if (!body) throw new Error(`HTTP 404 for ${url}`);
      return body;
    },
    async fetchToFile(url: string, file: string) {
      fs.writeFileSync(file, await this.fetch(url));
    },
  };
}

export interface TestContext extends HandlerContext {
  logger: MemoryLogger;
}

/** Journals of the test writers: one per process, removed with the temp dir of the process. */
const journal = () => path.join(fs.realpathSync('/tmp'), `cfntools-test-journal-${process.pid}`);
process.on('exit', () => fs.rmSync(journal(), { recursive: true, force: true }));

export function handlerContext(opts: { env: NodeJS.ProcessEnv; system?: TestSystem; changes?: ChangeSet; keyPath?: string; downloader?: Downloader; dryRun?: boolean; limits?: Partial<Limits> }): TestContext {
  return {
    writer: new DurableWriter(journal()),
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    logger: new MemoryLogger(),
    system: opts.system ?? new TestSystem(opts.env),
    downloader: opts.downloader ?? mapDownloader({}),
    changes: opts.changes ?? new ChangeSet(),
    dryRun: opts.dryRun ?? false,
    keyPath: opts.keyPath ?? 'config.x',
    env: opts.env,
    commandLog: new MemoryLogger(),
  };
}

export function validationContext(system: TestSystem, declared: { users?: string[]; groups?: string[]; createdBy?: string } = {}): ValidationContext {
  return {
    problems: new Problems(),
    principals: principalDirectory(system, { users: declared.users ?? [], groups: declared.groups ?? [] }),
    createdBy: declared.createdBy,
    limits: DEFAULT_LIMITS,
    system,
    authenticationNames: new Set(),
  };
}

/** Validate `raw` under `config.<key>`; the errors (empty when valid), the tolerated problems and the spec. */
export function validate<S>(handler: InitHandler<S>, raw: unknown, vctx: ValidationContext): { spec: S | undefined; problems: Problems['list']; tolerated: Problems['tolerated'] } {
  const spec = handler.validate(raw, `config.${handler.key}`, vctx);
  return { spec, problems: vctx.problems.list, tolerated: vctx.problems.tolerated };
}

/**
 * What the engine does for one key: validate (throws on problems), plan,
 * apply each action in order, record its change. Returns the planned actions.
 */
export async function applyKey<S>(handler: InitHandler<S>, raw: unknown, ctx: TestContext, declared: { users?: string[]; groups?: string[] } = {}): Promise<Action[]> {
  const vctx = validationContext(ctx.system as TestSystem, declared);
  const spec = handler.validate(raw, `config.${handler.key}`, vctx);
  vctx.problems.throwIfAny();
  if (spec === undefined) throw new Error('validate() returned undefined without problems');
  const keyCtx = { ...ctx, keyPath: `config.${handler.key}` };
  const actions = await handler.plan(spec, keyCtx);
  for (const a of actions) {
    const result = await a.apply(keyCtx);
    if (result.changed) for (const c of result.changes ?? a.changes ?? []) ctx.changes.record(c);
  }
  return actions;
}

/** A private directory removed by the caller's after hook. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), `${prefix}-`));
}
