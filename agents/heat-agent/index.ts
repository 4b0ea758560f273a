/**
 * heat-agent: OS::Heat::SoftwareDeployment on the instance, in one tool:
 * what os-collect-config, os-refresh-config, heat-config and
 * heat-config-notify do together. Polls the server resource's metadata
 * through os-collect-config's collectors (cfn, heat, request, zaqar, local:
 * collectors/), runs each new or changed deployment once by its group, and
 * signals the result. `--one-time` checks once (cron,
 * timers, tests); otherwise it stays in the foreground as a daemon
 * (heat-agent.service), on cfn-hup's schedule: its own phase in the
 * interval, backoff after failures, SIGHUP reads the configuration again,
 * SIGTERM stops after the running deployment. `--check-config` only reads
 * the configuration (heat-agent.service's ExecReload runs it before the
 * SIGHUP, so that a refused file fails `systemctl reload`).
 */
import { parseArgs, type ToolMain } from '../../shared/cli';
import { connectionOptions, credentialOptions, loggingOptions } from '../../shared/cli-options';
import { UsageError } from '../../shared/errors';
import type { Args } from './run';

export const TOOL = 'heat-agent';
const DEFAULT_DEPLOYMENT_TIMEOUT_S = 3600;

const options = {
  config: { alias: 'c', type: 'string', describe: "os-collect-config's file (default /etc/os-collect-config.conf; without it, Heat's boot data /var/lib/heat-cfntools/cfn-init-data)" },
  'one-time': { type: 'boolean', describe: 'check once and exit (1 when something failed)' },
  'check-config': { type: 'boolean', describe: "read the configuration (the file, or Heat's boot data) as a start or SIGHUP would, then exit: 1 naming the file and key of a mistake (systemctl reload runs it before the SIGHUP)" },
  url: { alias: 'u', type: 'string', describe: 'heat-api-cfn URL (instead of the file)' },
  stack: { alias: 's', type: 'string', describe: 'stack name or id (instead of the file)' },
  resource: { alias: 'r', type: 'string', describe: 'the server resource (instead of the file)' },
  interval: { type: 'number', describe: 'seconds between checks (default: the file\'s polling_interval, else 30)' },
  'hooks-dir': { type: 'string', describe: "heat-config's hooks, one per group: only this directory (default: $HEAT_CONFIG_HOOKS, /usr/libexec/heat-config/hooks, /var/lib/heat-config/hooks, the first holding the group's hook)" },
  'deployment-timeout': { type: 'number', default: DEFAULT_DEPLOYMENT_TIMEOUT_S, describe: 'seconds a deployment may run before it is stopped' },
  ...credentialOptions,
  ...connectionOptions,
  ...loggingOptions(TOOL),
} as const;

export const main: ToolMain = async (argv) => {
  const args = parseArgs(TOOL, argv, options, '$0 [--config FILE | --url URL --stack S --resource R] [--one-time | --check-config]') as Args | undefined;
  if (!args) return 0;
  const t = args['deployment-timeout'];
  if (!Number.isFinite(t) || t <= 0) throw new UsageError(`--deployment-timeout: expected seconds above 0, got ${t}`);
  // The agent (HTTP, signing, the cfn-init engine, hooks) is loaded only for a run that checks.
  return (require('./run') as typeof import('./run')).agentRun(args);
};
