/**
 * The UniqueId a signal carries when -i is not given: the instance's id, so
 * that the signals of several instances counted by one wait condition do not
 * overwrite each other, and a retried signal overwrites only itself.
 *
 * 1. nova's meta_data.json `uuid` (what heat-cfntools sends on OpenStack),
 * 2. EC2's instance-id (what aws-cfn-bootstrap sends),
 * 3. the `uuid` heat-cfntools cached in <heat dir>/nova_meta.json, used only
 *    when the metadata service does not answer: an image baked from a
 *    configured instance carries that file, and every instance booted from it
 *    would send the same id,
 * 4. the host name.
 *
 * The metadata service gets a short timeout and two attempts: off-cloud it
 * never answers, and the signal must not wait long for an id.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { ImdsClient, ImdsError } from './credentials/imds';
import { CfnError, errorMessage } from './errors';
import { jsonSyntaxProblem } from './json-file';
import type { Logger } from './log';
import { readTextBounded } from './safe-open';

export interface UniqueIdOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Folder of heat-cfntools' files (nova_meta.json). */
  heatDir: string;
  /** Injectable for tests. */
  imds?: ImdsClient;
  hostname?: () => string;
}

export interface UniqueId {
  id: string;
  /** Where it came from, for the log. */
  source: string;
}

/** Who this instance is, from the metadata service or heat-cfntools' cache. */
export interface InstanceIdentity extends UniqueId {
  /** Nova's server metadata (`meta`: Heat's `metering.stack`, `AutoScalingGroupName`...); empty off OpenStack. */
  tags: Record<string, string>;
}

export const IMDS_TIMEOUT_MS = 1000;
export const IMDS_ATTEMPTS = 2;

export async function defaultUniqueId(opts: UniqueIdOptions): Promise<UniqueId> {
  const known = await instanceIdentity(opts);
  if (known) return known;
  const id = (opts.hostname ?? os.hostname)();
  opts.logger.warn(`could not get the instance id from the metadata service; using the host name ${id} as UniqueId`);
  return { id, source: 'host name' };
}

/** Steps 1 to 3 above; undefined when none gives an id. */
export async function instanceIdentity(opts: UniqueIdOptions): Promise<InstanceIdentity | undefined> {
  return (await fromMetadataService(opts)) ?? fromHeatCache(opts.heatDir, opts.logger);
}

/** The string values of nova's `meta` (it holds nothing else, but the document may come from anywhere). */
function tagsOf(meta: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return tags;
  for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') tags[k] = v;
  return tags;
}

async function fromMetadataService(opts: UniqueIdOptions): Promise<InstanceIdentity | undefined> {
  const log = opts.logger;
  let imds = opts.imds;
  if (!imds) {
    try {
      imds = new ImdsClient({ env: opts.env, logger: log, timeoutMs: IMDS_TIMEOUT_MS, maxAttempts: IMDS_ATTEMPTS });
    } catch (err) {
      // A malformed AWS_EC2_METADATA_SERVICE_ENDPOINT must not stop the signal itself.
      if (!(err instanceof CfnError)) throw err;
      log.warn(`metadata service not usable: ${err.message}`);
      return undefined;
    }
  }
  if (imds.disabled) {
    log.debug('metadata service disabled (AWS_EC2_METADATA_DISABLED): no instance id from it');
    return undefined;
  }
  try {
    const meta = await imds.openstackMetadata();
    if (typeof meta?.uuid === 'string' && meta.uuid.trim()) return { id: meta.uuid.trim(), source: 'nova metadata (uuid)', tags: tagsOf(meta.meta) };
    log.debug('no nova meta_data.json uuid; asking for the EC2 instance-id');
  } catch (err) {
    if (!(err instanceof ImdsError)) throw err;
    log.debug(`nova meta_data.json: ${err.message}`);
    // Nothing answers: asking for another path would only wait again.
    if (err.reason === 'unreachable' || err.reason === 'disabled') return undefined;
  }
  try {
    return { id: await imds.instanceId(), source: 'metadata service (instance-id)', tags: {} };
  } catch (err) {
    if (!(err instanceof ImdsError)) throw err;
    log.debug(`instance-id: ${err.message}`);
    return undefined;
  }
}

/** nova's meta_data.json, which heat-cfntools caches: an id and a few tags. */
const MAX_NOVA_META_BYTES = 1024 * 1024;

function fromHeatCache(dir: string, log: Logger): InstanceIdentity | undefined {
  const file = path.join(dir, 'nova_meta.json');
  let text: string | undefined;
  try {
    text = readTextBounded(file, { what: "heat-cfntools' cached nova metadata", maxBytes: MAX_NOVA_META_BYTES });
  } catch (err) {
    log.warn(`cannot read ${file}: ${errorMessage(err)}`);
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    const doc = JSON.parse(text) as { uuid?: unknown; meta?: unknown } | null;
    const uuid = doc?.uuid;
    if (typeof uuid === 'string' && uuid.trim()) {
      log.warn(`no instance id from the metadata service; using the instance uuid heat-cfntools cached in ${file}`);
      return { id: uuid.trim(), source: file, tags: tagsOf(doc?.meta) };
    }
  } catch {
    // heat-cfntools caches whatever curl fetched, HTML error pages included.
    log.debug(`${file} is ${jsonSyntaxProblem(text)}; ignored`);
    return undefined;
  }
  log.debug(`${file} has no uuid; ignored`);
  return undefined;
}
