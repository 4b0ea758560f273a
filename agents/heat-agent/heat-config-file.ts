/**
 * `/var/run/heat-config/heat-config` (`$HEAT_SHELL_CONFIG`): the metadata's
 * deployments list as os-apply-config renders it (Python's json.dumps),
 * which heat-config's deployer and some os-refresh-config scripts read
 * (heat-agents' docker-cmd, docker-compose and kubelet clean-ups remove the
 * containers of deployments no longer in it). heat-agent writes it only
 * when something installed reads it: a file in a hook directory or in an
 * os-refresh-config phase directory whose text names it
 * (`heat-config/heat-config` or `HEAT_SHELL_CONFIG`). heat-config's own
 * deployer (55-heat-config) does not count: heat-agent does its work.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pythonJsonDumps } from '../../shared/pyjson';
import { readHead, UnsafeFileError } from '../../shared/safe-open';

export const DEFAULT_HEAT_SHELL_CONFIG = '/var/run/heat-config/heat-config';
/** os-refresh-config's base directory, and the one it used before (taken when only it exists). */
export const ORC_BASE_DIR = '/usr/libexec/os-refresh-config';
export const OLD_ORC_BASE_DIR = '/opt/stack/os-config-refresh';
const ORC_PHASES = ['pre-configure.d', 'configure.d', 'post-configure.d', 'migration.d'];
/** heat-config's deployer reads the file to deploy from it, which heat-agent does instead. */
const REPLACED = new Set(['55-heat-config']);
const MENTIONS = /heat-config\/heat-config|HEAT_SHELL_CONFIG/;
/** Bounds on the search, made at every check: files looked at per directory, bytes read from the start of each (the readers name the file near their top). */
const MAX_FILES_PER_DIR = 256;
const MAX_READ_BYTES = 64 * 1024;

export function heatShellConfigFile(env: NodeJS.ProcessEnv): string {
  return env.HEAT_SHELL_CONFIG || DEFAULT_HEAT_SHELL_CONFIG;
}

/** The phase directories os-refresh-config would run (`$OS_REFRESH_CONFIG_BASE_DIR` as it honours it). */
export function orcPhaseDirs(env: NodeJS.ProcessEnv): string[] {
  const base = env.OS_REFRESH_CONFIG_BASE_DIR ?? (fs.existsSync(OLD_ORC_BASE_DIR) && !fs.existsSync(ORC_BASE_DIR) ? OLD_ORC_BASE_DIR : ORC_BASE_DIR);
  return ORC_PHASES.map((p) => path.join(base, p));
}

/** The start of a regular file (a FIFO or device in a hook directory is passed over, never waited on). */
function head(file: string): string {
  return readHead(file, { what: 'the file', maxBytes: MAX_READ_BYTES })?.head.toString('latin1') ?? '';
}

/** A directory or file that is not there (or went away while looked at) reads nothing. */
const gone = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/** The files in `dirs` that read the deployments file. */
export function readersIn(dirs: readonly string[]): string[] {
  const readers: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort().slice(0, MAX_FILES_PER_DIR);
    } catch (err) {
      if (gone(err)) continue;
      throw err;
    }
    for (const name of names.filter((n) => !REPLACED.has(n))) {
      const file = path.join(dir, name);
      try {
        if (fs.statSync(file).isFile() && MENTIONS.test(head(file))) readers.push(file);
      } catch (err) {
        if (!gone(err) && !(err instanceof UnsafeFileError)) throw err;
      }
    }
  }
  return readers;
}

/** The file's text: the list as os-apply-config writes `{{deployments}}` (nothing for none). */
export function renderDeployments(deployments: unknown): string {
  return deployments === undefined || deployments === null ? '' : pythonJsonDumps(deployments);
}

/**
 * Writes the file (0600: deployments hold passwords) when it would change.
 * Returns true when it wrote.
 */
export async function shareDeployments(file: string, deployments: unknown, write: (file: string, text: string) => Promise<void>): Promise<boolean> {
  const text = renderDeployments(deployments);
  // Replaced (renamed over) when it differs, never written through: a link or FIFO there is refused here.
  const bytes = Buffer.from(text);
  const there = readHead(file, { what: 'the deployments file', noFollow: true, maxBytes: bytes.length });
  if (there && there.size === bytes.length && there.head.equals(bytes)) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await write(file, text);
  return true;
}
