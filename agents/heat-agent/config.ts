/**
 * Where heat-agent polls, and with which keys, from the first of:
 *
 * 1. the flags every cfn tool takes (`--stack`, `--resource`, `--url` and the
 *    credential flags): the cfn collector of that resource;
 * 2. os-collect-config's file (`--config`, default /etc/os-collect-config.conf)
 *    as os-apply-config writes it from Heat's metadata: `[DEFAULT]
 *    collectors` (every line counts: os-collect-config's option is
 *    multi-valued), `polling_interval`, and each collector's section;
 * 3. Heat's boot data (boot-data.ts): the `os-collect-config` block of
 *    cfn-init-data, what os-apply-config would have rendered the file from.
 *    A file that configures no collector of Heat's (a bare `[DEFAULT]`, as
 *    some image builds leave it) is completed from it too.
 *
 * The metadata's own block, once seen, is laid over the file's or the boot
 * data's (effectiveCollectors): Heat rotates keys and may change transport.
 */
import { ConfigError, UsageError } from '../../shared/errors';
import { IniFile } from '../../shared/ini-file';
import { heatDir, occLocalDataDir } from '../../shared/paths';
import { intervalFromEnv, MAX_INTERVAL_MS } from '../../shared/poll-schedule';
import { registerSecret } from '../../shared/redact';
import { readTextBounded } from '../../shared/safe-open';
import { initDataFile, readInitDataBlock } from './boot-data';
import { blockFromIni, blockSecrets, mergeBlocks, resolveCollectors, type CollectorSettings, type OccBlock, type Resolved } from './collectors/settings';

export const DEFAULT_CONFIG_FILE = '/etc/os-collect-config.conf';
/** os-collect-config's default polling interval. */
export const DEFAULT_INTERVAL_S = 30;
/** The largest os-collect-config.conf read: a few sections of keys. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface AgentSource {
  /** The settings read (file or boot data): what the metadata's block is laid over. */
  base?: OccBlock;
  /** --stack/--resource: the cfn collector of that resource, whatever the metadata's block says but its keys. */
  pinned?: { url?: string; stack: string; resource: string };
  /** --interval (or CFNTOOLS_AGENT_INTERVAL_MS), over any polling_interval. */
  intervalFlag?: number;
  /** The file or files it came from, for messages. */
  from: string;
  /** The local collector's directory when `[local] path` names none. */
  localDir: string;
}

export interface SourceFlags {
  config?: string;
  url?: string;
  stack?: string;
  resource?: string;
  interval?: number;
}

/** Neither a file nor Heat's boot data: the caller may still ask the metadata service (boot-data.ts). */
export class NoSourceError extends ConfigError {}

function intervalOf(raw: number | string | undefined, where: string, key: string): number | undefined {
  if (raw === undefined) return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 1 || s * 1000 > MAX_INTERVAL_MS) throw new ConfigError(`expected seconds between 1 and ${MAX_INTERVAL_MS / 1000}, got ${JSON.stringify(raw)}`, where, key);
  return s * 1000;
}

/** --interval; CFNTOOLS_AGENT_INTERVAL_MS over it, in milliseconds below a second (benchmarks run a thousand checks). */
function intervalFlagOf(flags: SourceFlags, env: NodeJS.ProcessEnv): number | undefined {
  return intervalFromEnv(env, 'CFNTOOLS_AGENT_INTERVAL_MS') ?? intervalOf(flags.interval, '--interval', '');
}

const hasRemote = (r: Resolved) => r.collectors.some((c) => c.name !== 'local');

/** A source from settings read somewhere: checked now (an unknown collector, a bad path, none configured are errors). */
export function sourceOf(base: OccBlock, from: string, flags: SourceFlags, env: NodeJS.ProcessEnv): AgentSource {
  const source: AgentSource = { base, from, localDir: occLocalDataDir(env), intervalFlag: intervalFlagOf(flags, env) };
  const resolved = resolveCollectors(base, from, source.localDir);
  if (!resolved.collectors.length) throw new ConfigError(`no collector is configured (${resolved.notes.join('; ') || 'none listed'})`, from);
  intervalOf(base.pollingInterval, from, 'DEFAULT.polling_interval');
  for (const secret of blockSecrets(base)) registerSecret(secret);
  return source;
}

