/**
 * cfn-push-stats: measures the instance and sends the figures, signed with
 * the instance's own (stack user's) keys, in one PutMetricData request.
 * Sampling, then who this instance is, then (from cron) a random wait so a
 * fleet does not send in the same second, then delivery within --timeout.
 */
import { parseArgs, type ToolMain } from '../../shared/cli';
import { options, planFromFlags, TOOL } from './options';

const USAGE = '$0 [--mem-util] [--disk-space-util [--disk-path PATH]...] [--cpu-util] [--heartbeat] [--watch ALARM] [options]';

export const main: ToolMain = async (argv) => {
  const args = parseArgs(TOOL, argv, options, USAGE, (y) => y.parserConfiguration({ 'duplicate-arguments-array': true }));
  if (!args) return 0;
  const plan = planFromFlags(args);
  // Sampling and delivery (HTTP, signing, sockets) are loaded only for a run that sends.
  return (require('./run') as typeof import('./run')).pushRun(args, plan);
};
