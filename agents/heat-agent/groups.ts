/**
 * Running one deployment by its `group`, with heat-config's protocols:
 *
 * - `script`: the config is an executable; each input is an environment
 *   variable, `heat_outputs_path` a path prefix: the script writes output
 *   NAME to `<prefix>.NAME`;
 * - `cfn-init`: the config is the value of AWS::CloudFormation::Init
 *   (configSets, configs), applied by our cfn-init engine in this process;
 * - any other group: its heat-config hook (hooks.ts) gets the deployment as
 *   JSON on stdin and answers deploy_stdout, deploy_stderr,
 *   deploy_status_code and the outputs as JSON on stdout, so heat-agents'
 *   ansible, puppet, docker-compose... hooks keep working.
 *
 * Whatever happens, the answer is a result to signal: a deployment that
 * could not even start reports why, with a non-zero status code.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../../shared/errors';
import { INIT_KEY } from '../../shared/init/engine';
import { assertDepth, DEFAULT_MAX_DEPTH } from '../../shared/json-depth';
import { parseJsonText } from '../../shared/json-file';
import type { Logger } from '../../shared/log';
import { readHead } from '../../shared/safe-open';
import type { System } from '../../shared/system';
import { inputEnvironment, type Deployment } from './deployments';
import { findHook, hookProblem } from './hooks';
import type { DeploymentResult } from './state';

/** What each stream of a script keeps: its start and its end (where a failure says why), the middle said as dropped. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** A hook's answer (its stdout) holds the deployment's whole log: more room, and still bounded. */
export const MAX_HOOK_ANSWER_BYTES = 16 * 1024 * 1024;
/** The most of one output file (heat_outputs_path) read: more could not reach Heat (signal.ts). */
export const MAX_OUTPUT_FILE_BYTES = 1024 * 1024;
/** Groups heat-config leaves to os-apply-config: no hook runs, nothing is signalled. */
export const CONFIG_ONLY_GROUPS: ReadonlySet<string> = new Set(['os-apply-config', 'Heat::Ungrouped']);
/** A name heat_outputs_path may be followed by: no way out of its directory. */
const OUTPUT_FILE_NAME = /^[^/\0]+$/;

export interface RunContext {
  system: System;
  env: NodeJS.ProcessEnv;
  /** A private (0700) directory for the scripts and their outputs. */
  workDir: string;
  /** Where hooks are looked for, in order (hooks.ts). */
  hookDirs: readonly string[];
  /** Applies Init metadata in this process (shared/init), answering as a hook would. */
  cfnInit(metadata: unknown, source: string): Promise<DeploymentResult>;
  timeoutMs: number;
  logger: Logger;
}

const failed = (why: string): DeploymentResult => ({ deploy_stdout: '', deploy_stderr: why, deploy_status_code: 1 });

function fileKey(d: Deployment): string {
  return createHash('sha256').update(d.id).digest('hex').slice(0, 32);
}

async function runScript(d: Deployment, c: RunContext): Promise<DeploymentResult> {
  if (typeof d.config !== 'string') return failed(`group script: the config is not a script (${typeof d.config})`);
  const base = path.join(c.workDir, fileKey(d));
  fs.rmSync(base, { force: true });
  fs.rmSync(`${base}.outputs`, { recursive: true, force: true });
  fs.mkdirSync(`${base}.outputs`, { mode: 0o700 });
  // Created afresh, never through whatever was left at the path.
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o700);
  try {
    fs.writeFileSync(fd, d.config);
  } finally {
    fs.closeSync(fd);
  }
  const prefix = path.join(`${base}.outputs`, 'out');
  try {
    const r = await c.system.run([base], { env: { ...c.env, ...inputEnvironment(d), heat_outputs_path: prefix }, timeoutMs: c.timeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES, cwd: c.workDir });
    const result: DeploymentResult = { deploy_stdout: r.stdout, deploy_stderr: r.stderr + (r.timedOut ? `\n[stopped after ${c.timeoutMs / 1000} s]` : ''), deploy_status_code: r.status };
    for (const o of d.outputs) {
      if (!OUTPUT_FILE_NAME.test(o.name)) continue;
      const file = `${prefix}.${o.name}`;
      try {
        const read = readHead(file, { what: `output ${o.name}`, noFollow: true, maxBytes: MAX_OUTPUT_FILE_BYTES });
        if (!read) continue;
        const dropped = read.size - read.head.length;
        result[o.name] = read.head.toString('utf8') + (dropped > 0 ? `\n[${dropped} bytes more not read: the most read of an output is ${MAX_OUTPUT_FILE_BYTES}]` : '');
      } catch (err) {
        c.logger.warn(`deployment ${d.name}: output ${o.name}: ${errorMessage(err)}`);
      }
    }
    return result;
  } catch (err) {
    return failed(`group script: ${errorMessage(err)}${/ENOEXEC|exec format/i.test(errorMessage(err)) ? ' (does the config start with #!?)' : ''}`);
  } finally {
    fs.rmSync(base, { force: true });
    fs.rmSync(`${base}.outputs`, { recursive: true, force: true });
  }
}

