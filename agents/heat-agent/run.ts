/** heat-agent once its flags are checked: the agent, its checks, one pass or the daemon. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logFailure } from '../../shared/cli';
import { settingsFromArgs, type CommonArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import { DurableWriter } from '../../shared/durable-write';
import { CfnError, ConfigError, errorMessage } from '../../shared/errors';
import { runInit } from '../../shared/init/apply';
import { DEFAULT_LIMITS } from '../../shared/init/limits';
import { moreLine, showProblem, summarize } from '../../shared/init/validation';
import { journalDir } from '../../shared/init/progress';
import { HeadTail } from '../../shared/head-tail';
import type { Logger } from '../../shared/log';
import { TextSink } from '../../shared/text-sink';
import { heatAgentDir, heatConfigDir } from '../../shared/paths';
import { HeldLockError, PidFile } from '../../shared/pid-lock';
import { runPollDaemon, type Checker } from '../../shared/poll-daemon';
import { pollRetryPolicy } from '../../shared/poll-schedule';
import { redact } from '../../shared/redact';
import { HostSystem } from '../../shared/system';
import { fetchUserDataBlock, USER_DATA_PATH } from './boot-data';
import type { CfnSettings } from './collectors/cfn';
import { combine, type CollectorOutput } from './collectors/combine';
import { MAX_OUTPUT_BYTES } from './groups';
import { makeCollector } from './collectors/make';
import { describeCollector, type OccBlock } from './collectors/settings';
import type { CollectedDocument, Collector } from './collectors/types';
import { effectiveCollectors, NoSourceError, readSource, sourceOf, type AgentSource, type Effective, type SourceFlags } from './config';
import { deployedByHeatConfig } from './deployments';
import { heatShellConfigFile, orcPhaseDirs, readersIn, shareDeployments } from './heat-config-file';
import { hookDirs } from './hooks';
import { runPass, type Fetched, type PassResult } from './pass';
import type { DeploymentResult } from './state';
import { sendSignal, SIGNAL_RETRY } from './signal';
import { AgentState } from './state';
import { TOOL } from './index';

export type Args = CommonArgs & SourceFlags & { 'log-file': string; 'one-time'?: boolean; 'check-config'?: boolean; 'hooks-dir'?: string; 'deployment-timeout': number };

/**
 * A context signing with the flags' keys, or the cfn collector's (the file's,
 * or the ones Heat last put in the metadata); its HTTP client serves every
 * collector and signal.
 */
function contextFor(args: Args, cfn: CfnSettings | undefined, intervalMs: number, env: NodeJS.ProcessEnv): ToolContext {
  const explicit = args['access-key'] || args['credential-file'] || args.role;
  const keys = explicit || !cfn?.accessKeyId ? {} : { 'access-key': cfn.accessKeyId, 'secret-key': cfn.secretAccessKey };
  const settings = settingsFromArgs({ ...args, ...keys, url: args.url ?? cfn?.metadataUrl });
  return new ToolContext(TOOL, settings, { env, retry: pollRetryPolicy(intervalMs) });
}

/**
 * A deployment of group cfn-init: the engine's command output is its
 * stdout; the mistakes it tolerates (never strict: Heat's configs are
 * aws-cfn-bootstrap's) and a failure are its stderr, a failure status 1.
 */
async function applyInit(ctx: ToolContext, metadata: unknown, source: string): Promise<DeploymentResult> {
  // Bounded as a script's stdout is: commands may print without end.
  const captured = new HeadTail(MAX_OUTPUT_BYTES);
  // Lines are handed on in chunks: a Buffer per line would cost more than the line.
  const lines = new TextSink((chunk) => captured.add(Buffer.from(chunk)));
  const line = (msg: string) => lines.add(`${redact(msg)}\n`);
  const commands: Logger = { debug: line, info: line, infoLines: (msgs) => msgs.forEach(line), notice: line, warn: line, error: line };
  const stdout = () => {
    lines.end();
    return captured.text().replace(/\n$/, '');
  };
  const warnings: string[] = [];
  const stderr = (...more: string[]) => [...warnings, ...more].join('\n');
  try {
    const r = await runInit(ctx, {
      metadata,
      source,
      limits: { ...DEFAULT_LIMITS },
      logger: ctx.logger,
      commandLog: commands,
      writer: new DurableWriter(journalDir(ctx.env), ctx.logger),
      onTolerated: (problems) => {
        const { shown, more } = summarize(problems);
        warnings.push(...[...shown.map((p) => showProblem(p)), ...moreLine(more, 'tolerated mistakes')].map((l) => `warning: ${l}`));
      },
    });
    const note = r.kind === 'stopped' ? `\nstopped after ${r.at} (waitAfterCompletion: forever): the rest is not applied` : '';
    return { deploy_stdout: stdout() + note, deploy_stderr: stderr(), deploy_status_code: 0 };
  } catch (err) {
    return { deploy_stdout: stdout(), deploy_stderr: stderr(errorMessage(err)), deploy_status_code: 1 };
  }
}

