/**
 * The two signal bodies. Both are written the way Python's json.dumps writes
 * them (", "/": " separators, non-ASCII as \uXXXX): heat-cfntools sends that
 * form, so Heat validates and stores byte-identical data whichever agent
 * signalled, and `-d` is always a JSON string even when it looks like JSON.
 */
import { pythonJsonDumps } from '../../shared/pyjson';
import type { SignalStatus } from './status';

export interface SignalFields {
  status: SignalStatus;
  reason: string;
  data: string;
  uniqueId: string;
}

/** heat-cfntools' defaults, sent when -r/-d are not given (aws-cfn-bootstrap sends ""). */
export const DEFAULT_REASON = 'Configuration Complete';
export const DEFAULT_DATA = 'Application has completed configuration.';

/**
 * AWS::CloudFormation::WaitConditionHandle (Heat and AWS): exactly these four
 * keys in this order; Heat refuses any other key set ("Metadata format invalid").
 */
export function cfnHandleBody(f: SignalFields): string {
  return pythonJsonDumps({ Status: f.status, Reason: f.reason, UniqueId: f.uniqueId, Data: f.data });
}

/**
 * OS::Heat::WaitConditionHandle: lower-case keys (its normalise_signal_data
 * fills in missing ones, then requires exactly these four). Always sending
 * `id` makes a retried signal overwrite itself instead of counting twice.
 */
export function nativeHandleBody(f: SignalFields): string {
  return pythonJsonDumps({ status: f.status, reason: f.reason, data: f.data, id: f.uniqueId });
}
