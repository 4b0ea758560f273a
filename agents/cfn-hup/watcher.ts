/**
 * What a check needs from the world, built from the configuration: the
 * signed DescribeStackResource client, the hook runner (the action through
 * /bin/sh as `runas`, for real: uid, gid, supplementary groups, HOME; in a
 * session of its own, ended at its timeout), cfn-init's cache and the state.
 * Rebuilt whole when the configuration is read again.
 */
import * as path from 'node:path';
import { ToolContext } from '../../shared/context';
import { CfnError, errorMessage } from '../../shared/errors';
import type { Level } from '../../shared/log';
import { describeResource, MetadataCache } from '../../shared/metadata-source';
import { cacheDir } from '../../shared/paths';
import type { ToolSettings } from '../../shared/settings';
import { HostSystem, type RunResult } from '../../shared/system';
import type { HupConfig, Hook, MainConfig } from './config';
import { runPass, stackNameOf, type PassResult } from './pass';
import { pollRetryPolicy } from '../../shared/poll-schedule';
import type { HupState } from './state';
import { monitorServices } from './services';
import { TOOL } from './index';

/** The most output of one action kept for the log: its start and its end. */
export const MAX_ACTION_OUTPUT_BYTES = 64 * 1024;

export interface LogTarget {
  file: string;
  verbose: boolean;
}

export function settingsOf(main: MainConfig, log: LogTarget): ToolSettings {
  const level: Level = log.verbose || main.verbose ? 'DEBUG' : 'INFO';
  return {
    // aws-cfn-bootstrap: a role supersedes the credential file.
    credentials: main.role ? { role: main.role } : { credentialFile: main.credentialFile },
    endpoint: { url: main.url, region: main.region },
    signatureVersion: 4,
    transport: { httpProxy: main.httpProxy, httpsProxy: main.httpsProxy, caBundle: main.caBundle },
    log: { file: log.file, level },
  };
}

export class Watcher {
  readonly ctx: ToolContext;
  private readonly system: HostSystem;
  private readonly cache: MetadataCache;

  constructor(
    readonly config: HupConfig,
    log: LogTarget,
    readonly state: HupState,
    env: NodeJS.ProcessEnv,
    private readonly isStopping: () => boolean,
  ) {
    this.ctx = new ToolContext(TOOL, settingsOf(config.main, log), { env, retry: pollRetryPolicy(config.main.intervalMs) });
    this.system = new HostSystem(this.ctx.env);
    this.cache = new MetadataCache(cacheDir(this.ctx.env));
    for (const w of config.warnings) this.ctx.logger.warn(w);
  }

  private async runAction(hook: Hook, extraEnv: Record<string, string>): Promise<RunResult> {
    const user = hook.runas === undefined ? undefined : this.system.user(hook.runas);
    if (hook.runas !== undefined && !user) throw new CfnError(`runas ${hook.runas}: no such user`);
    // As `su` would set them for that user.
    const identity = user ? { HOME: user.home, USER: user.name, LOGNAME: user.name } : {};
    return this.system.run(hook.action, {
      env: { ...this.ctx.env, ...identity, ...extraEnv },
      user: hook.runas,
      timeoutMs: hook.timeoutMs,
      maxOutputBytes: MAX_ACTION_OUTPUT_BYTES,
    });
  }

  /** The metadata cfn-init last applied from this stack's `resource`, by the stack's name or id. */
  private applied(resource: string): unknown {
    const stack = this.config.main.stack;
    for (const name of new Set([stack, stackNameOf(stack)])) {
      try {
        const c = this.cache.read(name, resource);
        if (c) return c.metadata;
      } catch (err) {
        this.ctx.logger.warn(`cfn-init's cache of ${name}/${resource}: ${errorMessage(err)}; not used`);
      }
    }
    return undefined;
  }

  async pass(): Promise<PassResult> {
    const { main } = this.config;
    const deps = {
      describe: (resource: string) => describeResource(this.ctx, main.stack, resource),
      run: (hook: Hook, extraEnv: Record<string, string>) => this.runAction(hook, extraEnv),
      applied: (resource: string) => this.applied(resource),
      now: () => Date.now(),
      logger: this.ctx.logger,
      state: this.state,
      stopping: this.isStopping,
    };
    const result = await runPass(this.config, deps);
    await monitorServices(this.config, result, deps, this.system);
    return result;
  }

  close(): void {
    this.ctx.close();
  }
}

/** The state directory's lock file. */
export function lockFile(stateDir: string): string {
  return path.join(stateDir, 'cfn-hup.lock');
}
