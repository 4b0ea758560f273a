/** cfn-signal's work once its flags are parsed: choose the target, build the signal, deliver it. */
import { heatDir } from '../../shared/paths';
import { settingsFromArgs } from '../../shared/cli-options';
import { UsageError } from '../../shared/errors';
import { redactUrl, registerUrlSecrets } from '../../shared/redact';
import { DEFAULT_DATA, DEFAULT_REASON, type SignalFields } from './body';
import { deliver, retryPolicy } from './deliver';
import { ToolContext } from '../../shared/context';
import { decodeHandleUrl } from './handle-url';
import { resolveAuthToken } from './native';
import { TOOL, type SignalArgs } from './options';
import { cfnHandleRequest, nativeHandleRequest } from './requests';
import { sendResourceSignal } from './resource';
import { decideStatus } from './status';
import { defaultUniqueId } from '../../shared/instance-id';

type Target =
  | { kind: 'cfn-handle'; url: string; fromBase64: boolean }
  | { kind: 'native-handle'; url: string; fromBase64: boolean; token?: string }
  | { kind: 'resource'; stack: string; resource: string };

/** Which mode the flags ask for; contradictory flags are usage errors (exit 2). */
function chooseTarget(args: SignalArgs, env: NodeJS.ProcessEnv): Target {
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

export async function signal(args: SignalArgs, env: NodeJS.ProcessEnv): Promise<number> {
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
}
