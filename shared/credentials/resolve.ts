/**
 * Which credentials a tool signs with. What the user typed for this run wins;
 * the environment and the instance's role are implicit fallbacks
 * (docs/COMPATIBILITY.md):
 *
 *   1. explicit keys (--access-key/--secret-key[/--session-token])
 *   2. a credential file (-f/--credential-file, cfn-hup credential-file=)
 *   3. a named instance role (--role, cfn-hup role=)
 *   4. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]
 *   5. the role attached to the instance, from the metadata service
 *
 * A source the user named that does not work is an error, never a silent
 * step to the next one; half a key pair is an error too.
 */
import { CredentialError, errorMessage } from '../errors';
import { nullLogger, type Logger } from '../log';
import { registerSecret } from '../redact';
import { readCredentialFile } from './file';
import type { ImdsClient } from './imds';
import type { CredentialProvider, Credentials } from './types';

export interface CredentialOptions {
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  credentialFile?: string;
  role?: string;
  /** Where AWS_* are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Metadata service client; default one built from `env`. */
  imds?: ImdsClient;
  logger?: Logger;
  /** Clock for expiry decisions (ms since the epoch); default Date.now. */
  now?: () => number;
}

/** Role credentials are renewed this long before they expire. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

/** Nothing configured and no instance role: `tried` lists each source and why it gave nothing. */
export class NoCredentialsError extends CredentialError {
  constructor(
    readonly tried: string[],
    options?: { cause?: unknown },
  ) {
    super(`no credentials found; tried: ${tried.join('; ')}`, options);
  }
}

function explicitKeys(opts: CredentialOptions): Credentials | undefined {
  const { accessKey, secretKey, sessionToken } = opts;
  if (!accessKey && !secretKey && !sessionToken) return undefined;
  registerSecret(secretKey);
  registerSecret(sessionToken);
  if (!accessKey) throw new CredentialError(`--${secretKey ? 'secret-key' : 'session-token'} given without --access-key`);
  if (!secretKey) throw new CredentialError('--access-key given without --secret-key');
  return { accessKeyId: accessKey, secretAccessKey: secretKey, ...(sessionToken ? { sessionToken } : {}), source: '--access-key' };
}

function envKeys(env: NodeJS.ProcessEnv): Credentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  registerSecret(secretAccessKey);
  registerSecret(sessionToken);
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId) throw new CredentialError('AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not');
  if (!secretAccessKey) throw new CredentialError('AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), source: 'env' };
}

/** Resolve once, without caching. `imds` is only used (and only built) when a role is needed. */
export async function resolveCredentials(opts: CredentialOptions, imds: () => ImdsClient = defaultImds(opts)): Promise<Credentials> {
  const log = opts.logger ?? nullLogger;
  const use = (c: Credentials): Credentials => {
    log.debug(`using credentials from ${c.source} (access key ${c.accessKeyId})`);
    return c;
  };

  const explicit = explicitKeys(opts);
  if (explicit) {
    if (opts.credentialFile || opts.role) log.debug('--access-key given: ignoring the credential file and role');
    return use(explicit);
  }
  if (opts.credentialFile) {
    if (opts.role) log.debug(`credential file ${opts.credentialFile} given: ignoring role ${opts.role}`);
    return use(readCredentialFile(opts.credentialFile, log));
  }
  if (opts.role) {
    try {
      return use(await imds().roleCredentials(opts.role));
    } catch (err) {
      if (err instanceof imdsModule().ImdsError) throw new CredentialError(`cannot get credentials of instance role ${opts.role}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const fromEnv = envKeys(opts.env ?? process.env);
  if (fromEnv) return use(fromEnv);

  const tried = ['--access-key/--secret-key (not given)', 'credential file (not given)', 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)'];
  try {
    return use(await imds().roleCredentials());
  } catch (err) {
    if (err instanceof imdsModule().ImdsError || err instanceof CredentialError) {
      throw new NoCredentialsError([...tried, `instance role (${err.message})`], { cause: err });
    }
    throw err;
  }
}

/** The metadata service client's module (node:http) is loaded only when a role is needed. */
const imdsModule = () => require('./imds') as typeof import('./imds');

function defaultImds(opts: CredentialOptions): () => ImdsClient {
  let client = opts.imds;
  return () => (client ??= new (imdsModule().ImdsClient)({ env: opts.env, logger: opts.logger, now: opts.now }));
}

/**
 * A provider that resolves on first use and then caches: static keys for
 * good, role credentials until REFRESH_BEFORE_EXPIRY_MS before Expiration.
 * If a refresh fails while the old credentials are still valid, they are
 * used (with a warning) rather than failing a request that would succeed.
 */
export function credentialProvider(opts: CredentialOptions): CredentialProvider {
  const now = opts.now ?? Date.now;
  const log = opts.logger ?? nullLogger;
  const imds = defaultImds(opts);
  let current: Credentials | undefined;
  let inflight: Promise<Credentials> | undefined;

  const fresh = (c: Credentials) => !c.expiration || now() < c.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS;

  async function refresh(): Promise<Credentials> {
    try {
      current = await resolveCredentials(opts, imds);
      return current;
    } catch (err) {
      const old = current;
      if (old?.expiration && now() < old.expiration.getTime()) {
        log.warn(`cannot refresh credentials (${errorMessage(err)}); using those from ${old.source} until they expire at ${old.expiration.toISOString()}`);
        return old;
      }
      throw err;
    }
  }

  return {
    get(): Promise<Credentials> {
      if (current && fresh(current)) return Promise.resolve(current);
      // Concurrent requests share one resolution.
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}
