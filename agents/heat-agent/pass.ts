/**
 * One check: the server's metadata, its deployments checked whole, then
 * each one that is new or changed run once, in Heat's order, and its result
 * signalled; a result Heat did not accept is signalled again at the next
 * check, not run again. The metadata's `os-collect-config` block (the
 * collectors and their keys, which Heat rotates) is taken up for the next
 * checks.
 */
import { errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { registerSecret } from '../../shared/redact';
import { blockFromMetadata, blockSecrets, sameBlock, type OccBlock } from './collectors/settings';
import { inputValue, parseDeployments, type Deployment } from './deployments';
import { failure, runDeployment, type RunContext } from './groups';
import { sendSignal } from './signal';
import type { AgentState, DeploymentResult } from './state';

export interface Fetched {
  /** The server's metadata, with the deployments of every collector. */
  metadata: unknown;
  /** False when a collector had nothing yet: deployments it may hold are not forgotten. */
  complete: boolean;
}

export interface PassDeps {
  fetch(): Promise<Fetched>;
  signal(d: Deployment, result: DeploymentResult): ReturnType<typeof sendSignal>;
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

async function report(d: Deployment, result: DeploymentResult, deps: PassDeps, out: PassResult): Promise<void> {
  try {
    const transport = await deps.signal(d, result);
    await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true });
    if (transport !== 'NO_SIGNAL') out.signalled++;
    deps.logger.info(`deployment ${d.name} (${d.id}): ${transport === 'NO_SIGNAL' ? 'done (NO_SIGNAL)' : `signalled over ${transport}`}`);
  } catch (err) {
    out.failures++;
    deps.logger.error(`deployment ${d.name} (${d.id}): signal not accepted: ${errorMessage(err)}; signalled again at the next check`);
  }
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
  for (const d of deployments) {
    if (deps.stopping()) break;
    const done = deps.state.get(d.id);
    if (done?.fingerprint === d.fingerprint) {
      if (done.signalled) continue;
      if (done.result) {
        deps.logger.info(`deployment ${d.name} (${d.id}): its result was not accepted yet; signalling again`);
        await report(d, done.result, deps, out);
        continue;
      }
    }
    if (!done && deps.deployedBefore(d)) {
      deps.logger.info(`deployment ${d.name} (${d.id}): heat-config deployed it before; not run again`);
      await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true });
      continue;
    }
    deps.logger.info(`deployment ${d.name} (${d.id}), group ${d.group}: ${done ? 'changed' : 'new'}; running`);
    const result = await runDeployment(d, deps.run);
    out.ran++;
    if (result === undefined) {
      deps.logger.info(`deployment ${d.name}: group ${d.group} is os-apply-config's; nothing to run or signal`);
      await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: true });
      continue;
    }
    const why = failure(d, result);
    if (why) deps.logger.error(`deployment ${d.name} (${d.id}) failed: ${why}`);
    // Recorded before the signal: a lost signal is sent again, the deployment is not run again.
    await deps.state.set(d.id, { fingerprint: d.fingerprint, signalled: false, result });
    await report(d, result, deps, out);
  }
  if (fetched.complete) await deps.state.keepOnly(new Set(deployments.map((d) => d.id)));
  return out;
}
