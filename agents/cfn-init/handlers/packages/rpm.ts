/**
 * rpm: each value is a path or URL of an .rpm (a list installs several). The
 * package's own name and version come from the file (`rpm -qp`), so an
 * installed one is skipped; the change is named by the metadata key, as in
 * aws-cfn-bootstrap. Unlike aws-cfn-bootstrap (which treats an unreadable
 * package as installed unless --strict) an unreadable file is an error.
 * heat-cfntools ignores the rpm key altogether.
 *
 * URLs are fetched through the Downloader (so AWS::CloudFormation::
 * Authentication applies) into a private temporary directory, at plan time
 * because the identity decides whether there is anything to do; the
 * directory is removed after the install, or at exit when nothing installs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { System } from '../../../../shared/system';
import { child, type Problems } from '../../validation';
import type { HandlerContext } from '../types';
import { HandlerError, run, runOrThrow } from '../command';
import { batchAction, packageChanges, type Batch, type ManagerModule, type PackageRequest } from './types';

export interface RpmTools {
  rpm: string;
}

export const isUrl = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function removeTemp(dir: string | undefined): void {
  if (!dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

async function fetchToTemp(ctx: HandlerContext, keyPath: string, url: string, dir: string): Promise<string> {
  let body: Buffer;
  try {
    body = await ctx.downloader.fetch(url);
  } catch (err) {
    throw new HandlerError(keyPath, `cannot download ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const base = path.basename(new URL(url).pathname) || 'package.rpm';
  const file = path.join(dir, `${fs.readdirSync(dir).length}-${base.replace(/[^\w.+-]/g, '_')}`);
  fs.writeFileSync(file, body, { mode: 0o600 });
  return file;
}

export const rpm: ManagerModule<RpmTools> = {
  name: 'rpm',

  locate(system: System) {
    const bin = system.which('rpm');
    return bin ? { rpm: bin } : 'rpm packages requested, but rpm is not on PATH';
  },

  check(pkg: PackageRequest, p: string, problems: Problems) {
    if (pkg.versions.length === 0) problems.add(child(p, pkg.name), 'expected the path or URL of an .rpm file (or a list of them)');
    for (const loc of pkg.versions) {
      if (!isUrl(loc) && !loc.startsWith('/')) problems.add(child(p, pkg.name), `expected an absolute path or a URL, got ${JSON.stringify(loc)}`);
    }
  },

  async plan(batch: Batch<RpmTools>, ctx: HandlerContext) {
    const keyPath = `${ctx.keyPath}.${batch.manager}`;
    const bin = batch.tools.rpm;
    let dir: string | undefined;
    const todo: { name: string; file: string; shown: string }[] = [];
    try {
      for (const pkg of batch.packages) {
        for (const loc of pkg.versions) {
          if (isUrl(loc) && !dir) {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-init-rpm-'));
            tempDirs.add(dir);
          }
          const file = isUrl(loc) && dir ? await fetchToTemp(ctx, `${keyPath}.${pkg.name}`, loc, dir) : loc;
          const q = await run(ctx, [bin, '-qp', '--queryformat', '%{NAME}-%{VERSION}-%{RELEASE}', '--nosignature', file]);
          if (q.status !== 0 || !q.stdout.trim()) {
            throw new HandlerError(`${keyPath}.${pkg.name}`, `${loc} is not a readable rpm package: ${q.output.trim() || `rpm exited ${q.status}`}`);
          }
          const nvr = q.stdout.trim();
          if ((await run(ctx, [bin, '-q', '--quiet', nvr])).status === 0) {
            ctx.logger.debug(`rpm: ${nvr} (${loc}) is installed, nothing to do`);
            continue;
          }
          todo.push({ name: pkg.name, file, shown: `${pkg.name} (${nvr} from ${loc})` });
        }
      }
    } catch (err) {
      removeTemp(dir);
      throw err;
    }
    if (todo.length === 0) {
      removeTemp(dir);
      return [];
    }
    const summary = `${batch.manager}: install ${todo.map((t) => t.shown).join(', ')}`;
    return [
      batchAction(summary, packageChanges(batch.manager, todo.map((t) => t.name)), async (actx) => {
        try {
          // -U upgrades in place; --replacepkgs makes a half-recorded earlier install harmless.
          const argv = [bin, '-U', '--quiet', '--replacepkgs', ...todo.map((t) => t.file)];
          actx.logger.info(`Installing packages: ${argv.join(' ')}`);
          await runOrThrow(actx, keyPath, summary, argv);
        } finally {
          removeTemp(dir);
        }
      }),
    ];
  },
};
