/**
 * Where the tools keep their files, each moved by an environment variable so
 * that tests never touch /var.
 */

/** Heat's injected files (cfn-init-data, cfn-metadata-server, cfn-boto-cfg). */
export const DEFAULT_HEAT_DIR = '/var/lib/heat-cfntools';
/** The last good metadata of each resource. */
export const DEFAULT_CACHE_DIR = '/var/cache/cfntools';
/** cfn-init's progress and write journal. */
export const DEFAULT_STATE_DIR = '/var/lib/cfntools/cfn-init';
/** cfn-hup's configuration (cfn-hup.conf, hooks.conf, hooks.d/), where both peers keep it. */
export const DEFAULT_CFN_DIR = '/etc/cfn';
/** heat-agent's record of the deployments it ran and signalled, and its work directory. */
export const DEFAULT_HEAT_AGENT_DIR = '/var/lib/heat-agent';
/** heat-config's own state (deployed/<id>.json), read once when an image moves to heat-agent. */
export const DEFAULT_HEAT_CONFIG_DIR = '/var/lib/heat-config';
/** os-collect-config's local collector's JSON files (its `[local] path` default), which heat-agent's reads too. */
export const DEFAULT_OCC_LOCAL_DATA_DIR = '/var/lib/os-collect-config/local-data';
/** cfn-push-stats' last CPU sample and its cron lock. */
export const DEFAULT_PUSH_STATS_DIR = '/var/lib/cfntools/cfn-push-stats';
/** cfn-hup's record of the values it has seen (metadata_db.json), where aws-cfn-bootstrap keeps it. */
export const DEFAULT_HUP_STATE_DIR = '/var/lib/cfn-hup/data';

export function heatDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_HEAT_DIR || DEFAULT_HEAT_DIR;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_CACHE_DIR || DEFAULT_CACHE_DIR;
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_STATE_DIR || DEFAULT_STATE_DIR;
}

export function cfnDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_CFN_DIR || DEFAULT_CFN_DIR;
}

export function hupStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_HUP_STATE_DIR || DEFAULT_HUP_STATE_DIR;
}

export function pushStatsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_PUSH_STATS_DIR || DEFAULT_PUSH_STATS_DIR;
}

export function heatAgentDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_HEAT_AGENT_DIR || DEFAULT_HEAT_AGENT_DIR;
}

export function heatConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_HEAT_CONFIG_DIR || DEFAULT_HEAT_CONFIG_DIR;
}

export function occLocalDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CFNTOOLS_OCC_LOCAL_DATA_DIR || DEFAULT_OCC_LOCAL_DATA_DIR;
}
