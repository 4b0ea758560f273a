/** cfn-init's run once its flags are checked: load the metadata, apply it, keep the progress. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settingsFromArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import { CfnError, ConfigError, errorMessage } from '../../shared/errors';
import { DurableWriter } from '../../shared/durable-write';
import { parseJsonText } from '../../shared/json-file';
import { FileLogger, nullLogger, type Logger } from '../../shared/log';
import { readTextBounded } from '../../shared/safe-open';
import { loadMetadata, MetadataCache, readHeatInitData } from '../../shared/metadata-source';
import { canonicalHash } from '../../shared/metadata-hash';
import { cacheDir, stateDir } from '../../shared/paths';
import { parseConfigSetsFlag } from '../../shared/init/configsets';
import { runInit } from '../../shared/init/apply';
import { INIT_KEY, type Checkpointer } from '../../shared/init/engine';
import { parseLimits, type Limits } from '../../shared/init/limits';
import { moreLine, showProblem, summarize, type Problem } from '../../shared/init/validation';
import { CHECKPOINT_FORMAT, journalDir, ProgressStore, restoreChanges, type Checkpoint } from '../../shared/init/progress';
import { TOOL, type InitArgs } from './index';

interface Loaded {
  metadata: unknown;
  source: string;
  stack?: string;
  resource?: string;
}

/** The largest metadata file read: as much as the HTTP client takes of an answer. */
const MAX_METADATA_FILE_BYTES = 64 * 1024 * 1024;

