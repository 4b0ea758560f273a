/**
 * cfn-signal: tell the orchestrator that this instance is configured (or
 * failed to be), once, intact. Three targets:
 *
 * - a wait-condition handle URL (AWS::CloudFormation::WaitConditionHandle,
 *   Heat and AWS): PUT of {"Status","Reason","UniqueId","Data"};
 * - --stack/--resource: a signed SignalResource call (AWS);
 * - an OS::Heat::WaitConditionHandle: --auth-token (POST with the handle's
 *   token) or --native (PUT to its temp URL), body {"status","reason","data","id"}.
 *
 * Exit 0 once the signal was accepted (whatever its Status), 1 when it was
 * refused or could not be delivered before --timeout, 2 for usage errors.
 */
import { heatDir } from '../../shared/paths';
import { parseArgs, type ToolMain } from '../../shared/cli';
import { settingsFromArgs } from '../../shared/cli-options';
import { UsageError } from '../../shared/errors';
import { redactUrl } from '../../shared/redact';
import { DEFAULT_DATA, DEFAULT_REASON, type SignalFields } from './body';
import { deliver, retryPolicy } from './deliver';
import { ToolContext } from '../../shared/context';
import { decodeHandleUrl, registerUrlSecrets } from './handle-url';
import { resolveAuthToken } from './native';
import { EXAMPLES, options, TOOL, USAGE } from './options';
import { cfnHandleRequest, nativeHandleRequest } from './requests';
import { sendResourceSignal } from './resource';
import { decideStatus } from './status';
import { defaultUniqueId } from '../../shared/instance-id';

export interface SignalDeps {
  env?: NodeJS.ProcessEnv;
}

type Target =
  | { kind: 'cfn-handle'; url: string; fromBase64: boolean }
  | { kind: 'native-handle'; url: string; fromBase64: boolean; token?: string }
  | { kind: 'resource'; stack: string; resource: string };

type Args = NonNullable<ReturnType<typeof parseArgs<typeof options>>>;

/** Which mode the flags ask for; contradictory flags are usage errors (exit 2). */
function chooseTarget(args: Args, env: NodeJS.ProcessEnv): Target {
  const positional = args._.map(String);
  if (positional.length > 1) throw new UsageError(`expected one wait condition handle URL, got ${positional.length} arguments`);
  const rawUrl = positional[0];
  const token = resolveAuthToken(args['auth-token'], env);
  if (args.resource !== undefined) {
    if (rawUrl !== undefined) throw new UsageError('give either a wait condition handle URL or --resource, not both');
    if (!args.stack?.trim()) throw new UsageError('--resource needs --stack');
    if (!args.resource.trim()) throw new UsageError('--resource must not be empty');
    if (token !== undefined || args.native) throw new UsageError('--auth-token/--native signal a handle URL, not --resource');
    return { kind: 'resource', stack: args.stack.trim(), resource: args.resource.trim() };
  }
  if (rawUrl === undefined) throw new UsageError('no wait condition handle URL and no --resource given');
  const { url, fromBase64 } = decodeHandleUrl(rawUrl);
  registerUrlSecrets(url);
  if (token !== undefined || args.native) return { kind: 'native-handle', url, fromBase64, token };
  return { kind: 'cfn-handle', url, fromBase64 };
}

export function signalMain(deps: SignalDeps = {}): ToolMain {
  return async (argv) => {
    // strictOptions: unknown flags stay errors, while the handle URL is a positional argument.
    const args = parseArgs(TOOL, argv, options, USAGE, (y) => EXAMPLES.reduce((acc, [cmd, what]) => acc.example(cmd, what), y.strict(false).strictOptions()));
    if (!args) return 0;
    const env = deps.env ?? process.env;
    const timeout = args.timeout;
    if (!(Number.isFinite(timeout) && timeout > 0)) throw new UsageError(`--timeout must be a number of seconds > 0, got ${timeout}`);
    const target = chooseTarget(args, env);
    const decision = decideStatus({ success: args.success, exitCode: args['exit-code'], exit: args.exit });

    // The file gets DEBUG (both peers log so); stderr, when the file cannot be written, only what a user needs.
    const verbose = args.verbose ?? false;
    const settings = settingsFromArgs(args, { level: 'DEBUG', stderrLevel: verbose ? 'DEBUG' : undefined, fallbackLevel: verbose ? 'DEBUG' : 'INFO' });
    const ctx = new ToolContext(TOOL, settings, { env, retry: retryPolicy(timeout) });
    const log = ctx.logger;
    try {
      log.debug(`cfn-signal called: ${target.kind}${'url' in target ? ` ${redactUrl(target.url)}${target.fromBase64 ? ' (decoded from base64)' : ''}` : ` ${target.stack}/${target.resource}`}`);
      for (const w of decision.warnings) {
        log.warn(w);
        process.stderr.write(`${TOOL}: warning: ${w}\n`);
      }
      if (args.stack !== undefined && target.kind !== 'resource') log.warn('--stack is only used with --resource; ignored');
      log.debug(`status ${decision.status} (from ${decision.decidedBy})`);

      let uniqueId = args.id;
      if (uniqueId === undefined) {
        const found = await defaultUniqueId({ env, logger: log, heatDir: heatDir(env) });
        log.debug(`UniqueId ${found.id} (from ${found.source})`);
        uniqueId = found.id;
      }
      const fields: SignalFields = { status: decision.status, reason: args.reason ?? DEFAULT_REASON, data: args.data ?? DEFAULT_DATA, uniqueId };

      if (target.kind === 'resource') {
        await sendResourceSignal(ctx, { stack: target.stack, resource: target.resource, uniqueId, status: fields.status });
        return 0;
      }
      const http = ctx.http();
      if (target.kind === 'cfn-handle') {
        await deliver(http, cfnHandleRequest(target.url, fields), `signal ${fields.status} (UniqueId ${uniqueId})`, log, target.url);
      } else {
        const how = target.token === undefined ? 'temp URL' : 'token';
        const signed = target.token === undefined ? target.url : undefined;
        await deliver(http, nativeHandleRequest(target.url, fields, target.token), `native signal ${fields.status} (id ${uniqueId}, ${how})`, log, signed);
      }
      return 0;
    } catch (err) {
      log.error(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      ctx.close();
    }
  };
}

export const main: ToolMain = signalMain();
