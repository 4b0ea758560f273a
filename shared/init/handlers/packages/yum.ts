/**
 * yum and dnf. A version list installs its highest entry (RPM ordering, as
 * aws-cfn-bootstrap); `rpm -q` decides what is installed, so an unversioned
 * package that is installed is never upgraded (both peers). A requested
 * version older than the installed one is a `downgrade`, since `install`
 * refuses to go back. heat-cfntools crashes on any versioned package and on
 * lists of more than one version under Python 3.
 *
 * `yum` on a machine that only has dnf (Fedora, RHEL 9 minimal) uses dnf,
 * and `dnf` on one that only has yum uses yum: they take the same commands.
 *
 * yum 3 and dnf 4 wait for another's lock without end; told
 * `exit_on_lock`, they fail at once and we poll, within the bound
 * (lock-wait.ts). dnf 5 and the rpm transaction lock under either fail at
 * once anyway.
 */
import type { System } from '../../../system';
import type { HandlerContext } from '../types';
import { HandlerError, run } from '../command';
import { runWhenUnlocked, runWhenUnlockedOrThrow, type LockDialect } from './lock-wait';
import { rpmLock } from './rpm';
import { compareEvr, highest } from './rpmver';
import { child } from '../../validation';
import { batchAction, packageChanges, type Batch, type ManagerModule } from './types';

export interface YumTools {
  /** yum or dnf, whichever does the work. */
  bin: string;
  rpm: string;
}

/**
 * yum 3: `Existing lock /var/run/yum.pid: another copy is running as pid
 * 1234.`; dnf 4: `RPMDB already locked by 1234` (also `metadata`,
 * `cachedir`, `log`); dnf 5: `Failed to obtain rpm transaction lock.`;
 * under yum and dnf 4 the rpm transaction lock reads as rpm's own.
 */
export const yumLock: LockDialect = {
  held(output) {
    const yum3 = /Existing lock (\S+): another copy is running as pid (\d+)/.exec(output);
    if (yum3) return { lock: yum3[1], holder: { pid: Number(yum3[2]) } };
    const dnf4 = /^(\S+) already locked by (\d+)/m.exec(output);
    if (dnf4) return { lock: `dnf's ${dnf4[1]} lock`, holder: { pid: Number(dnf4[2]) } };
    if (output.includes('Failed to obtain rpm transaction lock')) return { lock: "dnf's rpm transaction lock" };
    return rpmLock.held(output);
  },
  lockArgs: () => ['--setopt=exit_on_lock=True'],
};

function locateWith(preferred: 'yum' | 'dnf'): (system: System) => YumTools | string {
  const other = preferred === 'yum' ? 'dnf' : 'yum';
  return (system) => {
    const bin = system.which(preferred) ?? system.which(other);
    const rpm = system.which('rpm');
    if (!bin) return `${preferred} packages requested, but neither ${preferred} nor ${other} is on PATH`;
    if (!rpm) return `${preferred} packages requested, but rpm (used to see what is installed) is not on PATH`;
    return { bin, rpm };
  };
}

/** `[epoch:]version-release` of every installed instance of `name`. */
async function installedEvrs(ctx: HandlerContext, rpm: string, name: string): Promise<string[]> {
  const r = await run(ctx, [rpm, '-q', '--queryformat', '%{EPOCH}:%{VERSION}-%{RELEASE}\\n', name]);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((evr) => evr.replace(/^\(none\):/, '0:'));
}

function makeYum(preferred: 'yum' | 'dnf'): ManagerModule<YumTools> {
  return {
    name: preferred,
    locate: locateWith(preferred),
    async plan(batch: Batch<YumTools>, ctx: HandlerContext) {
      const keyPath = child(ctx.keyPath, batch.manager);
      const { bin, rpm } = batch.tools;
      const install: { name: string; spec: string }[] = [];
      const downgrade: { name: string; spec: string }[] = [];
      for (const pkg of batch.packages) {
        const version = highest(pkg.versions, compareEvr);
        const spec = version === undefined ? pkg.name : `${pkg.name}-${version}`;
        // rpm matches name, name-version and name-version-release alike.
        if ((await run(ctx, [rpm, '-q', '--quiet', spec])).status === 0) {
          ctx.logger.debug(`${batch.manager}: ${spec} is installed, nothing to do`);
          continue;
        }
        const installed = version === undefined ? [] : await installedEvrs(ctx, rpm, pkg.name);
        const newest = highest(installed, compareEvr);
        const target = version !== undefined && newest !== undefined && compareEvr(version, newest) < 0 ? downgrade : install;
        target.push({ name: pkg.name, spec });
      }
      const via = bin.endsWith(`/${batch.manager}`) ? '' : ` (with ${bin})`;
      const actions = [];
      for (const [verb, list] of [['install', install], ['downgrade', downgrade]] as const) {
        if (list.length === 0) continue;
        const specs = list.map((x) => x.spec);
        const summary = `${batch.manager}: ${verb} ${specs.join(', ')}${via}`;
        actions.push(
          batchAction(summary, packageChanges(batch.manager, list.map((x) => x.name)), async (actx) => {
            // yum 3 exits 0 with "No package X available", so ask first (as aws-cfn-bootstrap does).
            for (const spec of specs) {
              const r = await runWhenUnlocked(actx, keyPath, `${batch.manager}: look up ${spec}`, [bin, '-y', '--showduplicates', 'list', 'available', spec], yumLock);
              if (r.status !== 0) throw new HandlerError(keyPath, `${bin} has no package ${spec} available`);
            }
            const argv = [bin, '-y', verb, ...specs];
            actx.logger.info(`Installing packages: ${argv.join(' ')}`);
            await runWhenUnlockedOrThrow(actx, keyPath, summary, argv, yumLock);
          }),
        );
      }
      return actions;
    },
  };
}

export const yum = makeYum('yum');
export const dnf = makeYum('dnf');
