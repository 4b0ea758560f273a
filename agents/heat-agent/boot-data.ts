/**
 * Heat's own boot data, for an image that has no /etc/os-collect-config.conf
 * (no os-apply-config to render it): the server's metadata at boot, whose
 * `os-collect-config` block names the collector and its keys. Heat sends it
 * as the `cfn-init-data` part of the server's user data (user_data_format
 * SOFTWARE_CONFIG or HEAT_CFNTOOLS); cloud-init's part handler (Heat's)
 * writes it to /var/lib/heat-cfntools/cfn-init-data. Where that did not
 * happen, the same part is read from the user data the metadata service
 * serves (`/openstack/latest/user_data`). Nova's `meta_data.json` does not
 * hold it: its `meta` is the server's nova metadata, not Heat's.
 */
import * as path from 'node:path';
import { ImdsClient, ImdsError } from '../../shared/credentials/imds';
import { CfnError } from '../../shared/errors';
import { parseJsonText } from '../../shared/json-file';
import type { Logger } from '../../shared/log';
import { readHeatInitData } from '../../shared/metadata-source';
import { blockFromMetadata, type OccBlock } from './collectors/settings';
import { userDataPart } from './user-data';

export const USER_DATA_PATH = '/openstack/latest/user_data';
/** The user data part (and file) Heat puts the metadata in. */
export const INIT_DATA_NAME = 'cfn-init-data';
/** The metadata service answers at once or not at all: off-cloud it would only hold up the start. */
const USER_DATA_TIMEOUT_MS = 2000;
const USER_DATA_ATTEMPTS = 2;

export interface BootBlock {
  block: OccBlock;
  /** Where it came from, for messages. */
  from: string;
}

/** The block of `<heat dir>/cfn-init-data`; undefined when the file is absent or holds none. */
export function readInitDataBlock(heatDirectory: string): BootBlock | undefined {
  const data = readHeatInitData(heatDirectory);
  if (!data) return undefined;
  const block = blockFromMetadata(data.metadata);
  return block && { block, from: data.source };
}

/** The block of the user data's cfn-init-data part; undefined when the service, the part or the block is missing. */
export async function fetchUserDataBlock(env: NodeJS.ProcessEnv, logger: Logger, imds?: ImdsClient): Promise<BootBlock | undefined> {
  let client = imds;
  try {
    client ??= new ImdsClient({ env, logger, timeoutMs: USER_DATA_TIMEOUT_MS, maxAttempts: USER_DATA_ATTEMPTS });
  } catch (err) {
    if (!(err instanceof CfnError)) throw err;
    logger.warn(`metadata service not usable: ${err.message}`);
    return undefined;
  }
  if (client.disabled) return undefined;
  const from = `${client.endpoint}${USER_DATA_PATH} (part ${INIT_DATA_NAME})`;
  let userData: string;
  try {
    userData = await client.get(USER_DATA_PATH);
  } catch (err) {
    if (!(err instanceof ImdsError)) throw err;
    logger.debug(`user data: ${err.message}`);
    return undefined;
  }
  const part = userDataPart(userData, INIT_DATA_NAME);
  if (part === undefined) {
    logger.debug(`the user data at ${client.endpoint}${USER_DATA_PATH} has no ${INIT_DATA_NAME} part`);
    return undefined;
  }
  const metadata = parseJsonText(part, from);
  const block = blockFromMetadata(metadata);
  return block && { block, from };
}

/** Where the boot copy is, for messages. */
export function initDataFile(heatDirectory: string): string {
  return path.join(heatDirectory, INIT_DATA_NAME);
}