export function readSource(flags: SourceFlags, env: NodeJS.ProcessEnv): AgentSource {
  if (flags.stack || flags.resource) {
    if (!flags.stack || !flags.resource) throw new UsageError('--stack and --resource go together');
    return { pinned: { url: flags.url, stack: flags.stack, resource: flags.resource }, intervalFlag: intervalFlagOf(flags, env), from: 'flags', localDir: occLocalDataDir(env) };
  }
  // CFNTOOLS_OCC_CONFIG moves the default (tests); only --config names a file that must exist.
  const named = flags.config;
  const file = named ?? (env.CFNTOOLS_OCC_CONFIG || DEFAULT_CONFIG_FILE);
  const heatDirectory = heatDir(env);
  let text: string | undefined;
  try {
    // Whoever can change the file picks the metadata and so what runs as root: trusted-file.ts's rule, as cfn-hup's files.
    text = readTextBounded(file, { what: "os-collect-config's file", trusted: true, maxBytes: MAX_CONFIG_BYTES });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give --config FILE, or --stack and --resource`, file);
  }
  if (text === undefined && named) throw new ConfigError('cannot read (ENOENT); give --config FILE, or --stack and --resource', file);
  if (text === undefined) {
    const boot = readInitDataBlock(heatDirectory);
    if (!boot) throw new NoSourceError(`no ${file}, and no os-collect-config block in ${initDataFile(heatDirectory)} (Heat's boot data)`);
    return sourceOf(boot.block, boot.from, flags, env);
  }
  const ini = new IniFile(text, file, { repeatedKeys: 'last', interpolation: false });
  const fromFile = blockFromIni(ini);
  if (!hasRemote(resolveCollectors(fromFile, file, occLocalDataDir(env)))) {
    const boot = readInitDataBlock(heatDirectory);
    if (boot) return sourceOf(mergeBlocks(fromFile, boot.block), `${file} and ${boot.from}`, flags, env);
  }
  return sourceOf(fromFile, file, flags, env);
}

export interface Effective extends Resolved {
  intervalMs: number;
}

/**
 * The collectors that run now: the source's, with the metadata's latest
 * block (`saved`) laid over. A block that would not resolve (an unknown
 * collector) is passed over with a note: the metadata must not stop the
 * agent that reads it.
 */
export function effectiveCollectors(source: AgentSource, saved: OccBlock | undefined): Effective {
  const interval = (block: OccBlock | undefined) => {
    try {
      return intervalOf(block?.pollingInterval, 'the metadata', 'os-collect-config.polling_interval');
    } catch {
      return undefined;
    }
  };
  if (source.pinned) {
    const keys = saved?.sections.cfn ?? {};
    const str = (k: string) => (typeof keys[k] === 'string' && keys[k] ? (keys[k] as string) : undefined);
    const cfn: CollectorSettings = { name: 'cfn', metadataUrl: source.pinned.url, stackName: source.pinned.stack, resource: source.pinned.resource, subPath: [], accessKeyId: str('access_key_id'), secretAccessKey: str('secret_access_key') };
    return { collectors: [cfn], notes: [], intervalMs: source.intervalFlag ?? DEFAULT_INTERVAL_S * 1000 };
  }
  const base = source.base!;
  const notes: string[] = [];
  let resolved: Resolved | undefined;
  if (saved) {
    try {
      resolved = resolveCollectors(mergeBlocks(base, saved), `${source.from} with the metadata's os-collect-config block`, source.localDir);
      if (!resolved.collectors.length) throw new ConfigError('no collector is configured');
    } catch (err) {
      notes.push(`the metadata's os-collect-config block is passed over: ${(err as Error).message}`);
      resolved = undefined;
    }
  }
  resolved ??= resolveCollectors(base, source.from, source.localDir);
  const intervalMs = source.intervalFlag ?? interval(saved) ?? intervalOf(base.pollingInterval, source.from, 'DEFAULT.polling_interval') ?? DEFAULT_INTERVAL_S * 1000;
  return { collectors: resolved.collectors, notes: [...notes, ...resolved.notes], intervalMs };
}
