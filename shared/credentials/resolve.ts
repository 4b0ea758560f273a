/**
 * Which credentials a tool signs with. What the user typed for this run wins;
 * the environment and the instance's role are implicit fallbacks
 * (docs/COMPATIBILITY.md):
 *
 *   1. explicit keys (--access-key/--secret-key[/--session-token])
 *   2. a credential file (-f/--credential-file, cfn-hup credential-file=)
 *   3. a named instance role (--role, cfn-hup role=)
 *   4. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]
 *   5. CloudFormation only: the instance identity document (CFN_V1)
 *   6. the role attached to the instance, from the metadata service
 *
 * A source the user named that does not work is an error, never a silent
 * step to the next one; half a key pair is an error too.
 */
import { CredentialError, errorMessage } from '../errors';
import { nullLogger, type Logger } from '../log';
import { registerSecret } from '../redact';
import { readCredentialFile } from './file';
import type { ImdsClient } from './imds';
import type { CredentialProvider, Credentials, SigningIdentity, SigningIdentityProvider } from './types';

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

/**
 * Steps 1-4: what the user named, then the environment; undefined when none
 * of them is there. `imds` is only used (and only built) for a named role.
 */
async function namedCredentials(opts: CredentialOptions, imds: () => ImdsClient): Promise<Credentials | undefined> {
  const log = opts.logger ?? nullLogger;
  const explicit = explicitKeys(opts);
  if (explicit) {
    if (opts.credentialFile || opts.role) log.debug('--access-key given: ignoring the credential file and role');
    return explicit;
  }
  if (opts.credentialFile) {
    if (opts.role) log.debug(`credential file ${opts.credentialFile} given: ignoring role ${opts.role}`);
    return readCredentialFile(opts.credentialFile, log);
  }
  if (opts.role) {
    try {
      return await imds().roleCredentials(opts.role);
    } catch (err) {
      if (err instanceof imdsModule().ImdsError) throw new CredentialError(`cannot get credentials of instance role ${opts.role}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  return envKeys(opts.env ?? process.env);
}

const NAMED_TRIED = ['--access-key/--secret-key (not given)', 'credential file (not given)', 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)'];

/** The last step: the role attached to the instance. `tried` says what came before, for the error. */
async function attachedRole(imds: () => ImdsClient, tried: string[]): Promise<Credentials> {
  try {
    return await imds().roleCredentials();
  } catch (err) {
    if (err instanceof imdsModule().ImdsError || err instanceof CredentialError) {
      throw new NoCredentialsError([...tried, `instance role (${err.message})`], { cause: err });
    }
    throw err;
  }
}

function logUse(opts: CredentialOptions, c: Credentials): Credentials {
  (opts.logger ?? nullLogger).debug(`using credentials from ${c.source} (access key ${c.accessKeyId})`);
  return c;
}

/** Keys for any service: steps 1-4, then the attached role. Resolved once, without caching. */
export async function resolveCredentials(opts: CredentialOptions, imds: () => ImdsClient = lazyImds(opts)): Promise<Credentials> {
  return logUse(opts, (await namedCredentials(opts, imds)) ?? (await attachedRole(imds, NAMED_TRIED)));
}

/**
 * What a CloudFormation request is signed with: steps 1-4, then the
 * instance identity (CFN_V1), then the attached role. The identity comes
 * before the role because CloudFormation accepts it without any IAM
 * permission, which an attached role often lacks. Where the metadata
 * service has no identity document (OpenStack), the role is next; where
 * there is no metadata service at all, the role is not asked again.
 */
export async function resolveSigningIdentity(opts: CredentialOptions, imds: () => ImdsClient = lazyImds(opts)): Promise<SigningIdentity> {
  const log = opts.logger ?? nullLogger;
  const named = await namedCredentials(opts, imds);
  if (named) return { kind: 'keys', credentials: logUse(opts, named) };
  const { fetchInstanceIdentity } = require('./instance-identity') as typeof import('./instance-identity');
  const { ImdsError } = imdsModule();
  try {
    const identity = await fetchInstanceIdentity(imds());
    log.debug(`signing CloudFormation requests with the ${identity.source} (CFN_V1)`);
    return { kind: 'instance-identity', identity };
  } catch (err) {
    if (!(err instanceof ImdsError) && !(err instanceof CredentialError)) throw err;
    const tried = [...NAMED_TRIED, `instance identity document (${err.message})`];
    if (err instanceof ImdsError && (err.reason === 'unreachable' || err.reason === 'disabled')) {
      throw new NoCredentialsError([...tried, 'instance role (same metadata service)'], { cause: err });
    }
    if (err instanceof CredentialError) log.warn(`${err.message}; not signing with the instance identity`);
    return { kind: 'keys', credentials: logUse(opts, await attachedRole(imds, tried)) };
  }
}

/** The metadata service client's module (node:http) is loaded only when a role is needed. */
const imdsModule = () => require('./imds') as typeof import('./imds');

/** One metadata service client, made on first use, for every provider of a run. */
export function lazyImds(opts: CredentialOptions): () => ImdsClient {
  let client = opts.imds;
  return () => (client ??= new (imdsModule().ImdsClient)({ env: opts.env, logger: opts.logger, now: opts.now }));
}

/**
 * Resolves on first use and then caches: static values for good, temporary
 * ones until REFRESH_BEFORE_EXPIRY_MS before they expire. If a refresh fails
 * while the old value is still valid, it is used (with a warning) rather
 * than failing a request that would succeed.
 */
function cachingProvider<T>(opts: CredentialOptions, resolve: () => Promise<T>, expiration: (value: T) => Date | undefined, source: (value: T) => string): { get(): Promise<T> } {
  const now = opts.now ?? Date.now;
  const log = opts.logger ?? nullLogger;
  let current: T | undefined;
  let inflight: Promise<T> | undefined;

  const fresh = (v: T) => {
    const exp = expiration(v);
    return !exp || now() < exp.getTime() - REFRESH_BEFORE_EXPIRY_MS;
  };

  async function refresh(): Promise<T> {
    try {
      current = await resolve();
      return current;
    } catch (err) {
      const old = current;
      const exp = old === undefined ? undefined : expiration(old);
      if (old !== undefined && exp && now() < exp.getTime()) {
        log.warn(`cannot refresh credentials (${errorMessage(err)}); using those from ${source(old)} until they expire at ${exp.toISOString()}`);
        return old;
      }
      throw err;
    }
  }

  return {
    get(): Promise<T> {
      if (current !== undefined && fresh(current)) return Promise.resolve(current);
      // Concurrent requests share one resolution.
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/** Keys for any service (resolveCredentials), cached. */
export function credentialProvider(opts: CredentialOptions, imds: () => ImdsClient = lazyImds(opts)): CredentialProvider {
  return cachingProvider(opts, () => resolveCredentials(opts, imds), (c) => c.expiration, (c) => c.source);
}

/** CloudFormation's signing identity (resolveSigningIdentity), cached. */
export function signingIdentityProvider(opts: CredentialOptions, imds: () => ImdsClient = lazyImds(opts)): SigningIdentityProvider {
  return cachingProvider(
    opts,
    () => resolveSigningIdentity(opts, imds),
    (i) => (i.kind === 'keys' ? i.credentials.expiration : undefined),
    (i) => (i.kind === 'keys' ? i.credentials.source : i.identity.source),
  );
}

/** Keys as a signing identity: for services that know no other (CloudWatch). */
export function keysOnly(credentials: CredentialProvider): SigningIdentityProvider {
  return { get: async () => ({ kind: 'keys', credentials: await credentials.get() }) };
}
