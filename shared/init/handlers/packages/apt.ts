/**
 * apt: installed check with dpkg-query, install with apt-get, like
 * aws-cfn-bootstrap: a requested version is a prefix (`1.2` accepts 1.2.3-1),
 * installed as the glob `name=1.2*`, which apt resolves to the highest
 * matching candidate.
 *
 * aws-cfn-bootstrap never runs `apt-get update`, so a fresh image with empty
 * lists fails. We run it only when a requested package (version) is missing
 * from the lists, once per batch, then look again: an image with current
 * lists never touches the network, a fresh one works.
 *
 * apt-get waits for another process's lock (lock-wait.ts): apt 1.9.11+
 * waits on dpkg's locks itself (DPkg::Lock::Timeout), the lists and
 * archives locks (and every lock of an older apt) are polled.
 */
import type { System } from '../../../system';
import type { HandlerContext } from '../types';
import { HandlerError, run, type RunContext } from '../command';
import { debvercmp } from './debver';
import { highest } from './rpmver';
import { child } from '../../validation';
import { runWhenUnlockedOrThrow, type LockDialect } from './lock-wait';
import { batchAction, packageChanges, type Batch, type ManagerModule, type PackageRequest } from './types';

export interface AptTools {
  aptGet: string;
  aptCache: string;
  dpkgQuery: string;
}

interface Wanted {
  pkg: PackageRequest;
  /** Version prefix to install, when one was requested. */
  prefix?: string;
  /** The apt-get argument: `name` or `name=prefix*`. */
  spec: string;
}

/** `${Status}|${Package}=${Version}` lines of every instance (multi-arch) of `name`. */
async function installedVersions(ctx: RunContext, tools: AptTools, name: string): Promise<string[]> {
  const r = await run(ctx, [tools.dpkgQuery, '-W', '-f', '${Status}|${Version}\n', name]);
  if (r.status !== 0) return []; // "no packages found matching": not installed
  return r.stdout
    .split('\n')
    .map((line) => line.split('|'))
    .filter(([status, version]) => status.trim().endsWith(' installed') && version)
    .map(([, version]) => version);
}

export function satisfied(installed: readonly string[], versions: readonly string[]): boolean {
  if (installed.length === 0) return false;
  return versions.length === 0 || versions.some((v) => installed.some((iv) => iv.startsWith(v)));
}

/** Versions apt could install, from `apt-cache madison` (empty when the lists do not know the name). */
async function candidates(ctx: RunContext, tools: AptTools, name: string): Promise<string[]> {
  const r = await run(ctx, [tools.aptCache, '-q', 'madison', name]);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((line) => line.split('|').map((f) => f.trim()))
    .filter((f) => f.length >= 3 && f[0] === name)
    .map((f) => f[1]);
}

async function unavailable(ctx: RunContext, tools: AptTools, wanted: readonly Wanted[]): Promise<Wanted[]> {
  const missing: Wanted[] = [];
  for (const w of wanted) {
    const vs = await candidates(ctx, tools, w.pkg.name);
    if (!vs.some((v) => w.prefix === undefined || v.startsWith(w.prefix))) missing.push(w);
  }
  return missing;
}

/**
 * `E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process
 * 1234 (apt-get)` (apt 1.9+, also after `Waiting for cache lock: ` while
 * DPkg::Lock::Timeout runs), `E: Could not get lock /var/lib/dpkg/lock -
 * open (11: Resource temporarily unavailable)` before. Not being root reads
 * `Could not open lock file`: no wait helps that.
 */
export const aptLock: LockDialect = {
  held(output) {
    // The last one: the lock may have changed hands while apt waited.
    const m = [...output.matchAll(/Could not get lock (\/\S*?)\.?(?:\s|$)(?:It is held by process (\d+)(?: \(([^)\n]*)\))?)?/g)].pop();
    if (!m) return undefined;
    return m[2] ? { lock: m[1], holder: { pid: Number(m[2]), ...(m[3] ? { program: m[3] } : {}) } } : { lock: m[1] };
  },
  lockArgs: (seconds) => ['-o', `DPkg::Lock::Timeout=${seconds}`],
};

function aptEnv(ctx: HandlerContext): NodeJS.ProcessEnv {
  return { ...ctx.env, DEBIAN_FRONTEND: 'noninteractive' };
}

export const apt: ManagerModule<AptTools> = {
  name: 'apt',

  locate(system: System) {
    const aptGet = system.which('apt-get');
    const aptCache = system.which('apt-cache');
    const dpkgQuery = system.which('dpkg-query');
    if (!aptGet || !aptCache || !dpkgQuery) {
      const missing = [['apt-get', aptGet], ['apt-cache', aptCache], ['dpkg-query', dpkgQuery]].filter(([, p]) => !p).map(([n]) => n);
      return `apt packages requested, but ${missing.join(', ')} not found on PATH (is this a Debian/Ubuntu machine?)`;
    }
    return { aptGet, aptCache, dpkgQuery };
  },

  async plan(batch: Batch<AptTools>, ctx: HandlerContext) {
    const keyPath = child(ctx.keyPath, batch.manager);
    const wanted: Wanted[] = [];
    for (const pkg of batch.packages) {
      const installed = await installedVersions(ctx, batch.tools, pkg.name);
      if (satisfied(installed, pkg.versions)) {
        ctx.logger.debug(`apt: ${pkg.name} ${installed.join(', ')} is installed, nothing to do`);
        continue;
      }
      // For a list, the highest prefix, as yum lists pick the highest version.
      const prefix = highest(pkg.versions, debvercmp);
      wanted.push({ pkg, prefix, spec: prefix === undefined ? pkg.name : `${pkg.name}=${prefix}*` });
    }
    if (wanted.length === 0) return [];
    const specs = wanted.map((w) => w.spec);
    const summary = `${batch.manager}: install ${specs.join(', ')}`;
    return [
      batchAction(summary, packageChanges(batch.manager, wanted.map((w) => w.pkg.name)), async (actx) => {
        const env = aptEnv(actx);
        let missing = await unavailable(actx, batch.tools, wanted);
        if (missing.length) {
          actx.logger.info(`apt: ${missing.map((w) => w.spec).join(', ')} not in the package lists; running apt-get update`);
          await runWhenUnlockedOrThrow(actx, keyPath, 'apt: update the package lists', [batch.tools.aptGet, '-q', 'update'], aptLock, { env });
          missing = await unavailable(actx, batch.tools, missing);
          if (missing.length) {
            throw new HandlerError(keyPath, `no package available for ${missing.map((w) => w.spec).join(', ')} (after apt-get update)`);
          }
        }
        // Keep existing conffiles without asking; downgrades are what a pinned version asks for.
        const argv = [batch.tools.aptGet, '-q', '-y', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', '--allow-downgrades', 'install', ...specs];
        actx.logger.info(`Installing packages: ${argv.join(' ')}`);
        await runWhenUnlockedOrThrow(actx, keyPath, summary, argv, aptLock, { env });
      }),
    ];
  },
};
