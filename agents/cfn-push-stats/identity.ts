/**
 * Who the metrics are about: InstanceId and nova's tags (as heat-cfntools
 * sends them), AutoScalingGroupName, InstanceType and ImageId, from the
 * metadata service (IMDSv2 first) or heat-cfntools' cached nova metadata.
 * The metadata service gets short timeouts: off-cloud it never answers.
 */
import { ImdsClient, ImdsError } from '../../shared/credentials/imds';
import type { ToolContext } from '../../shared/context';
import { IMDS_ATTEMPTS, IMDS_TIMEOUT_MS, instanceIdentity } from '../../shared/instance-id';
import { heatDir } from '../../shared/paths';
import type { PushPlan } from './options';
import { MAX_DIMENSIONS, usableTags, type SeriesOptions } from './series';

const ASG_TAG = 'AutoScalingGroupName';
const ASG_IMDS_TAG = '/latest/meta-data/tags/instance/aws:autoscaling:groupName';

async function imdsValue(imds: ImdsClient, path: string, ctx: ToolContext): Promise<string | undefined> {
  if (imds.disabled) return undefined;
  try {
    return (await imds.get(path)).trim() || undefined;
  } catch (err) {
    if (!(err instanceof ImdsError)) throw err;
    ctx.logger.debug(`${path}: ${err.message}`);
    return undefined;
  }
}

/** The dimensions of each copy; undefined when nothing is to be sent (--auto-scaling=only without a group). */
export async function identify(plan: PushPlan, ctx: ToolContext): Promise<Omit<SeriesOptions, 'timestamp'> | undefined> {
  const log = ctx.logger;
  const common = plan.dimensions;
  const taken = new Set(common.map((d) => d.name));
  const imds = new ImdsClient({ env: ctx.env, logger: log, timeoutMs: IMDS_TIMEOUT_MS, maxAttempts: IMDS_ATTEMPTS });
  const named = taken.has('InstanceId');
  const who = named ? undefined : await instanceIdentity({ env: ctx.env, logger: log, heatDir: heatDir(ctx.env), imds });
  if (!named && !who) log.warn('no instance id from the metadata service or a cached nova meta_data.json: the metrics go without an InstanceId dimension');
  const tags = who?.tags ?? {};

  let instance: SeriesOptions['instance'];
  if (plan.aggregated !== 'only' && plan.autoScaling !== 'only') {
    const own = who ? [{ name: 'InstanceId', value: who.id }] : [];
    taken.add('InstanceId');
    // Room for the metric's own dimensions (a disk's two) as well.
    instance = [...usableTags(tags, taken, MAX_DIMENSIONS - common.length - own.length - 2, log), ...own];
  }

  let autoScalingGroup: string | undefined;
  if (plan.autoScaling !== 'off') {
    autoScalingGroup = tags[ASG_TAG] || (await imdsValue(imds, ASG_IMDS_TAG, ctx));
    if (!autoScalingGroup) {
      log.warn('--auto-scaling: this instance is in no auto-scaling group that nova metadata or instance tags name; no per-group metrics this time');
      if (plan.autoScaling === 'only') return undefined;
    }
  }

  let aggregated: SeriesOptions['aggregated'];
  if (plan.aggregated !== 'off') {
    aggregated = {
      instanceType: await imdsValue(imds, '/latest/meta-data/instance-type', ctx),
      imageId: await imdsValue(imds, '/latest/meta-data/ami-id', ctx),
    };
  }
  return { instance, autoScalingGroup, aggregated, common };
}
