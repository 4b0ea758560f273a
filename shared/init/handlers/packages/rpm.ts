/**
 * rpm: each value is a path or URL of an .rpm (a list installs several). The
 * package's own name and version come from the file (`rpm -qp`), so an
 * installed one is skipped; the change is named by the metadata key, as in
 * aws-cfn-bootstrap. Unlike aws-cfn-bootstrap (which treats an unreadable
 * package as installed unless --strict) an unreadable file is an error.
 * heat-cfntools ignores the rpm key altogether.
 *
 * URLs are fetched through the Downloader (so AWS::CloudFormation::
 * Authentication applies) into private files of the write journal's
 * directory, at plan time because the identity decides whether there is
 * anything to do; they are removed after the install, at exit, or by the
 * next run when a killed one left them.
 *
 * rpm waits for another transaction's lock only when its stdin is a
 * terminal, and then without end; ours is not, so it fails at once and the
 * install is polled (lock-wait.ts).
 */
import * as fs from 'node:fs';
import type { System } from '../../../system';
import { limitName } from '../../limits';
import { child, type Problems } from '../../validation';
import type { HandlerContext } from '../types';
import { HandlerError, run } from '../command';
import { runWhenUnlockedOrThrow, type LockDialect } from './lock-wait';
import { batchAction, packageChanges, type Batch, type ManagerModule, type PackageRequest } from './types';

export interface RpmTools {
  rpm: string;
}

/** `error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Resource temporarily unavailable)`; it does not name the holder. */
export const rpmLock: LockDialect = {
  held(output) {
    const m = /can't create transaction lock on (\S+) \(Resource temporarily unavailable\)/.exec(output);
    return m ? { lock: m[1] } : undefined;
  },
};

export const isUrl = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** Downloaded packages waiting for their install: removed after it, at exit, or by the next run's sweep if this one is killed. */
const downloaded = new Set<string>();
let cleanupInstalled = false;

function removeAll(files: Iterable<string>): void {
  for (const f of [...files]) {
    fs.rmSync(f, { force: true });
    downloaded.delete(f);
  }
}

async function fetchToScratch(ctx: HandlerContext, keyPath: string, url: string): Promise<string> {
  // Installed on first use, not at import: loading the module must not change the process.
  if (!cleanupInstalled) process.once('exit', () => removeAll(downloaded));
  cleanupInstalled = true;
  const file = ctx.writer.scratchFile('rpm');
  downloaded.add(file);
  try {
    await ctx.downloader.fetchToFile(url, file, { maxBytes: ctx.limits.fileSize, limitName: limitName('fileSize') });
  } catch (err) {
    throw new HandlerError(keyPath, `cannot download ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
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
    const keyPath = child(ctx.keyPath, batch.manager);
    const bin = batch.tools.rpm;
    const fetched: string[] = [];
    const todo: { name: string; file: string; shown: string }[] = [];
    try {
      for (const pkg of batch.packages) {
        for (const loc of pkg.versions) {
          const file = isUrl(loc) ? await fetchToScratch(ctx, child(keyPath, pkg.name), loc) : loc;
          if (isUrl(loc)) fetched.push(file);
          const q = await run(ctx, [bin, '-qp', '--queryformat', '%{NAME}-%{VERSION}-%{RELEASE}', '--nosignature', file]);
          if (q.status !== 0 || !q.stdout.trim()) {
            throw new HandlerError(child(keyPath, pkg.name), `${loc} is not a readable rpm package: ${q.output.trim() || `rpm exited ${q.status}`}`);
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
      removeAll(fetched);
      throw err;
    }
    if (todo.length === 0) {
      removeAll(fetched);
      return [];
    }
    const summary = `${batch.manager}: install ${todo.map((t) => t.shown).join(', ')}`;
    return [
      batchAction(summary, packageChanges(batch.manager, todo.map((t) => t.name)), async (actx) => {
        try {
          // -U upgrades in place; --replacepkgs makes a half-recorded earlier install harmless.
          const argv = [bin, '-U', '--quiet', '--replacepkgs', ...todo.map((t) => t.file)];
          actx.logger.info(`Installing packages: ${argv.join(' ')}`);
          await runWhenUnlockedOrThrow(actx, keyPath, summary, argv, rpmLock);
        } finally {
          removeAll(fetched);
        }
      }),
    ];
  },
};
