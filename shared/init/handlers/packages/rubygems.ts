/**
 * rubygems: every listed version is installed (gems of several versions live
 * side by side, as in aws-cfn-bootstrap; heat-cfntools takes the first).
 * `gem list -i` decides what is installed, so nothing is reinstalled. A
 * version is passed to `-v` as written, so requirements such as `~> 4.0`
 * work as well as exact versions.
 */
import type { System } from '../../../system';
import type { HandlerContext } from '../types';
import { CommandError, run, runOrThrow } from '../command';
import { child } from '../../validation';
import { batchAction, packageChanges, type Batch, type ManagerModule } from './types';

export interface GemTools {
  gem: string;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const rubygems: ManagerModule<GemTools> = {
  name: 'rubygems',

  locate(system: System) {
    const gem = system.which('gem');
    return gem ? { gem } : 'rubygems packages requested, but gem is not on PATH';
  },

  async plan(batch: Batch<GemTools>, ctx: HandlerContext) {
    const keyPath = child(ctx.keyPath, batch.manager);
    const { gem } = batch.tools;
    const todo: { name: string; version?: string }[] = [];
    for (const pkg of batch.packages) {
      for (const version of pkg.versions.length ? pkg.versions : [undefined]) {
        const argv = [gem, 'list', '-i', `^${escapeRegex(pkg.name)}$`, ...(version === undefined ? [] : ['-v', version])];
        const r = await run(ctx, argv);
        if (r.status === 0) {
          ctx.logger.debug(`rubygems: ${pkg.name}${version ? ` ${version}` : ''} is installed, nothing to do`);
          continue;
        }
        // `gem list -i` says "false" with exit 1; anything else is gem failing.
        if (r.status !== 1 || r.stdout.trim() !== 'false') throw new CommandError(keyPath, r.status, r.output, { what: `rubygems: look up ${pkg.name}`, argv });
        todo.push({ name: pkg.name, version });
      }
    }
    if (todo.length === 0) return [];
    const shown = todo.map((t) => (t.version === undefined ? t.name : `${t.name} -v ${t.version}`));
    const summary = `${batch.manager}: install ${shown.join(', ')}`;
    return [
      batchAction(summary, packageChanges(batch.manager, todo.map((t) => t.name)), async (actx) => {
        const unversioned = todo.filter((t) => t.version === undefined).map((t) => t.name);
        const runs: string[][] = [
          ...(unversioned.length ? [[gem, 'install', '--no-document', ...unversioned]] : []),
          ...todo.filter((t) => t.version !== undefined).map((t) => [gem, 'install', '--no-document', '-v', t.version as string, t.name]),
        ];
        for (const argv of runs) {
          actx.logger.info(`Installing packages: ${argv.join(' ')}`);
          await runOrThrow(actx, keyPath, summary, argv);
        }
      }),
    ];
  },
};
