/**
 * One check: the server's metadata, its deployments checked whole, then
 * each one that is new or changed run once, in Heat's order, and its result
 * signalled; a result Heat did not accept is signalled again at the next
 * check, not run again. Credentials Heat put in the metadata's
 * `os-collect-config` block are taken up for the next checks.
 */
import { errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { lookup } from '../../shared/key-path';
import { registerSecret } from '../../shared/redact';
import { inputValue, parseDeployments, type Deployment } from './deployments';
import { failure, runDeployment, type RunContext } from './groups';
import { sendSignal } from './signal';
import type { AgentState, DeploymentResult, SavedCredentials } from './state';

export interface PassDeps {
  /** The resource's Metadata (and whatever the path selects below it). */
  fetch(): Promise<unknown>;
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
  /** New keys from the metadata's os-collect-config block, when they differ from the ones in use. */
  credentials?: SavedCredentials;
}

/** The `cfn` collector's keys Heat keeps current in the metadata. */
export function credentialsIn(metadata: unknown): SavedCredentials | undefined {
  const cfn = lookup(metadata ?? null, ['os-collect-config', 'cfn']);
  if (!cfn.found || !cfn.value || typeof cfn.value !== 'object') return undefined;
  const { access_key_id: accessKey, secret_access_key: secretKey } = cfn.value as Record<string, unknown>;
  return typeof accessKey === 'string' && typeof secretKey === 'string' && accessKey && secretKey ? { accessKey, secretKey } : undefined;
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

export async function runPass(deps: PassDeps, inUse?: SavedCredentials): Promise<PassResult> {
  const out: PassResult = { fetchFailed: false, ran: 0, signalled: 0, failures: 0 };
  let metadata: unknown;
  try {
    metadata = await deps.fetch();
  } catch (err) {
    deps.logger.error(`metadata of ${deps.where}: ${errorMessage(err)}`);
    return { ...out, fetchFailed: true };
  }
  const fresh = credentialsIn(metadata);
  if (fresh && (fresh.accessKey !== inUse?.accessKey || fresh.secretKey !== inUse?.secretKey)) out.credentials = fresh;
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
  await deps.state.keepOnly(new Set(deployments.map((d) => d.id)));
  return out;
}
