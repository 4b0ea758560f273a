/** cfn-push-stats once its flags are parsed: sample, identify, send. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import { sleep } from '../../shared/timer';

import { describeError } from '../../shared/cli';
import { settingsFromArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import type { Endpoint } from '../../shared/endpoints';
import { ConfigError } from '../../shared/errors';
import { splitAwsHost } from '../../shared/partitions';
import { cfnDir, pushStatsDir } from '../../shared/paths';
import { HeldLockError, PidFile } from '../../shared/pid-lock';
import { collectReadings } from './collect';
import { identify } from './identity';
import { DEFAULT_NAMESPACE, HAPROXY_NAMESPACE, TOOL, type PushArgs, type PushPlan } from './options';
import { buildSeries, checkDatum } from './series';
import { sendBatches, splitBatches, type Batch, type MetricDatum } from '../../shared/cloudwatch-api';
import { systemReader } from './system';


/** mon-put-instance-data's spread of a fleet's cron runs. */
export const CRON_SPREAD_MS = 20_000;

/** A delay in [0, max): where in the spread this run sends. */
export function cronDelayMs(maxMs: number, random: (max: number) => number = randomInt): number {
  return maxMs > 0 ? random(maxMs) : 0;
}

/** Heat has had no CloudWatch API since 10.0: its instances must not default to AWS's. */
function checkEndpoint(ctx: ToolContext, endpoint: Endpoint): void {
  if (!endpoint.source.startsWith('default region')) return;
  const heat = ctx.heat;
  if (heat.metadataServer || heat.boto) {
    throw new ConfigError(
      `Heat configured this instance, but gave it no CloudWatch endpoint (no cfn-watch-server, no cloudwatch_region_endpoint): Heat since 10.0 has no CloudWatch API. Give --url (or --region for AWS)`,
      heat.dir,
    );
  }
}

function describeMetric(m: MetricDatum): string {
  const dims = (m.dimensions ?? []).map((d) => `${d.name}=${d.value}`).join(',');
  return `${m.name} ${m.value} ${m.unit ?? ''}${dims ? ` [${dims}]` : ''}`;
}

async function push(plan: PushPlan, ctx: ToolContext, print: (line: string) => void): Promise<number> {
  const log = ctx.logger;
  const timestamp = new Date();
  const reader = systemReader(ctx.env.CFNTOOLS_SYSTEM_ROOT || '/');
  const { system, haproxy } = await collectReadings(plan, reader, { stateDir: pushStatsDir(ctx.env), logger: log });
  const who = await identify(plan, ctx);
  if (!who) return 0;

  const endpoint = ctx.endpoint('monitoring');
  checkEndpoint(ctx, endpoint);
  const onePerRequest = plan.onePerRequest || endpoint.source.startsWith(ctx.heat.dir);
  const batches: Batch[] = [];
  const groups: Array<[string, typeof system]> = [
    [plan.namespace ?? DEFAULT_NAMESPACE, system],
    [plan.namespace ?? HAPROXY_NAMESPACE, haproxy],
  ];
  let total = 0;
  for (const [namespace, readings] of groups) {
    if (!readings.length) continue;
    if (namespace.startsWith('AWS/') && splitAwsHost(new URL(endpoint.url).hostname)) {
      throw new ConfigError(`namespace ${namespace} is reserved for AWS's own services there; give --namespace`, undefined, endpoint.url);
    }
    const metrics = buildSeries(readings, { ...who, timestamp });
    metrics.forEach(checkDatum);
    total += metrics.length;
    batches.push(...splitBatches(namespace, metrics, onePerRequest ? { metrics: 1, bytes: Infinity } : undefined));
  }
  for (const b of batches) for (const m of b.metrics) log.info(`Sending metric ${m.name}, Units ${m.unit}, Value ${m.value}`);

  if (plan.verify) {
    // Signing needs credentials: a run that would fail on them fails here too.
    await ctx.credentials.get();
    for (const b of batches) for (const m of b.metrics) print(`${b.namespace} ${describeMetric(m)}`);
    print(`verified: ${total} metric(s) in ${batches.length} request(s) to ${endpoint.url}; nothing sent`);
    return 0;
  }
  if (plan.fromCron) {
    const delay = cronDelayMs(Number(ctx.env.CFNTOOLS_PUSH_CRON_SPREAD_MS ?? CRON_SPREAD_MS));
    log.debug(`waiting ${delay} ms first, so that a fleet run from cron does not send in the same second`);
    await sleep(delay);
  }
  log.debug(`cloudwatch endpoint ${endpoint.url} (from ${endpoint.source})${onePerRequest ? ', one metric per request' : ''}`);
  const requests = await sendBatches({ client: ctx.queryClient('monitoring'), batches, timeoutSeconds: plan.timeoutSeconds, logger: log });
  const line = `sent ${total} metric(s) in ${requests} request(s) to ${endpoint.url}`;
  log.info(line);
  print(line);
  return 0;
}

/** A credential file where heat-cfntools reads it by default, used when no other source is named. */
function defaultCredentialFile(args: { 'credential-file'?: string; 'access-key'?: string; 'secret-key'?: string; role?: string }, env: NodeJS.ProcessEnv): string | undefined {
  if (args['credential-file'] || args['access-key'] || args['secret-key'] || args.role) return args['credential-file'];
  const file = path.join(cfnDir(env), 'cfn-credentials');
  return fs.existsSync(file) ? file : undefined;
}

export async function pushRun(args: PushArgs, plan: PushPlan): Promise<number> {
  const env = { ...process.env };
  const settings = settingsFromArgs({ ...args, 'credential-file': defaultCredentialFile(args, env) });
  // From cron, what would be printed goes to the log: cron mails whatever a job prints.
  const ctx = new ToolContext(TOOL, settings, { env });
  const print = plan.fromCron ? () => undefined : (line: string) => void process.stdout.write(`${line}\n`);
  let lock: PidFile | undefined;
  try {
    if (plan.fromCron) {
      const dir = pushStatsDir(env);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      try {
        lock = PidFile.acquire(path.join(dir, `${TOOL}.lock`), TOOL);
        if (lock.tookOver) ctx.logger.warn(lock.tookOver);
      } catch (err) {
        if (!(err instanceof HeldLockError)) throw err;
        ctx.logger.info(`${err.message}: this run is skipped`);
        return 0;
      }
    }
    return await push(plan, ctx, print);
  } catch (err) {
    if (!plan.fromCron) throw err;
    const { line, exitCode } = describeError(TOOL, err);
    ctx.logger.error(line);
    return exitCode;
  } finally {
    lock?.release();
    ctx.close();
  }
}
