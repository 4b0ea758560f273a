/**
 * Which certificates the client trusts. Verification is always on unless
 * the user asked for `--insecure`: private clouds need their own CA, and the
 * fix for that is a CA bundle, not turning verification off.
 *
 * The first of these that is set decides:
 * 1. `--ca-bundle` (or cfn-hup.conf's `ca-bundle`, Heat's `ca_certificates_file`),
 * 2. `AWS_CA_BUNDLE`:
 *    trusted besides Node's roots and the system bundle, as cfntools always did;
 * 3. `CA_OVERRIDE`,
 * 4. `<cfn dir>/ca-override.pem` when it exists:
 *    aws-cfn-bootstrap's override, which *replaces* the trust store there and
 *    does here, so that an image hardened to trust one CA stays so;
 * 5. Node's roots and the first system bundle that exists.
 * What this run was told (its flags, then the environment it was started
 * with) wins over what the machine says; of the two variables, the AWS
 * SDKs' own is the more specific.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ConfigError, errorMessage } from './errors';
import { cfnDir } from './paths';
import { readTextBounded } from './safe-open';
import type { TransportOptions } from './transport-options';

/**
 * Distribution CA bundles, first existing one wins. Node only trusts its
 * own copy of Mozilla's roots, but operators install a private cloud's CA
 * into the system store (update-ca-certificates, update-ca-trust) and expect
 * the in-instance tools to honour it, as the Python ones did.
 */
export const SYSTEM_CA_FILES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL, CentOS, Amazon Linux
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // RHEL 7+
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // Alpine, BSD
];

/** aws-cfn-bootstrap's CA override, in the cfn directory (cfnDir). */
export const CA_OVERRIDE_FILE = 'ca-override.pem';
/** The largest CA bundle read (a distribution's whole bundle is a few hundred KiB). */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export interface TlsSettings {
  rejectUnauthorized: boolean;
  /** PEM text trusted besides Node's root certificates, or instead of them with `override`. */
  caPems: string[];
  /** Files the CAs came from, for logs. */
  caSources: string[];
  /** The CA override file when it is the whole trust store. */
  override?: string;
  /** Non-fatal problems (an unreadable system bundle) for the caller to log. */
  warnings: string[];
}

/**
 * Read the CA files now, so that a wrong `--ca-bundle` or override is
 * reported before any request is made. Throws ConfigError naming the file.
 */
export function resolveTls(transport: TransportOptions = {}): TlsSettings {
  const env = transport.env ?? process.env;
  const settings: TlsSettings = { rejectUnauthorized: !transport.insecure, caPems: [], caSources: [], warnings: [] };
  const bundle = transport.caBundle || env.AWS_CA_BUNDLE;
  if (bundle) {
    settings.caPems.push(readBundle(bundle, `CA bundle given by ${transport.caBundle ? '--ca-bundle' : 'AWS_CA_BUNDLE'}`));
    settings.caSources.push(bundle);
  } else {
    const override = readOverride(env);
    if (override) {
      // NODE_EXTRA_CA_CERTS extends Node's roots, which the override replaces.
      if (env.NODE_EXTRA_CA_CERTS) settings.warnings.push(`not using NODE_EXTRA_CA_CERTS ${env.NODE_EXTRA_CA_CERTS}: the CA override ${override.file} is the whole trust store`);
      return { ...settings, caPems: [override.pem], caSources: [override.file], override: override.file };
    }
  }
  for (const file of transport.systemCaFiles ?? SYSTEM_CA_FILES) {
    if (!fs.existsSync(file)) continue;
    try {
      settings.caPems.push(readBundle(file, 'system CA bundle'));
      settings.caSources.push(file);
    } catch (err) {
      settings.warnings.push(`${errorMessage(err)}; not using it`);
    }
    break;
  }
  // Passing our own CA list makes Node drop NODE_EXTRA_CA_CERTS, so carry it over.
  const nodeExtra = env.NODE_EXTRA_CA_CERTS;
  if (nodeExtra) {
    try {
      settings.caPems.push(readBundle(nodeExtra, 'NODE_EXTRA_CA_CERTS'));
      settings.caSources.push(nodeExtra);
    } catch (err) {
      settings.warnings.push(`${errorMessage(err)}; not using it`);
    }
  }
  return settings;
}

/**
 * $CA_OVERRIDE (which must exist: someone meant it), else the override file
 * when it exists. One that exists but cannot be read is an error, never
 * skipped: falling back to a wider trust store would undo the override.
 */
function readOverride(env: NodeJS.ProcessEnv): { file: string; pem: string } | undefined {
  if (env.CA_OVERRIDE) return { file: env.CA_OVERRIDE, pem: readBundle(env.CA_OVERRIDE, 'CA bundle given by CA_OVERRIDE') };
  const file = path.join(cfnDir(env), CA_OVERRIDE_FILE);
  const pem = readBundle(file, 'CA override file', { optional: true });
  return pem === undefined ? undefined : { file, pem };
}

/** The PEM text of `file`; with `optional`, undefined when it does not exist. */
function readBundle(file: string, what: string): string;
function readBundle(file: string, what: string, opts: { optional: true }): string | undefined;
function readBundle(file: string, what: string, opts: { optional?: boolean } = {}): string | undefined {
  let pem: string;
  try {
    const text = readTextBounded(file, { what, maxBytes: MAX_BUNDLE_BYTES });
    if (text === undefined) {
      if (opts.optional) return undefined;
      throw new ConfigError(`cannot read ${what} (ENOENT)`, file);
    }
    pem = text;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${what} contains no PEM certificate`, file);
  }
  return pem;
}

/**
 * Build the TLS context once per client: parsing a few hundred CA
 * certificates takes tens of milliseconds, too slow to repeat per
 * connection. Undefined means Node's defaults.
 */
export function createSecureContext(settings: TlsSettings): tls.SecureContext | undefined {
  if (!settings.caPems.length) return undefined;
  try {
    return tls.createSecureContext({ ca: settings.override ? settings.caPems : [...tls.rootCertificates, ...settings.caPems] });
  } catch (err) {
    throw new ConfigError(`unusable CA certificates in ${settings.caSources.join(', ')}: ${(err as Error).message}`);
  }
}

/** Options for every TLS connection to a server (directly or through a CONNECT tunnel). */
export function tlsConnectOptions(settings: TlsSettings, context: tls.SecureContext | undefined): tls.ConnectionOptions {
  const opts: tls.ConnectionOptions = { rejectUnauthorized: settings.rejectUnauthorized };
  if (context) opts.secureContext = context;
  return opts;
}

const CERT_ERROR_RE = /CERT|SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH/;

/** Certificate problems are configuration, not weather: they are never retried. */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && CERT_ERROR_RE.test(code);
}

/** A reason for a certificate failure that says what to do about it; `override` is the CA override file in force. */
export function describeCertificateError(code: string, detail: string, override?: string): string {
  if (code === 'CERT_NOT_YET_VALID' || code === 'CERT_HAS_EXPIRED') {
    return `TLS certificate verification failed: ${detail}; check the system clock and the server's certificate`;
  }
  if (override) {
    return `TLS certificate verification failed: ${detail}; only the CA override ${override} is trusted: add the CA that signed the server's certificate to it, or pass --ca-bundle`;
  }
  return `TLS certificate verification failed: ${detail}; pass --ca-bundle (or set AWS_CA_BUNDLE) with the CA that signed the server's certificate`;
}
