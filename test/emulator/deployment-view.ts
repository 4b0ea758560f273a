/**
 * A deployment as /_emulator/state, /_emulator/deployments/<stack>/<name>
 * and the status page show it: the resource's status, Heat's deployment row
 * in the form its API shows, the metadata item, and the signals received.
 */
import { metadataItem, type MetadataEnv } from './deployment-metadata';
import { clone, type Deployment } from './deployments';
import { isoSeconds } from './signing';
import type { DeploymentView } from './state-view';

export function deploymentView(d: Deployment, env: MetadataEnv): DeploymentView {
  const row = d.row;
  const view: DeploymentView = {
    stack: d.stack.stackName,
    name: d.name,
    server: d.server,
    signalTransport: d.transport,
    actions: [...d.actions],
    status: d.res.status,
    statusReason: d.res.statusReason,
    softwareDeployment: null,
    metadata: metadataItem(d, env),
    queued: d.queued === undefined ? null : d.queued === 'delete' ? 'delete' : 'update',
    signalCount: d.signals.length,
    signals: clone(d.signals),
    deleted: d.deleted,
  };
  if (d.configName !== undefined) view.config = d.configName;
  if (row) {
    view.softwareDeployment = {
      id: row.id,
      server_id: d.stack.resources.get(d.server)!.physicalId,
      config_id: row.config.id,
      input_values: clone(row.inputValues),
      output_values: clone(row.outputValues),
      action: row.action,
      status: row.status,
      status_reason: row.statusReason,
      creation_time: isoSeconds(row.createdAt),
    };
    if (row.updatedAt !== undefined) view.softwareDeployment.updated_time = isoSeconds(row.updatedAt);
  }
  return view;
}
