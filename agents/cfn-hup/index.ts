/**
 * cfn-hup: watches stack resources and runs hooks when their metadata, physical
 * id or timestamp changes. Three ways to run:
 *
 * - `cfn-hup`: checks the configuration (errors: exit 1), then detaches and
 *   returns 0, as aws-cfn-bootstrap does (user data that runs it goes on);
 * - under systemd or a supervisor (or `--foreground`): the same daemon, in
 *   the foreground (`Type=simple`);
 * - `--no-daemon` (heat-cfntools' `-f`): one check, then exit: for cron and
 *   systemd timers; exit 1 when a resource could not be checked or an
 *   action failed.
 *
 * `--check-config` only reads the configuration as a start or a SIGHUP
 * would (exit 1 on a mistake): cfn-hup.service's ExecReload runs it first,
 * so that `systemctl reload` fails when the daemon would refuse the files.
 */
import { parseArgs, type ToolMain } from '../../shared/cli';
import { loggingOptions } from '../../shared/cli-options';

export const TOOL = 'cfn-hup';
export const DEFAULT_PID_FILE = '/var/run/cfn-hup.pid';

const options = {
  config: { alias: 'c', type: 'string', describe: 'configuration directory (holding cfn-hup.conf, hooks.conf, hooks.d/; default /etc/cfn), or a hooks directory with /etc/cfn/cfn-hup.conf (heat-cfntools)' },
  'no-daemon': { alias: 'f', type: 'boolean', describe: 'check once and exit (for cron and systemd timers)' },
  foreground: { type: 'boolean', describe: 'run the daemon without detaching (implied under systemd)' },
  'check-config': { type: 'boolean', describe: 'check the configuration (and the credential file it names) as a start or SIGHUP would, then exit: 1 naming the file, line and key of a mistake (systemctl reload runs it before the SIGHUP)' },
  'pid-file': { type: 'string', default: DEFAULT_PID_FILE, describe: 'where the daemon writes its pid' },
  ...loggingOptions(TOOL),
} as const;

const USAGE = '$0 [-c DIR] [--no-daemon | --foreground | --check-config] [-v]';

export type HupArgs = NonNullable<ReturnType<typeof parseArgs<typeof options>>>;

export const main: ToolMain = async (argv) => {
  const args = parseArgs(TOOL, argv, options, USAGE, (y) => y.parserConfiguration({ 'boolean-negation': false, 'duplicate-arguments-array': false }));
  if (!args) return 0;
  // The daemon's machinery (HTTP, signing, the watcher) is loaded only for a run that checks.
  return (require('./run') as typeof import('./run')).hupRun(args, argv);
};
