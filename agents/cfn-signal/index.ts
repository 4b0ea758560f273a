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
import { parseArgs, type ToolMain } from '../../shared/cli';
import { EXAMPLES, options, TOOL, USAGE } from './options';

export interface SignalDeps {
  env?: NodeJS.ProcessEnv;
}

export function signalMain(deps: SignalDeps = {}): ToolMain {
  return async (argv) => {
    // strictOptions: unknown flags stay errors, while the handle URL is a positional argument.
    const args = parseArgs(TOOL, argv, options, USAGE, (y) => EXAMPLES.reduce((acc, [cmd, what]) => acc.example(cmd, what), y.strict(false).strictOptions()));
    if (!args) return 0;
    // The rest (HTTP, signing, credentials) is loaded only for a run that signals.
    return (require('./signal') as typeof import('./signal')).signal(args, deps.env ?? process.env);
  };
}

export const main: ToolMain = signalMain();
