/** heat-agent once its flags are checked: the agent, its checks, one pass or the daemon. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settingsFromArgs, type CommonArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import { DurableWriter } from '../../shared/durable-write';
import { errorMessage } from '../../shared/errors';
import { runInit } from '../../shared/init/apply';
import { DEFAULT_LIMITS } from '../../shared/init/limits';
import { showProblem } from '../../shared/init/validation';
import { journalDir } from '../../shared/init/progress';
import { MemoryLogger } from '../../shared/log';
import { lookup } from '../../shared/key-path';
import { describeResource } from '../../shared/metadata-source';
import { heatAgentDir, heatConfigDir } from '../../shared/paths';
import { HeldLockError, PidFile } from '../../shared/pid-lock';
import { runPollDaemon, type Checker } from '../../shared/poll-daemon';
import { pollRetryPolicy } from '../../shared/poll-schedule';
import { HostSystem } from '../../shared/system';
import { readSource, type AgentSource, type SourceFlags } from './config';
import { deployedByHeatConfig } from './deployments';
import { heatShellConfigFile, orcPhaseDirs, readersIn, shareDeployments } from './heat-config-file';
import { hookDirs } from './hooks';
import { runPass, type PassResult } from './pass';
import type { DeploymentResult } from './state';
import { sendSignal, SIGNAL_RETRY } from './signal';
import { AgentState } from './state';
import { TOOL } from './index';

export type Args = CommonArgs & SourceFlags & { 'log-file': string; 'one-time'?: boolean; 'hooks-dir'?: string; 'deployment-timeout': number };

/** A context signing with the file's keys, the flags' keys, or the ones Heat last put in the metadata. */
function contextFor(args: Args, source: AgentSource, state: AgentState, env: NodeJS.ProcessEnv): ToolContext {
  const saved = state.credentials;
  const explicit = args['access-key'] || args['credential-file'] || args.role;
  const keys = explicit ? {} : saved ? { 'access-key': saved.accessKey, 'secret-key': saved.secretKey } : source.accessKey ? { 'access-key': source.accessKey, 'secret-key': source.secretKey } : {};
  const settings = settingsFromArgs({ ...args, ...keys, url: args.url ?? source.url });
  return new ToolContext(TOOL, settings, { env, retry: pollRetryPolicy(source.intervalMs) });
}

/**
 * A deployment of group cfn-init: the engine's command output is its
 * stdout; the mistakes it tolerates (never strict: Heat's configs are
 * aws-cfn-bootstrap's) and a failure are its stderr, a failure status 1.
 */
async function applyInit(ctx: ToolContext, metadata: unknown, source: string): Promise<DeploymentResult> {
  const commands = new MemoryLogger();
  const stdout = () => commands.lines.map((l) => l.replace(/^[A-Z]+ /, '')).join('\n');
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
      onTolerated: (problems) => warnings.push(...problems.map((p) => `warning: ${showProblem(p)}`)),
    });
    const note = r.kind === 'stopped' ? `\nstopped after ${r.at} (waitAfterCompletion: forever): the rest is not applied` : '';
    return { deploy_stdout: stdout() + note, deploy_stderr: stderr(), deploy_status_code: 0 };
  } catch (err) {
    return { deploy_stdout: stdout(), deploy_stderr: stderr(errorMessage(err)), deploy_status_code: 1 };
  }
}

class Agent {
  private ctx: ToolContext;
  private readonly system: HostSystem;
  private readonly workDir: string;
  private readonly hookDirs: string[];
  private readonly writer: DurableWriter;

  constructor(
    private readonly args: Args,
    readonly source: AgentSource,
    private readonly state: AgentState,
    private readonly env: NodeJS.ProcessEnv,
    private readonly stopping: () => boolean,
  ) {
    this.ctx = contextFor(args, source, state, env);
    this.system = new HostSystem(this.ctx.env);
    this.workDir = path.join(state.dir, 'work');
    fs.mkdirSync(this.workDir, { recursive: true, mode: 0o700 });
    this.hookDirs = hookDirs(env, args['hooks-dir']);
    this.writer = new DurableWriter(path.join(state.dir, 'journal'), this.ctx.logger);
  }

  /** The deployments file for os-refresh-config's scripts, when one installed reads it. */
  private async publish(deployments: unknown): Promise<void> {
    const readers = readersIn([...this.hookDirs, ...orcPhaseDirs(this.env)]);
    if (!readers.length) return;
    const file = heatShellConfigFile(this.env);
    if (await shareDeployments(file, deployments, (f, text) => this.writer.writeFile(f, text, { mode: 0o600 }))) this.logger.info(`wrote ${file}, which ${readers.join(', ')} read${readers.length === 1 ? 's' : ''}`);
  }

  get logger() {
    return this.ctx.logger;
  }

  async check(): Promise<PassResult> {
    const ctx = this.ctx;
    const r = await runPass(
      {
        fetch: async () => {
          const detail = await describeResource(ctx, this.source.stack, this.source.resource);
          const below = lookup(detail.metadata ?? null, this.source.subPath);
          return below.found ? below.value : undefined;
        },
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
        where: `${this.source.stack}/${this.source.resource}`,
        deployedBefore: (d) => deployedByHeatConfig(d, heatConfigDir(this.env)),
        publish: (deployments) => this.publish(deployments),
      },
      this.state.credentials ?? (this.source.accessKey && this.source.secretKey ? { accessKey: this.source.accessKey, secretKey: this.source.secretKey } : undefined),
    );
    if (r.credentials && !(this.args['access-key'] || this.args['credential-file'] || this.args.role)) {
      await this.state.setCredentials(r.credentials);
      ctx.logger.info(`the metadata carries new keys (access key ${r.credentials.accessKey}): used from the next check`);
      this.ctx = contextFor(this.args, this.source, this.state, this.env);
      ctx.close();
    }
    return r;
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
    intervalMs: agent.source.intervalMs,
    summary: `deployments of ${agent.source.stack}/${agent.source.resource} (from ${agent.source.from})`,
    check: async () => ({ failed: (await agent.check()).fetchFailed }),
    close: () => agent.close(),
  };
}

export async function agentRun(args: Args): Promise<number> {
  const env = { ...process.env };
  const source = readSource(args, env);
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
    const state = AgentState.load(dir, probe.logger);
    probe.close();
    if (args['one-time']) {
      const agent = new Agent(args, source, state, env, () => false);
      try {
        const r = await agent.check();
        return r.fetchFailed || r.failures ? 1 : 0;
      } finally {
        agent.close();
      }
    }
    let first: AgentSource | undefined = source;
    return await runPollDaemon({
      name: TOOL,
      makeChecker: (stopping) => {
        const s = first ?? readSource(args, env);
        first = undefined;
        return checkerOf(new Agent(args, s, state, env, stopping));
      },
    });
  } finally {
    lock.release();
  }
}
