/**
 * cfn-create-aws-symlinks: link the tools into /opt/aws/bin, where templates
 * written for Amazon Linux call them (Heat's boothook runs this at every boot).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSea } from 'node:sea';
import { parseArgs, type ToolMain } from '../../shared/cli';
import { CfnError } from '../../shared/errors';
import { CFN_TOOL_NAMES } from '../../shared/tool-names';

const TOOL = 'cfn-create-aws-symlinks';

/**
 * Default source: the directory the tools are in. A single executable knows
 * its own path (the links sit beside it); the script form goes by the path it
 * was started by, /usr/bin when that is not absolute.
 */
function defaultSource(): string {
  if (isSea()) return path.dirname(process.execPath);
  const invoked = process.argv[1];
  return invoked && path.isAbsolute(invoked) ? path.dirname(invoked) : '/usr/bin';
}

export function createSymlinks(tools: readonly string[], source: string, target: string, force: boolean, out: (line: string) => void): void {
  out(`${source} -> ${target}`);
  if (path.resolve(source) === path.resolve(target)) throw new CfnError(`Source and target are the same ${target}`);
  try {
    fs.mkdirSync(target, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new CfnError(`Could not create target directory ${target}: ${(err as Error).message}`);
  }
  for (const tool of tools) {
    const src = path.join(source, tool);
    if (!fs.existsSync(src)) continue;
    const dst = path.join(target, tool);
    const exists = fs.lstatSync(dst, { throwIfNoEntry: false });
    if (exists && !force) {
      out(`${dst} already exists, will not replace with symlink`);
      continue;
    }
    if (exists) fs.rmSync(dst, { force: true });
    out(`${src} -> ${dst}`);
    fs.symlinkSync(src, dst);
  }
}

export const main: ToolMain = async (argv) => {
  const args = parseArgs(TOOL, argv, {
    target: { alias: 't', type: 'string', default: '/opt/aws/bin', describe: 'directory to create the links in' },
    source: { alias: 's', type: 'string', default: defaultSource(), describe: 'directory holding the tools' },
    force: { alias: 'f', type: 'boolean', default: false, describe: 'replace existing files' },
  } as const, '$0 [-t TARGET] [-s SOURCE] [-f]');
  if (!args) return 0;
  createSymlinks(CFN_TOOL_NAMES, args.source, args.target, args.force, (line) => process.stdout.write(line + '\n'));
  return 0;
};
