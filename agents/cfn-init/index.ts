/**
 * cfn-init: apply a resource's AWS::CloudFormation::Init metadata.
 *
 * Metadata comes from one source: -s/-r (signed DescribeStackResource, with
 * Heat's local fallbacks, shared/metadata-source.ts), a file, `-` (stdin),
 * or with none of those Heat's injected cfn-init-data. The whole selected
 * run is validated before anything changes (engine.ts); the metadata cache
 * is updated only after a run that completed. A command with
 * `waitAfterCompletion: forever` ends the run with exit 0 and saved
 * progress (progress.ts); `--resume`, or a later run of the same metadata
 * and configSets, continues after it. What aws-cfn-bootstrap runs despite a
 * mistake (an unknown key, `command: ""`) runs here too with a warning
 * naming the key path, unless --strict.
 */
import { parseArgs, type ToolMain } from '../../shared/cli';
import { connectionOptions, credentialOptions, endpointOptions, loggingOptions } from '../../shared/cli-options';
import { UsageError } from '../../shared/errors';
import { LIMIT_NAMES } from '../../shared/init/limits';

export const TOOL = 'cfn-init';

const options = {
  stack: { alias: 's', type: 'string', describe: 'stack name or id' },
  resource: { alias: 'r', type: 'string', describe: 'logical resource id' },
  configsets: { alias: 'c', type: 'string', describe: 'comma-separated configSets to run, in order (default: default)' },
  ...endpointOptions,
  ...credentialOptions,
  ...connectionOptions,
  ...loggingOptions(TOOL),
  'cmd-log-file': { type: 'string', describe: 'log of command output (default: cfn-init-cmd.log beside --log-file)' },
  'dry-run': { type: 'boolean', describe: 'validate and print the plan; change nothing, and write no log (with -v the log is on stderr)' },
  limit: { type: 'string', array: true, describe: `raise or lower a bound, NAME=VALUE (repeatable): ${Object.keys(LIMIT_NAMES).join(', ')}` },
  resume: { type: 'boolean', describe: 'continue the run that stopped for a reboot (waitAfterCompletion: forever)' },
  // aws-cfn-bootstrap's hidden -t (rpm only there); here it refuses everything it would tolerate.
  strict: { alias: 't', type: 'boolean', describe: 'refuse the mistakes aws-cfn-bootstrap runs anyway (unknown keys, command: "", unknown service managers, unused broken Authentication blocks), which are otherwise warnings' },
} as const;

const USAGE = '$0 [-s STACK -r RESOURCE | FILE | -] [-c SETS] [options]';
const EPILOG = [
  'Metadata: -s/-r fetch it (DescribeStackResource); FILE or - (stdin) hold the',
  "resource's whole Metadata object; with none of these, Heat's cfn-init-data is",
  'read. --resume continues a run that stopped for a reboot. Mistakes',
  'aws-cfn-bootstrap runs anyway are warnings naming their key path (stderr and',
  'the log; --dry-run lists them); --strict makes them errors.',
].join('\n');

export const main: ToolMain = async (argv) => {
  const parsed = parseArgs(TOOL, argv, options, USAGE, (y) =>
    y
      .command('$0 [file]', false, (c) => c.positional('file', { type: 'string', describe: "the resource's Metadata as JSON, or - for stdin" }))
      .epilog(EPILOG),
  );
  if (!parsed) return 0;
  const args = parsed;
  const file = (parsed as { file?: string }).file;
  const { stack, resource } = args;
  if (stack !== undefined && !stack.trim()) throw new UsageError('--stack must not be empty');
  if (resource !== undefined && !resource.trim()) throw new UsageError('--resource must not be empty');
  if (args.resume && (file !== undefined || stack !== undefined || resource !== undefined || args.configsets !== undefined)) {
    throw new UsageError('--resume continues the saved run with its own metadata and configSets; give no -s/-r/-c or file');
  }
  if (file !== undefined && (stack !== undefined || resource !== undefined)) throw new UsageError('You cannot specify more than one input source for metadata: a file (or -) and -s/-r');
  if ((stack === undefined) !== (resource === undefined)) throw new UsageError('You must specify both a stack name (-s) and a logical resource id (-r)');
  // The engine (handlers, archives, templates, HTTP) is loaded only for a run that applies something.
  return (require('./run') as typeof import('./run')).initRun(args, file);
};

export type InitArgs = NonNullable<ReturnType<typeof parseArgs<typeof options>>>;
