/** cfn-get-metadata once its flags are checked: fetch (or fall back to the local copies), print one key. */
import { settingsFromArgs, type CommonArgs } from '../../shared/cli-options';
import { ToolContext } from '../../shared/context';
import { CfnError } from '../../shared/errors';
import { loadMetadata, MetadataCache } from '../../shared/metadata-source';
import { cacheDir } from '../../shared/paths';
import { pythonJsonDumps } from '../../shared/pyjson';
import { lookup } from '../../shared/key-path';
import { TOOL } from './index';

export async function printMetadata(args: CommonArgs & { 'log-file': string; stack: string; resource: string }, segments: string[]): Promise<number> {
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
}