function readFile(file: string): string {
  let text: string | undefined;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : readTextBounded(file, { what: 'the metadata file', maxBytes: MAX_METADATA_FILE_BYTES });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read: ${(err as Error).message}`, file === '-' ? 'stdin' : file);
  }
  if (text === undefined) throw new ConfigError('cannot read: no such file', file);
  return text;
}

async function loadInput(ctx: ToolContext, input: { file?: string; stack?: string; resource?: string }, maxDepth: number): Promise<Loaded> {
  if (input.file !== undefined) {
    const source = input.file === '-' ? 'stdin' : input.file;
    return { metadata: parseJsonText(readFile(input.file), source, { maxDepth, depthHint: ' (--limit metadata-depth=N raises the bound)' }), source };
  }
  if (input.stack !== undefined && input.resource !== undefined) {
    const r = await loadMetadata(ctx, input.stack, input.resource, new MetadataCache(cacheDir(ctx.env)), maxDepth);
    return { metadata: r.metadata, source: r.source, stack: input.stack, resource: input.resource };
  }
  // heat-cfntools' normal path: no stack, no keys, the data Heat injected at boot.
  const injected = readHeatInitData(ctx.heat.dir, maxDepth);
  if (!injected) throw new CfnError(`no metadata: give --stack and --resource, a file, or - for stdin (${path.join(ctx.heat.dir, 'cfn-init-data')} does not exist)`);
  return { metadata: injected.metadata, source: injected.source };
}

/** A real run: one warning line each on stderr (the log has them too, and under systemd its copy is on stderr already). */
function warnTolerated(problems: readonly Problem[], log: FileLogger): void {
  if (log.journal) return;
  const { shown, more } = summarize(problems);
  for (const line of [...shown.map((p) => showProblem(p)), ...moreLine(more, 'tolerated mistakes')]) process.stderr.write(`${TOOL}: warning: ${line}\n`);
}

/** --dry-run: listed in its output, before the plan. */
function printTolerated(problems: readonly Problem[]): void {
  process.stdout.write(`tolerated: a run goes on with a warning for each, as aws-cfn-bootstrap does; --strict refuses them:\n`);
  const { shown, more } = summarize(problems);
  for (const line of [...shown.map((p) => showProblem(p)), ...moreLine(more, 'tolerated mistakes')]) process.stdout.write(`  ${line}\n`);
}

const sameSets = (a: string[] | null, b: string[] | undefined) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Saves progress in the store; revert restores what the file held before the last save. */
function storeCheckpointer(store: ProgressStore, base: Omit<Checkpoint, 'metadataHash' | 'position' | 'changes' | 'stoppedAt' | 'savedAt'>, initial: Checkpoint | undefined): Checkpointer {
  let previous: Checkpoint | undefined = initial;
  let current: Checkpoint | undefined = initial;
  // Hashed only when a command stops the run: most runs never save progress.
  let hash: string | undefined;
  return {
    async save(position, changes, stoppedAt) {
      previous = current;
      hash ??= canonicalHash(base.metadata);
      current = { ...base, metadataHash: hash, position, changes, stoppedAt, savedAt: new Date().toISOString() };
      await store.write(current);
    },
    async revert() {
      if (previous) await store.write(previous);
      else store.clear();
      current = previous;
    },
  };
}

export async function initRun(args: InitArgs, file: string | undefined): Promise<number> {
  const { stack, resource } = args;
  const requested = parseConfigSetsFlag(args.configsets);
  const dryRun = args['dry-run'] ?? false;
  const limits = parseLimits(args.limit);

  // A dry run changes nothing on the machine, its log files included: with -v its log is on stderr; otherwise
  // it is dropped, and the run says only what it prints (the plan, the mistakes it tolerates, the error that stops it).
  const ctx = new ToolContext(TOOL, settingsFromArgs(args, dryRun ? { file: args.verbose ? '-' : '/dev/null', level: 'DEBUG' } : {}));
  const log = ctx.logger;
  const logFile = ctx.settings.log.file;
  const cmdLog = dryRun ? undefined : new FileLogger({ file: args['cmd-log-file'] ?? (logFile === '-' ? '-' : path.join(path.dirname(logFile), 'cfn-init-cmd.log')), level: 'DEBUG' });
  try {
    return await run(ctx, log, cmdLog ?? nullLogger, { file, stack, resource, requested, dryRun, resume: args.resume ?? false, limits, strict: args.strict ?? false });
  } catch (err) {
    // A dry run's log is stderr, where the CLI says it already.
    if (!dryRun) log.error(`cfn-init failed: ${errorMessage(err)}`);
    throw err;
  } finally {
    cmdLog?.close();
    ctx.close();
  }
}

interface RunArgs {
  file?: string;
  stack?: string;
  resource?: string;
  requested?: string[];
  dryRun: boolean;
  resume: boolean;
  limits: Limits;
  strict: boolean;
}

interface Source {
  loaded: Loaded;
  requested?: string[];
  /** Saved progress this run continues from. */
  resumeFrom?: Checkpoint;
  /** Saved progress of another run, discarded once this run starts applying. */
  stale?: Checkpoint;
}

/**
 * The metadata and sets to run: with --resume those of the saved run;
 * otherwise the given source, continuing the saved run when it is the same
 * metadata and sets (the reboot it stopped for already happened: starting
 * over would repeat the reboot, every boot).
 */
async function chooseSource(ctx: ToolContext, store: ProgressStore, a: RunArgs): Promise<Source> {
  const log = ctx.logger;
  const saved = store.read(a.limits.metadataDepth);
  if (a.resume) {
    if (!saved) throw new CfnError(`nothing to resume: ${store.file} does not exist`);
    const loaded = { metadata: saved.metadata, source: `${saved.source} (saved in ${store.file})`, stack: saved.stack, resource: saved.resource };
    return { loaded, requested: saved.configSets ?? undefined, resumeFrom: saved };
  }
  const loaded = await loadInput(ctx, a, a.limits.metadataDepth);
  if (!saved) return { loaded, requested: a.requested };
  if (saved.metadataHash === canonicalHash(loaded.metadata) && sameSets(saved.configSets, a.requested)) {
    log.info(`Continuing the run that stopped after ${saved.stoppedAt} (progress in ${store.file})`);
    return { loaded, requested: a.requested, resumeFrom: saved };
  }
  log.warn(`Saved progress in ${store.file} (stopped after ${saved.stoppedAt}) is for other metadata or configSets; starting over`);
  return { loaded, requested: a.requested, stale: saved };
}

async function run(ctx: ToolContext, log: Logger, cmdLog: Logger, a: RunArgs): Promise<number> {
  log.info(`Starting build${a.dryRun ? ' (dry run)' : ''}`);
  const writer = new DurableWriter(journalDir(ctx.env), log);
  const store = new ProgressStore(stateDir(ctx.env), writer);
  const { loaded, requested, resumeFrom, stale } = await chooseSource(ctx, store, a);
  log.info(`Metadata from ${loaded.source}`);
  const base = {
    format: CHECKPOINT_FORMAT,
    metadata: loaded.metadata,
    configSets: requested ?? null,
    stack: loaded.stack,
    resource: loaded.resource,
    source: resumeFrom?.source ?? loaded.source,
  };
  const outcome = await runInit(ctx, {
    metadata: loaded.metadata,
    source: loaded.source,
    configSets: requested,
    dryRun: a.dryRun,
    limits: a.limits,
    logger: log,
    commandLog: cmdLog,
    writer,
    print: (line) => process.stdout.write(line + '\n'),
    resume: resumeFrom && { position: resumeFrom.position, changes: restoreChanges(resumeFrom.changes) },
    checkpoint: a.dryRun ? undefined : storeCheckpointer(store, base, resumeFrom),
    beforeApply: () => stale && store.clear(),
    strict: a.strict,
    onTolerated: (problems) => (a.dryRun ? printTolerated(problems) : warnTolerated(problems, ctx.logger)),
  });
  // As aws-cfn-bootstrap: success, but a run that configures nothing is rarely what was meant.
  if (outcome.empty && !ctx.logger.journal) process.stderr.write(`cfn-init: warning: nothing was configured: the selected configs of ${INIT_KEY} in ${loaded.source} are empty\n`);
  if (a.dryRun) return 0;

  if (outcome.kind === 'stopped') {
    process.stdout.write(
      `cfn-init: stopped after ${outcome.at} (waitAfterCompletion: forever); progress saved in ${store.file}; ` +
        `'cfn-init --resume' continues after it (cfn-init-resume.service runs it at boot)\n`,
    );
    return 0;
  }
  store.clear();
  if (loaded.stack !== undefined && loaded.resource !== undefined) {
    await new MetadataCache(cacheDir(ctx.env)).write(loaded.stack, loaded.resource, loaded.metadata);
  }
  log.info('Build complete');
  return 0;
}