class Agent {
  private ctx!: ToolContext;
  private effective!: Effective;
  private collectors: Collector[] = [];
  /** The metadata's block the collectors were made with. */
  private inUse: OccBlock | undefined;
  private readonly system: HostSystem;
  private readonly workDir: string;
  private readonly hookDirs: string[];

  constructor(
    private readonly args: Args,
    readonly source: AgentSource,
    private readonly state: AgentState,
    private readonly env: NodeJS.ProcessEnv,
    private readonly stopping: () => boolean,
  ) {
    this.inUse = state.collectorBlock;
    this.configure();
    this.system = new HostSystem(this.ctx.env);
    this.workDir = path.join(state.dir, 'work');
    fs.mkdirSync(this.workDir, { recursive: true, mode: 0o700 });
    this.hookDirs = hookDirs(env, args['hooks-dir']);
  }

  /** The deployments file for os-refresh-config's scripts, when one installed reads it. */
  private async publish(deployments: unknown): Promise<void> {
    const readers = readersIn([...this.hookDirs, ...orcPhaseDirs(this.env)]);
    if (!readers.length) return;
    const file = heatShellConfigFile(this.env);
    const writer = new DurableWriter(path.join(this.state.dir, 'journal'), this.logger);
    if (await shareDeployments(file, deployments, (f, text) => writer.writeFile(f, text, { mode: 0o600 }))) this.logger.info(`wrote ${file}, which ${readers.join(', ')} read${readers.length === 1 ? 's' : ''}`);
  }

  /** The collectors (and the context that signs for the cfn one) of the source with the block in use. */
  private configure(): void {
    this.effective = effectiveCollectors(this.source, this.inUse);
    const before = this.ctx;
    this.ctx = contextFor(this.args, this.effective.collectors.find((c): c is CfnSettings => c.name === 'cfn'), this.effective.intervalMs, this.env);
    before?.close();
    for (const note of this.effective.notes) this.ctx.logger.info(note);
    const deps = { ctx: this.ctx, http: this.ctx.http(), retry: pollRetryPolicy(this.effective.intervalMs), stateDir: this.state.dir, logger: this.ctx.logger };
    this.collectors = this.effective.collectors.map((s) => makeCollector(s, deps));
  }

  get logger() {
    return this.ctx.logger;
  }

  get intervalMs(): number {
    return this.effective.intervalMs;
  }

  /** What it polls, for the log. */
  get summary(): string {
    return `${this.effective.collectors.map(describeCollector).join(', ')} (from ${this.source.from})`;
  }

  /** Every collector in order; the first that fails fails the check (a partial list of deployments would make the others look removed). */
  private async fetch(): Promise<Fetched> {
    const outputs: CollectorOutput[] = [];
    let complete = true;
    for (const c of this.collectors) {
      let documents: CollectedDocument[] | undefined;
      try {
        documents = await c.collect();
      } catch (err) {
        throw new CfnError(`collector ${c.name}: ${errorMessage(err)}`, { cause: err });
      }
      if (documents === undefined) complete = false;
      else outputs.push({ name: c.name, documents });
    }
    const { metadata, duplicates } = combine(outputs);
    for (const d of duplicates) this.logger.warn(`left out: ${d}`);
    return { metadata, complete };
  }

  async check(): Promise<PassResult> {
    const ctx = this.ctx;
    const r = await runPass(
      {
        fetch: () => this.fetch(),
        signal: (route, result) => sendSignal(ctx.http(), route, result, this.args.timeout !== undefined ? { ...SIGNAL_RETRY, deadlineMs: this.args.timeout * 1000 } : SIGNAL_RETRY),
        run: {
          system: this.system,
          env: ctx.env,
          workDir: this.workDir,
          hookDirs: this.hookDirs,
          cfnInit: (metadata, source) => applyInit(ctx, metadata, source),
          timeoutMs: this.args['deployment-timeout'] * 1000,
          logger: ctx.logger,
        },
        state: this.state,
        logger: ctx.logger,
        stopping: this.stopping,
        where: this.effective.collectors.map(describeCollector).join(', '),
        deployedBefore: (d) => deployedByHeatConfig(d, heatConfigDir(this.env)),
        publish: (deployments) => this.publish(deployments),
      },
      this.inUse,
    );
    if (r.block) await this.takeUp(r.block);
    return r;
  }

