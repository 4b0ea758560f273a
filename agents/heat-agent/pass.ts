/**
 * One check: the server's metadata, its deployments checked whole, then
 * each one that is new or changed run once, in the list's order, and its
 * result signalled; a result Heat did not accept is signalled again at the
 * next check, not run again. A deployment whose signal cannot be sent (an
 * unknown transport, an input missing or malformed) is not run: Heat is
 * told it failed when another route can carry that, and the refusal is
 * recorded so that it is said once, not at every check. The metadata's
 * `os-collect-config` block (the collectors and their keys, which Heat
 * rotates) is taken up for the next checks.
 */
import { errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { registerSecret } from '../../shared/redact';
import { blockFromMetadata, blockSecrets, sameBlock, type OccBlock } from './collectors/settings';
import { inputValue, parseDeployments, type Deployment } from './deployments';
import { failure, isConfigOnly, runDeployment, type RunContext } from './groups';
import { planSignal, type sendSignal, type SignalRoute } from './signal';
import type { AgentState, DeploymentResult } from './state';

export interface Fetched {
  /** The server's metadata, with the deployments of every collector. */
  metadata: unknown;
  /** False when a collector had nothing yet: deployments it may hold are not forgotten. */
  complete: boolean;
}

export interface PassDeps {
  fetch(): Promise<Fetched>;
  signal(route: SignalRoute, result: DeploymentResult): ReturnType<typeof sendSignal>;
  /** Hands the metadata's deployments list to whatever else on the image reads it (heat-config-file.ts). */
  publish(deployments: unknown): Promise<void>;
  run: RunContext;
  state: AgentState;
  logger: Logger;
  stopping(): boolean;
  /** Where the metadata came from, for errors. */
  where: string;
  /** True when heat-config, before this agent, deployed exactly this (its deployed/<id>.json). */
  deployedBefore(d: Deployment): boolean;
}

export interface PassResult {
  fetchFailed: boolean;
  ran: number;
  signalled: number;
  failures: number;
  /** The metadata's os-collect-config block, when it differs from the one in use. */
  block?: OccBlock;
}

async function report(d: Deployment, route: SignalRoute, result: DeploymentResult, deps: PassDeps, out: PassResult): Promise<void> {
  try {
    const transport = await deps.signal(route, result);
    await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true });
    if (transport !== 'NO_SIGNAL') out.signalled++;
    deps.logger.notice(`deployment ${d.name} (${d.id}): ${transport === 'NO_SIGNAL' ? 'done (NO_SIGNAL)' : `signalled over ${transport}`}`);
  } catch (err) {
    out.failures++;
    deps.logger.error(`deployment ${d.name} (${d.id}): signal not accepted: ${errorMessage(err)}; signalled again at the next check`);
  }
}

/**
 * A deployment that cannot report is not run. With a route for its failure,
 * the failure is the result to signal; without one, the refusal is recorded
 * (said once) and Heat waits for the deployment's timeout.
 */
async function refuse(d: Deployment, problem: string, fallback: SignalRoute | undefined, deps: PassDeps, out: PassResult): Promise<void> {
  out.failures++;
  if (!fallback) {
    deps.logger.error(`deployment ${d.name} (${d.id}) not run: ${problem}; nothing can tell Heat, which waits for the deployment's timeout; not tried again until the deployment changes`);
    await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true, refused: problem });
    return;
  }
  deps.logger.error(`deployment ${d.name} (${d.id}) not run: ${problem}; its failure is signalled over ${fallback.transport}`);
  const result: DeploymentResult = { deploy_stdout: '', deploy_stderr: `heat-agent did not run this deployment: ${problem}`, deploy_status_code: 1 };
  await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: false, result });
  await report(d, fallback, result, deps, out);
}

export async function runPass(deps: PassDeps, inUse?: OccBlock): Promise<PassResult> {
  const out: PassResult = { fetchFailed: false, ran: 0, signalled: 0, failures: 0 };
  let fetched: Fetched;
  try {
    fetched = await deps.fetch();
  } catch (err) {
    deps.logger.error(`metadata of ${deps.where}: ${errorMessage(err)}`);
    return { ...out, fetchFailed: true };
  }
  const { metadata } = fetched;
  const fresh = blockFromMetadata(metadata);
  for (const secret of blockSecrets(fresh)) registerSecret(secret);
  if (fresh && !sameBlock(fresh, inUse)) out.block = fresh;
  let deployments: Deployment[];
  try {
    deployments = parseDeployments(metadata, deps.where);
  } catch (err) {
    deps.logger.error(`nothing deployed: ${errorMessage(err)}`);
    return { ...out, failures: 1 };
  }
  // Masked from the start: a script or hook may print its inputs, and its output reaches the log.
  for (const d of deployments) registerSecret(inputValue(d, 'deploy_password'));
  try {
    await deps.publish((metadata as Record<string, unknown>).deployments);
  } catch (err) {
    out.failures++;
    deps.logger.error(`the deployments list for os-refresh-config's scripts: ${errorMessage(err)}`);
  }
  for (const d of deployments) {
    if (deps.stopping()) break;
    const done = deps.state.get(d.id);
    if (done?.fingerprint === d.fingerprint) {
      if (done.signalled) continue;
      if (done.result) {
        const plan = planSignal(d);
        const route = 'route' in plan ? plan.route : plan.fallback;
        if (route) {
          deps.logger.notice(`deployment ${d.name} (${d.id}): its result was not accepted yet; signalling again`);
          await report(d, route, done.result, deps, out);
        } else await refuse(d, 'problem' in plan ? plan.problem : 'no route', undefined, deps, out);
        continue;
      }
    }
    if (!done && deps.deployedBefore(d)) {
      deps.logger.info(`deployment ${d.name} (${d.id}): heat-config deployed it before; not run again`);
      await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true });
      continue;
    }
    if (isConfigOnly(d, deps.run)) {
      deps.logger.info(`deployment ${d.name} (${d.id}): group ${d.group} is os-apply-config's; nothing to run or signal`);
      await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true });
      continue;
    }
    const plan = planSignal(d);
    if ('problem' in plan) {
      await refuse(d, plan.problem, plan.fallback, deps, out);
      continue;
    }
    deps.logger.notice(`deployment ${d.name} (${d.id}), group ${d.group}: ${done ? 'changed' : 'new'}; running`);
    const result = await runDeployment(d, deps.run);
    out.ran++;
    const why = failure(d, result);
    if (why) deps.logger.error(`deployment ${d.name} (${d.id}) failed: ${why}`);
    // Recorded before the signal: a lost signal is sent again, the deployment is not run again.
    await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: false, result });
    await report(d, plan.route, result, deps, out);
  }
  if (fetched.complete) await deps.state.keepOnly(new Set(deployments.map((d) => d.id)));
  return out;
}