async function runCfnInit(d: Deployment, c: RunContext): Promise<DeploymentResult> {
  let metadata: unknown = d.config;
  if (typeof d.config === 'string') {
    try {
      metadata = parseJsonText(d.config, 'group cfn-init: the config');
    } catch (err) {
      return failed(errorMessage(err));
    }
  }
  // Heat's config is the Init value itself; heat-agents' hook puts it under the Init key, as cfn-init reads it.
  const wrapped = metadata && typeof metadata === 'object' && INIT_KEY in metadata ? metadata : { [INIT_KEY]: metadata };
  return c.cfnInit(wrapped, `deployment ${d.name} (${d.id})`);
}

async function runHook(d: Deployment, hook: string | undefined, c: RunContext): Promise<DeploymentResult> {
  if (!hook) return failed(`no hook for group ${d.group} (in ${c.hookDirs.join(', ')})`);
  const refused = hookProblem(hook);
  if (refused) {
    c.logger.error(`deployment ${d.name}: ${refused}`);
    return failed(refused);
  }
  const r = await c.system.run([hook], { env: c.env, input: JSON.stringify(d.raw), timeoutMs: c.timeoutMs, maxOutputBytes: MAX_HOOK_ANSWER_BYTES });
  if (r.status !== 0 && !r.stdout.trim()) return { deploy_stdout: '', deploy_stderr: r.stderr, deploy_status_code: r.status };
  let answer: unknown;
  try {
    answer = JSON.parse(r.stdout);
  } catch {
    return { deploy_stdout: r.stdout, deploy_stderr: `${r.stderr}\nhook ${hook} did not answer JSON on stdout`, deploy_status_code: r.status || 1 };
  }
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return failed(`hook ${hook} answered ${JSON.stringify(answer)?.slice(0, 60)}, not an object`);
  // JSON.parse takes any depth; what the agent then saves and signals (JSON.stringify) does not.
  try {
    assertDepth(answer, DEFAULT_MAX_DEPTH, `hook ${hook}'s answer`);
  } catch (err) {
    return failed(errorMessage(err));
  }
  // The hook's stderr is its log: heat-config keeps it beside the answer's own.
  if (r.stderr.trim()) c.logger.info(`hook ${d.group} for ${d.name}: ${r.stderr.trim().slice(-2000)}`);
  return answer as DeploymentResult;
}

/** A group heat-config leaves to os-apply-config, with no hook installed: nothing runs, nothing is signalled. */
export function isConfigOnly(d: Deployment, c: Pick<RunContext, 'hookDirs'>): boolean {
  return CONFIG_ONLY_GROUPS.has(d.group) && !findHook(c.hookDirs, d.group);
}

/** The result to signal. */
export function runDeployment(d: Deployment, c: RunContext): Promise<DeploymentResult> {
  if (d.noConfigFor !== undefined) return Promise.resolve(failed(`group component: no config for deploy_action ${d.noConfigFor}`));
  if (d.group === 'script') return runScript(d, c);
  if (d.group === 'cfn-init') return runCfnInit(d, c);
  return runHook(d, findHook(c.hookDirs, d.group), c);
}

/** heat-config's rule: a non-zero status code, or an error output that is set, fails the deployment. */
export function failure(d: Deployment, result: DeploymentResult): string | undefined {
  const code = Number(result.deploy_status_code ?? 0);
  if (code !== 0) return `status code ${code}`;
  const err = d.outputs.find((o) => o.errorOutput && result[o.name] !== undefined && result[o.name] !== null && result[o.name] !== '');
  return err ? `error output ${err.name}: ${String(result[err.name]).slice(0, 200)}` : undefined;
}