  /** A new block from the metadata: kept, and the collectors made again when it changes what they do. */
  private async takeUp(block: OccBlock): Promise<void> {
    await this.state.setCollectorBlock(block);
    this.inUse = block;
    const next = effectiveCollectors(this.source, block);
    if (JSON.stringify(next.collectors) === JSON.stringify(this.effective.collectors)) return;
    const cfn = next.collectors.find((c): c is CfnSettings => c.name === 'cfn');
    this.logger.info(`the metadata's os-collect-config block changes the collectors: ${next.collectors.map(describeCollector).join(', ')}${cfn?.accessKeyId ? ` (access key ${cfn.accessKeyId})` : ''}; used from the next check`);
    this.configure();
  }

  close(): void {
    this.ctx.close();
  }
}

function checkerOf(agent: Agent): Checker {
  return {
    get logger() {
      return agent.logger;
    },
    intervalMs: agent.intervalMs,
    summary: `deployments from ${agent.summary}`,
    check: async () => ({ failed: (await agent.check()).fetchFailed }),
    close: () => agent.close(),
  };
}

/** Settings from the user data the metadata service serves, when no file and no cfn-init-data gave any. */
async function userDataSource(args: Args, env: NodeJS.ProcessEnv, none: NoSourceError): Promise<AgentSource> {
  const probe = new ToolContext(TOOL, settingsFromArgs(args), { env });
  try {
    const boot = await fetchUserDataBlock(env, probe.logger);
    if (!boot) throw new ConfigError(`${none.message}, nor in the user data of the metadata service (${USER_DATA_PATH}); give --config FILE, or --stack and --resource`);
    probe.logger.info(`collectors' settings from ${boot.from}`);
    return sourceOf(boot.block, boot.from, args, env);
  } finally {
    probe.close();
  }
}

/**
 * --check-config: the file or Heat's boot data as a start or a SIGHUP reads
 * them; no lock, no state, no network (a daemon that took its settings from
 * the metadata service's user data keeps them on SIGHUP; this check does not
 * ask it, and fails when there is neither file).
 */
function checkConfig(args: Args, env: NodeJS.ProcessEnv): number {
  const source = readSource(args, env);
  const { collectors, notes, intervalMs } = effectiveCollectors(source, undefined);
  for (const note of notes) process.stdout.write(`${TOOL}: ${redact(note)}\n`);
  process.stdout.write(`${TOOL}: configuration OK: ${redact(`${source.from}, ${collectors.map(describeCollector).join(', ')}, every ${intervalMs / 1000} s`)}\n`);
  return 0;
}

export async function agentRun(args: Args): Promise<number> {
  const env = { ...process.env };
  let fromUserData: AgentSource | undefined;
  let source: AgentSource;
  try {
    if (args['check-config']) return checkConfig(args, env);
    try {
      source = readSource(args, env);
    } catch (err) {
      if (!(err instanceof NoSourceError)) throw err;
      source = fromUserData = await userDataSource(args, env, err);
    }
  } catch (err) {
    logFailure(TOOL, args['log-file'], err, args['check-config'] ? '--check-config: ' : '');
    throw err;
  }
  const dir = heatAgentDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let lock: PidFile;
  try {
    lock = PidFile.acquire(path.join(dir, `${TOOL}.lock`), TOOL);
  } catch (err) {
    if (!(err instanceof HeldLockError) || !args['one-time']) throw err;
    process.stderr.write(`${TOOL}: ${err.message}; this check is skipped\n`);
    return 0;
  }
  try {
    const probe = new ToolContext(TOOL, settingsFromArgs(args), { env });
    if (lock.tookOver) probe.logger.warn(lock.tookOver);
    const state = AgentState.load(dir, probe.logger);
    probe.close();
    if (args['one-time']) {
      const agent = new Agent(args, source, state, env, () => false);
      agent.logger.info(`checking the deployments from ${agent.summary}`);
      try {
        const r = await agent.check();
        return r.fetchFailed || r.failures ? 1 : 0;
      } finally {
        agent.close();
      }
    }
    // SIGHUP reads the file or cfn-init-data again; settings that came from the metadata service stay.
    const reread = (): AgentSource => {
      try {
        return readSource(args, env);
      } catch (err) {
        if (err instanceof NoSourceError && fromUserData) return fromUserData;
        throw err;
      }
    };
    let first: AgentSource | undefined = source;
    return await runPollDaemon({
      name: TOOL,
      makeChecker: (stopping) => {
        const s = first ?? reread();
        first = undefined;
        return checkerOf(new Agent(args, s, state, env, stopping));
      },
    });
  } finally {
    lock.release();
  }
}
