/**
 * cfn-signal's flags: both peers' (heat-cfntools: -s -r -d -i -e --exit -k
 * URL; aws-cfn-bootstrap: -s -i -e -r -d --stack --resource --url --region,
 * credentials, proxies) spelled as they spell them, plus ours. Note that here
 * -s is --success and -r is --reason, while in cfn-init and cfn-get-metadata
 * the same letters mean stack and resource; --stack and --resource have no
 * short forms.
 */
import type { InferredOptionTypes, Options } from 'yargs';
import { connectionOptions, credentialOptions, endpointOptions, loggingOptions } from '../../shared/cli-options';
import { DEFAULT_DATA, DEFAULT_REASON } from './body';
import { AUTH_TOKEN_ENV } from './native';

export const TOOL = 'cfn-signal';

/**
 * Default --timeout: long enough to ride out an API restart, well inside the
 * 15 minutes a Heat handle URL stays valid.
 */
export const DEFAULT_TIMEOUT_SECONDS = 300;

export const USAGE = '$0 [options] <wait condition handle URL, or its base64 encoding>';

/** The other modes, shown under --help. */
export const EXAMPLES: Array<[string, string]> = [
  ['$0 -e $? URL', 'a wait condition handle (Heat, AWS)'],
  ['$0 -e $? --stack S --resource R', 'SignalResource (AWS)'],
  ['$0 -e $? --auth-token T ENDPOINT', 'OS::Heat::WaitConditionHandle (token)'],
  ['$0 -e $? --native TEMP_URL', 'its temp URL signal (no token)'],
];

export const options = {
  success: { alias: 's', type: 'string', describe: 'true (default) or false, any case: the Status when no exit code is given' },
  'exit-code': { alias: 'e', type: 'string', describe: 'exit code to report: 0 sends SUCCESS, anything else FAILURE; wins over -s; empty counts as not given' },
  exit: { type: 'string', describe: 'deprecated alias of --exit-code' },
  reason: { alias: 'r', type: 'string', describe: `Reason sent with the signal (default "${DEFAULT_REASON}")` },
  data: { alias: 'd', type: 'string', describe: `Data sent with the signal, always as a JSON string (default "${DEFAULT_DATA}")` },
  id: { alias: 'i', type: 'string', describe: 'UniqueId (default: the instance id from the metadata service, else the host name)' },
  stack: { type: 'string', describe: 'stack name or id, for a resource signal (with --resource)' },
  resource: { type: 'string', describe: 'logical resource id: sends SignalResource instead of signalling a handle URL' },
  native: { type: 'boolean', describe: 'the URL is an OS::Heat::WaitConditionHandle signal URL (temp URL): lower-case body' },
  'auth-token': {
    type: 'string',
    describe: `OS::Heat::WaitConditionHandle token (its "token" attribute): POST to its endpoint with X-Auth-Token; implies --native. Also from ${AUTH_TOKEN_ENV}, which other users cannot see`,
  },
  ...endpointOptions,
  ...credentialOptions,
  ...connectionOptions,
  insecure: { ...connectionOptions.insecure, alias: 'k' },
  timeout: { type: 'number', default: DEFAULT_TIMEOUT_SECONDS, describe: 'seconds to keep retrying the signal on network errors, 5xx and throttling' },
  ...loggingOptions(TOOL),
  verbose: { alias: 'v', type: 'boolean', describe: 'also print the log (DEBUG) on stderr' },
} as const satisfies Record<string, Options>;

export type SignalArgs = InferredOptionTypes<typeof options> & { _: (string | number)[] };
