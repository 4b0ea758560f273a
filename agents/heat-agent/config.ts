/**
 * Where heat-agent polls and with which keys: os-collect-config's file
 * (`[DEFAULT] polling_interval`, `[cfn] metadata_url`, `stack_name`,
 * `access_key_id`, `secret_access_key`, `path`), as os-apply-config writes
 * it from Heat's metadata, or the flags every cfn tool takes. oslo.config
 * repeats keys (`collectors`); the last one counts, as there.
 */
import * as fs from 'node:fs';
import { ConfigError, UsageError } from '../../shared/errors';
import { IniFile } from '../../shared/ini-file';

export const DEFAULT_CONFIG_FILE = '/etc/os-collect-config.conf';
/** os-collect-config's default polling interval. */
export const DEFAULT_INTERVAL_S = 30;

export interface AgentSource {
  url?: string;
  stack: string;
  resource: string;
  /** Keys below the resource's Metadata that hold the deployments (os-collect-config's `path` after `<Resource>.Metadata`). */
  subPath: string[];
  accessKey?: string;
  secretKey?: string;
  intervalMs: number;
  /** The file it came from, for messages. */
  from: string;
}

export interface SourceFlags {
  config?: string;
  url?: string;
  stack?: string;
  resource?: string;
  interval?: number;
}

/** `<Resource>.Metadata[.key...]`, as the cfn collector splits it. */
export function parsePath(raw: string, where: string, key: string): { resource: string; subPath: string[] } {
  const [resource, field, ...rest] = raw.split('.');
  if (!resource || field !== 'Metadata') throw new ConfigError(`expected <Resource>.Metadata[.key...], got ${JSON.stringify(raw)}`, where, key);
  return { resource, subPath: rest };
}

function intervalOf(raw: number | string | undefined, where: string, key: string): number {
  if (raw === undefined) return DEFAULT_INTERVAL_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 1 || s > 86_400) throw new ConfigError(`expected seconds between 1 and 86400, got ${JSON.stringify(raw)}`, where, key);
  return s * 1000;
}

export function readSource(flags: SourceFlags, env: NodeJS.ProcessEnv): AgentSource {
  if (flags.stack || flags.resource) {
    if (!flags.stack || !flags.resource) throw new UsageError('--stack and --resource go together');
    return { url: flags.url, stack: flags.stack, resource: flags.resource, subPath: [], intervalMs: intervalOf(flags.interval, '--interval', ''), from: 'flags' };
  }
  const file = flags.config ?? env.CFNTOOLS_OCC_CONFIG ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give --config FILE, or --stack and --resource`, file);
  }
  const ini = new IniFile(text, file, { repeatedKeys: 'last', interpolation: false });
  const cfn = ini.section('cfn');
  if (!cfn) throw new ConfigError('no [cfn] section: heat-agent polls heat-api-cfn (the cfn collector)', file);
  const need = (key: string) => {
    const v = ini.string(cfn, key);
    if (!v) throw ini.error(cfn, key, 'is required');
    return v;
  };
  const { resource, subPath } = parsePath(need('path'), file, 'cfn.path');
  return {
    url: need('metadata_url'),
    stack: need('stack_name'),
    resource,
    subPath,
    accessKey: ini.string(cfn, 'access_key_id'),
    secretKey: ini.string(cfn, 'secret_access_key'),
    intervalMs: flags.interval !== undefined ? intervalOf(flags.interval, '--interval', '') : intervalOf(ini.string(ini.section('DEFAULT') ?? 'DEFAULT', 'polling_interval'), file, 'DEFAULT.polling_interval'),
    from: file,
  };
}
