/** cfn-get-metadata: print a resource's metadata, or one key of it, as JSON. */
import { parseArgs, type ToolMain } from '../../shared/cli';
import { connectionOptions, credentialOptions, endpointOptions, loggingOptions } from '../../shared/cli-options';
import { UsageError } from '../../shared/errors';
import { parseKeyPath } from '../../shared/key-path';

export const TOOL = 'cfn-get-metadata';

const options = {
  stack: { alias: 's', type: 'string', demandOption: true, describe: 'stack name or id' },
  resource: { alias: 'r', type: 'string', demandOption: true, describe: 'logical resource id' },
  key: { alias: 'k', type: 'string', describe: "key path: a.b.c; 'quoted.segment' or \\. for a literal dot" },
  ...endpointOptions,
  ...credentialOptions,
  ...connectionOptions,
  ...loggingOptions(TOOL),
} as const;

export const main: ToolMain = async (argv) => {
  const args = parseArgs(TOOL, argv, options, '$0 -s STACK -r RESOURCE [-k KEY] [options]');
  if (!args) return 0;
  if (!args.stack.trim()) throw new UsageError('--stack must not be empty');
  if (!args.resource.trim()) throw new UsageError('--resource must not be empty');
  const segments = args.key === undefined ? [] : parseKeyPath(args.key);

  // Signing, HTTP and the local fallbacks are loaded only for a run that fetches.
  return (require('./run') as typeof import('./run')).printMetadata(args, segments);
};
