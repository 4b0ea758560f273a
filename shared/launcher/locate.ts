/**
 * Where the launcher is: beside the single executable's libraries
 * (`<prefix>/lib/cfntools`, where its RUNPATH looks too) or beside the
 * bundle in dist/. Absent (a build without a C compiler, an executable
 * copied alone) or switched off with CFNTOOLS_LAUNCHER=off, programs are
 * started by Node itself, with the same guarantees at a higher cost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSea } from 'node:sea';
import { ConfigError } from '../errors';
import { untrustedReason } from '../trusted-file';
import { Launcher } from './launcher';

export const LAUNCHER_NAME = 'cfntools-launcher';

function candidates(): string[] {
  if (isSea()) {
    const bin = path.dirname(fs.realpathSync(process.execPath));
    return [path.join(bin, '..', 'lib', 'cfntools', LAUNCHER_NAME), path.join('/usr/lib/cfntools', LAUNCHER_NAME)];
  }
  // The bundle (dist/cfntools.cjs) or these modules compiled one by one (dist/shared/launcher/).
  return [path.join(__dirname, LAUNCHER_NAME), path.join(__dirname, '..', '..', LAUNCHER_NAME)];
}

/** The first launcher present; it runs as the tool, so it must be as trusted as the tool's own files. */
export function findLauncher(env: NodeJS.ProcessEnv): Launcher | undefined {
  const setting = env.CFNTOOLS_LAUNCHER;
  if (setting === 'off') return undefined;
  if (setting !== undefined && setting !== '') throw new ConfigError(`expected "off" or nothing, got ${JSON.stringify(setting)}`, undefined, 'CFNTOOLS_LAUNCHER');
  for (const file of candidates()) {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const why = st.isFile() ? untrustedReason(file, st) : 'is not a regular file';
    if (why) throw new ConfigError(`the program launcher ${why}`, file);
    return new Launcher(file);
  }
  return undefined;
}
