/**
 * python: pip. The pip used is the first of `pip3`, `pip`, `python3 -m pip`
 * on PATH, so a virtualenv whose bin comes first on PATH is honoured.
 *
 * Installed packages come from one `pip list --format=json`, so an installed
 * package is not reinstalled (aws-cfn-bootstrap reinstalls every run and
 * reports every package changed; heat-cfntools runs easy_install, which
 * modern systems lack).
 *
 * Debian 12 and Ubuntu 23.04+ mark the system Python externally managed
 * (PEP 668): pip refuses to install into it. We do not add
 * --break-system-packages behind the user's back; the refusal becomes an
 * error that says what to do instead.
 */
import type { System } from '../../../system';
import { child, type Problems } from '../../validation';
import type { HandlerContext } from '../types';
import { CommandError, HandlerError, run, tail } from '../command';
import { isUrl } from './rpm';
import { batchAction, packageChanges, type Batch, type ManagerModule, type PackageRequest } from './types';

export interface PythonTools {
  /** argv prefix that runs pip: `[/usr/bin/pip3]` or `[/usr/bin/python3, -m, pip]`. */
  pip: string[];
}

/** PEP 503 name normalisation: `Foo_Bar.baz` and `foo-bar-baz` are one distribution. */
export const canonicalName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

/** Enough of PEP 440 equality for plain versions: case, a leading `v`, trailing `.0` release parts. */
export function normalizeVersion(v: string): string {
  let s = v.trim().toLowerCase().replace(/^v/, '');
  const m = /^(\d+(?:\.\d+)*)(.*)$/.exec(s);
  if (m) s = m[1].replace(/(\.0+)+$/, '') + m[2];
  return s;
}

const PIP_FLAGS = ['--disable-pip-version-check', '--no-input'];

async function installedDistributions(ctx: HandlerContext, keyPath: string, pip: string[]): Promise<Map<string, string>> {
  const argv = [...pip, 'list', '--format=json', ...PIP_FLAGS];
  const r = await run(ctx, argv);
  if (r.status !== 0) throw new CommandError(keyPath, r.status, r.output, { what: 'python: list installed packages', argv });
  let list: unknown;
  try {
    list = JSON.parse(r.stdout);
  } catch (err) {
    throw new HandlerError(keyPath, `${argv.join(' ')} printed no JSON: ${tail(r.stdout, 3, 300)}`, { cause: err });
  }
  const map = new Map<string, string>();
  if (Array.isArray(list)) {
    for (const d of list) {
      if (d && typeof d.name === 'string' && typeof d.version === 'string') map.set(canonicalName(d.name), d.version);
    }
  }
  return map;
}

export const python: ManagerModule<PythonTools> = {
  name: 'python',

  locate(system: System) {
    for (const name of ['pip3', 'pip']) {
      const bin = system.which(name);
      if (bin) return { pip: [bin] };
    }
    const py = system.which('python3');
    if (py) return { pip: [py, '-m', 'pip'] };
    return 'python packages requested, but none of pip3, pip, python3 is on PATH';
  },

  check(pkg: PackageRequest, p: string, problems: Problems) {
    // One Python environment holds one version of a distribution.
    if (pkg.versions.length > 1) problems.add(child(p, pkg.name), `pip installs one version of a package; got ${pkg.versions.length}: ${pkg.versions.join(', ')}`);
    for (const v of pkg.versions) {
      if (/^[<>=!~]/.test(v)) problems.add(child(p, pkg.name), `expected a plain version (installed as ${pkg.name}==VERSION) or a URL, got ${JSON.stringify(v)}`);
    }
  },

  async plan(batch: Batch<PythonTools>, ctx: HandlerContext) {
    const keyPath = child(ctx.keyPath, batch.manager);
    const pip = batch.tools.pip;
    const installed = await installedDistributions(ctx, keyPath, pip);
    const todo: { name: string; spec: string }[] = [];
    for (const pkg of batch.packages) {
      const have = installed.get(canonicalName(pkg.name));
      const want = pkg.versions[0];
      // A URL names no version: an installed distribution of that name satisfies it.
      if (have !== undefined && (want === undefined || isUrl(want) || normalizeVersion(have) === normalizeVersion(want))) {
        ctx.logger.debug(`python: ${pkg.name} ${have} is installed, nothing to do`);
        continue;
      }
      todo.push({ name: pkg.name, spec: want === undefined ? pkg.name : isUrl(want) ? want : `${pkg.name}==${want}` });
    }
    if (todo.length === 0) return [];
    const specs = todo.map((t) => t.spec);
    const summary = `${batch.manager}: install ${specs.join(', ')} (with ${pip.join(' ')})`;
    return [
      batchAction(summary, packageChanges(batch.manager, todo.map((t) => t.name)), async (actx) => {
        const argv = [...pip, 'install', ...PIP_FLAGS, ...specs];
        actx.logger.info(`Installing packages: ${argv.join(' ')}`);
        const r = await run(actx, argv);
        if (r.status === 0) return;
        if (r.output.includes('externally-managed-environment')) {
          throw new HandlerError(
            keyPath,
            `pip refused to install ${specs.join(', ')}: ${pip.join(' ')} belongs to an externally managed Python (PEP 668). ` +
              'Install the distribution package instead (apt/yum python3-...), or create a virtualenv and put its bin directory first on PATH for cfn-init.',
          );
        }
        throw new CommandError(keyPath, r.status, r.output, { what: summary, argv });
      }),
    ];
  },
};
