/**
 * heat-cfntools' `service.restarted` trigger: on each check, every service
 * of the watched resource's Init `config` that asks for `ensureRunning` and
 * is not running is started, and the resource's service.restarted hooks run
 * (CFN_SERVICE names the service). Unlike heat-cfntools, the hooks run only
 * when the start worked: a service that cannot start is reported, not
 * "restarted" on every check.
 */
import type { StackResourceDetail } from '../../shared/cfn-api';
import { errorMessage } from '../../shared/errors';
import { DEFAULT_SERVICE_LOCATIONS, findServiceTools, isServiceName, serviceDriver, type ServiceLocations } from '../../shared/service-control';
import type { System } from '../../shared/system';
import type { HupConfig } from './config';
import type { PassDeps, PassResult } from './pass';

const INIT_KEY = 'AWS::CloudFormation::Init';
/** How long one status or start command may take. */
const SERVICE_COMMAND_TIMEOUT_MS = 120_000;

type Kind = 'sysvinit' | 'systemd';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The ensureRunning services of the Init's `config` (true, or "true" as
 * CloudFormation sends it). A name cfn-init would refuse (an option, a path
 * out of /etc/init.d) is left out and said in `refused`: a service's name
 * becomes an argument and a path.
 */
export function ensureRunningServices(detail: StackResourceDetail, refused: string[] = []): Array<{ kind: Kind; name: string }> {
  const metadata = detail.metadata;
  const init = isObject(metadata) && isObject(metadata[INIT_KEY]) ? metadata[INIT_KEY] : metadata;
  const services = isObject(init) && isObject(init.config) ? init.config.services : undefined;
  const out: Array<{ kind: Kind; name: string }> = [];
  if (!isObject(services)) return out;
  for (const kind of ['sysvinit', 'systemd'] as const) {
    const entries = services[kind];
    if (!isObject(entries)) continue;
    for (const [name, s] of Object.entries(entries)) {
      if (!isObject(s) || (s.ensureRunning !== true && s.ensureRunning !== 'true')) continue;
      if (isServiceName(name)) out.push({ kind, name });
      else refused.push(`services.${kind}: ${JSON.stringify(name.slice(0, 80))} is not a service name; not watched`);
    }
  }
  return out;
}

export async function monitorServices(config: HupConfig, pass: PassResult, deps: PassDeps, system: System, where: ServiceLocations = DEFAULT_SERVICE_LOCATIONS): Promise<void> {
  const { logger } = deps;
  const watching = config.hooks.filter((h) => h.triggers.includes('service.restarted'));
  for (const resource of new Set(watching.map((h) => h.path.resource))) {
    const detail = pass.details.get(resource);
    if (!detail) continue;
    const refused: string[] = [];
    const services = ensureRunningServices(detail, refused);
    for (const why of refused) logger.warn(`${resource}: ${why}`);
    for (const { kind, name } of services) {
      if (deps.stopping()) return;
      const tools = findServiceTools(kind, system, where, false);
      if ('problem' in tools) {
        logger.debug(`service ${name}: ${tools.problem}; not watched`);
        continue;
      }
      const driver = serviceDriver(name, tools, where);
      const run = (argv: string[]) => system.run(argv, { timeoutMs: SERVICE_COMMAND_TIMEOUT_MS });
      try {
        if (await driver.isRunning(run)) continue;
        logger.warn(`service ${name} is not running; starting it (ensureRunning)`);
        let started = true;
        for (const argv of driver.control('start')) {
          const r = await run(argv);
          if (r.status !== 0) {
            logger.warn(`service ${name} did not start: ${argv.join(' ')} exited ${r.status}: ${r.output.trim().slice(-500)}`);
            started = false;
            break;
          }
        }
        if (!started) continue;
      } catch (err) {
        logger.warn(`service ${name}: ${errorMessage(err)}`);
        continue;
      }
      for (const hook of watching.filter((h) => h.path.resource === resource)) {
        if (deps.stopping()) return;
        logger.notice(`hook ${hook.name}: service.restarted of ${name}: running ${JSON.stringify(hook.action)}${hook.runas ? ` as ${hook.runas}` : ''}`);
        try {
          const r = await deps.run(hook, { CFN_SERVICE: name });
          if (r.status === 0 && !r.timedOut) logger.notice(`hook ${hook.name}: succeeded`);
          else logger.error(`hook ${hook.name}: ${r.timedOut ? 'timed out and was stopped' : `exited with code ${r.status}`}: ${r.output.trim().slice(-500)}`);
        } catch (err) {
          logger.error(`hook ${hook.name}: could not run: ${errorMessage(err)}`);
        }
      }
    }
  }
}
