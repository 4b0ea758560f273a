/** cfn-get-metadata: print a resource's metadata, or one key of it, as JSON. */
import { parseArgs, type ToolMain } from '../../shared/cli';
import { connectionOptions, credentialOptions, endpointOptions, loggingOptions, settingsFromArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import { CfnError, UsageError } from '../../shared/errors';
import { loadMetadata, MetadataCache } from '../../shared/metadata-source';
import { cacheDir } from '../../shared/paths';
import { pythonJsonDumps } from '../../shared/pyjson';
import { lookup, parseKeyPath } from '../../shared/key-path';

const TOOL = 'cfn-get-metadata';

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

  const ctx = new ToolContext(TOOL, settingsFromArgs(args));
  try {
    const result = await loadMetadata(ctx, args.stack, args.resource, new MetadataCache(cacheDir(ctx.env)));
    ctx.logger.debug(`metadata of ${args.stack}/${args.resource} from ${result.source}`);
    const found = lookup(result.metadata ?? null, segments);
    if (!found.found) throw new CfnError(`key ${found.missing} not found in the metadata of ${args.stack}/${args.resource}`);
    process.stdout.write(pythonJsonDumps(found.value) + '\n');
    return 0;
  } finally {
    ctx.close();
  }
};
