/**
 * Which certificates the client trusts. Verification is always on unless
 * the user asked for `--insecure`: private clouds need their own CA, and the
 * fix for that is a CA bundle, not turning verification off.
 */
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { ConfigError } from './errors';
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

export interface TlsSettings {
  rejectUnauthorized: boolean;
  /** PEM text trusted in addition to Node's root certificates. */
  extraCaPems: string[];
  /** Files the extra CAs came from, for logs. */
  caSources: string[];
  /** Non-fatal problems (an unreadable system bundle) for the caller to log. */
  warnings: string[];
}

/**
 * Read the CA files now, so that a wrong `--ca-bundle` is reported before
 * any request is made. Throws ConfigError naming the file.
 */
export function resolveTls(transport: TransportOptions = {}): TlsSettings {
  const env = transport.env ?? process.env;
  const settings: TlsSettings = { rejectUnauthorized: !transport.insecure, extraCaPems: [], caSources: [], warnings: [] };
  const bundle = transport.caBundle || env.AWS_CA_BUNDLE;
  if (bundle) {
    settings.extraCaPems.push(readBundle(bundle, transport.caBundle ? '--ca-bundle' : 'AWS_CA_BUNDLE'));
    settings.caSources.push(bundle);
  }
  for (const file of transport.systemCaFiles ?? SYSTEM_CA_FILES) {
    if (!fs.existsSync(file)) continue;
    try {
      settings.extraCaPems.push(fs.readFileSync(file, 'utf8'));
      settings.caSources.push(file);
    } catch (err) {
      settings.warnings.push(`cannot read system CA bundle ${file} (${(err as NodeJS.ErrnoException).code ?? err}); not using it`);
    }
    break;
  }
  // Passing our own CA list makes Node drop NODE_EXTRA_CA_CERTS, so carry it over.
  const nodeExtra = env.NODE_EXTRA_CA_CERTS;
  if (nodeExtra) {
    try {
      settings.extraCaPems.push(fs.readFileSync(nodeExtra, 'utf8'));
      settings.caSources.push(nodeExtra);
    } catch (err) {
      settings.warnings.push(`cannot read NODE_EXTRA_CA_CERTS ${nodeExtra} (${(err as NodeJS.ErrnoException).code ?? err}); not using it`);
    }
  }
  return settings;
}

function readBundle(file: string, origin: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read CA bundle given by ${origin} (${code ?? String(err)})`, file);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`CA bundle given by ${origin} contains no PEM certificate`, file);
  }
  return pem;
}

/**
 * Build the TLS context once per client: parsing a few hundred CA
 * certificates takes tens of milliseconds, too slow to repeat per
 * connection. Undefined means Node's defaults.
 */
export function createSecureContext(settings: TlsSettings): tls.SecureContext | undefined {
  if (!settings.extraCaPems.length) return undefined;
  try {
    return tls.createSecureContext({ ca: [...tls.rootCertificates, ...settings.extraCaPems] });
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

/** A reason for a certificate failure that says what to do about it. */
export function describeCertificateError(code: string, detail: string): string {
  if (code === 'CERT_NOT_YET_VALID' || code === 'CERT_HAS_EXPIRED') {
    return `TLS certificate verification failed: ${detail}; check the system clock and the server's certificate`;
  }
  return `TLS certificate verification failed: ${detail}; pass --ca-bundle (or set AWS_CA_BUNDLE) with the CA that signed the server's certificate`;
}
