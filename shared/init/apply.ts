/**
 * One AWS::CloudFormation::Init run, in the process that asks for it:
 * cfn-init runs it from its flags (with its progress store for reboots),
 * heat-agent for a deployment of group cfn-init. The whole run is
 * validated before anything changes (engine.ts); the mistakes
 * aws-cfn-bootstrap runs anyway are logged as warnings and handed to the
 * caller, or refused with `strict`.
 */
import type { ToolContext } from '../context';
import type { DurableWriter } from '../durable-write';
import { loadEndpointTable } from '../endpoint-table';
import { CfnError } from '../errors';
import type { Logger } from '../log';
import { HostSystem } from '../system';
import { AUTHENTICATION_KEY, createDownloader, downloadsOf } from './auth';
import { applyRun, INIT_KEY, validateRun, type ApplyOptions, type RunOutcome } from './engine';
import { HANDLERS } from './handlers';
import type { Limits } from './limits';
import { isObject, moreLine, Problems, showProblem, summarize, type Problem } from './validation';

export interface InitRunOptions {
  metadata: unknown;
  /** Where the metadata came from, for messages. */
  source: string;
  /** `-c` names; undefined runs `default`. */
  configSets?: string[];
  dryRun?: boolean;
  limits: Limits;
  logger: Logger;
  /** Command output goes here. */
  commandLog: Logger;
  writer: DurableWriter;
  print?: (line: string) => void;
  resume?: ApplyOptions['resume'];
  checkpoint?: ApplyOptions['checkpoint'];
  /** Called once the whole run is valid, before anything changes (not for a dry run). */
  beforeApply?: () => void;
  /** Refuse the mistakes aws-cfn-bootstrap runs anyway (cfn-init --strict). */
  strict?: boolean;
  /**
   * Told the tolerated mistakes once validation is done, errors or not (not
   * under strict, where they are errors); they are logged as warnings too.
   */
  onTolerated?: (problems: readonly Problem[]) => void;
}

/** The Init value; its absence is a failure (exit 1), as in heat-cfntools: a run that applies nothing must not look like success. */
export function initOf(metadata: unknown, source: string): unknown {
  if (!isObject(metadata) || !(INIT_KEY in metadata)) {
    const keys = isObject(metadata) ? Object.keys(metadata) : [];
    throw new CfnError(`Could not find '${INIT_KEY}' key in the metadata from ${source}${keys.length ? ` (it has ${keys.join(', ')})` : ''}`);
  }
  return metadata[INIT_KEY];
}

export async function runInit(ctx: ToolContext, o: InitRunOptions): Promise<RunOutcome & { empty: boolean }> {
  const log = o.logger;
  const init = initOf(o.metadata, o.source);
  const problems = new Problems();
  const system = new HostSystem(ctx.env);
  // Read before validating: a broken override file stops the run before anything changes.
  const endpoints = loadEndpointTable(ctx.env);
  if (endpoints.source !== 'built-in') log.debug(`S3 host names from ${endpoints.source}`);
  const downloader = createDownloader(isObject(o.metadata) ? o.metadata[AUTHENTICATION_KEY] : undefined, {
    http: () => ctx.http(),
    problems,
    uses: downloadsOf(init),
    env: ctx.env,
    logger: log,
    s3Hosts: endpoints.s3,
    idleTimeoutMs: o.limits.downloadIdle,
    deadlineMs: o.limits.downloadDeadline,
  });
  let validated;
  try {
    validated = validateRun(init, { configSets: o.configSets, system, authenticationNames: downloader.blockNames, problems, handlers: HANDLERS, source: o.source, limits: o.limits, strict: o.strict });
  } finally {
    // Told even when errors stop the run: fixing those should not uncover more surprises.
    if (!o.strict && problems.tolerated.length) {
      const { shown, more } = summarize(problems.tolerated);
      for (const p of shown) log.warn(`tolerated, as aws-cfn-bootstrap does (--strict refuses it): ${showProblem(p)}`);
      for (const line of moreLine(more, 'tolerated mistakes')) log.warn(line);
      o.onTolerated?.(problems.tolerated);
    }
  }
  log.info(`Running configSets: ${(o.configSets ?? ['default']).join(', ')}`);
  if (validated.empty) log.warn(`nothing was configured: the selected configs of ${INIT_KEY} in ${o.source} are empty`);
  if (!o.dryRun) {
    // What a killed run left (temp files beside their targets) goes now, whatever this run writes.
    o.writer.sweep();
    o.beforeApply?.();
  }
  const outcome = await applyRun(validated, {
    system,
    logger: log,
    commandLog: o.commandLog,
    downloader,
    env: ctx.env,
    dryRun: o.dryRun ?? false,
    print: o.print,
    resume: o.resume,
    checkpoint: o.checkpoint,
    handlers: HANDLERS,
    writer: o.writer,
    limits: o.limits,
  });
  return { ...outcome, empty: validated.empty };
}
