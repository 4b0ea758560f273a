/**
 * The credential file both peers read (`/etc/cfn/cfn-credentials`,
 * `-f/--credential-file`, cfn-hup `credential-file=`):
 *
 *     AWSAccessKeyId=AKID...
 *     AWSSecretKey=...
 *     AWSSessionToken=...      (ours; neither peer reads it)
 *
 * We accept what either peer accepts (docs/COMPATIBILITY.md): spaces around
 * `=`, CRLF line ends, the last matching line wins, other lines ignored.
 * Unlike heat-cfntools, a named file without keys is an error: it silently
 * went on to ask 169.254.169.254 instead.
 */
import * as fs from 'node:fs';
import { CredentialError } from '../errors';
import { nullLogger, type Logger } from '../log';
import { registerSecret } from '../redact';
import { untrustedReason } from '../trusted-file';
import type { Credentials } from './types';

const KEYS = { AWSAccessKeyId: 'accessKeyId', AWSSecretKey: 'secretAccessKey', AWSSessionToken: 'sessionToken' } as const;

// Leading whitespace is allowed: aws-cfn-bootstrap strips each line, while
// heat-cfntools ignores indented lines (its regex is anchored at column 0).
// Accepting is the choice that cannot lock a user out. Values are trimmed:
// heat-cfntools kept trailing spaces, but no real key or token ends in one,
// so a trailing space is always an editing accident.
const LINE_RE = /^\s*(AWSAccessKeyId|AWSSecretKey|AWSSessionToken)\s*=(.*)$/;

/** Credentials from the text of a credential file; `fileName` is for messages and `source`. */
export function parseCredentialFile(text: string, fileName: string): Credentials {
  const found: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string } = {};
  for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const value = m[2]!.trim();
    // Last line wins, even an empty one: an empty value means "no key", as it did for boto.
    found[KEYS[m[1] as keyof typeof KEYS]] = value || undefined;
    // Every secret seen, not just the winner: an overridden one is still a real secret.
    if (m[1] !== 'AWSAccessKeyId') registerSecret(value);
  }
  const { accessKeyId, secretAccessKey, sessionToken } = found;
  // The key names never stand right before an `=` in these messages: the redactor would take what follows for a secret.
  if (!accessKeyId && !secretAccessKey) {
    throw new CredentialError(`credential file ${fileName} has no AWSAccessKeyId line and no AWSSecretKey line`);
  }
  if (!accessKeyId) throw new CredentialError(`credential file ${fileName} has an AWSSecretKey line but no AWSAccessKeyId line`);
  if (!secretAccessKey) throw new CredentialError(`credential file ${fileName} has an AWSAccessKeyId line but no AWSSecretKey line`);
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), source: `file ${fileName}` };
}

function octal(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0');
}

/**
 * A file others can write lets them swap in their own identity, so it is
 * refused; one others can read leaks the key, which is worth a warning but
 * not an outage. Group-read is the usual `root:cfn 0640` setup and is fine.
 */
export function checkCredentialFileMode(mode: number, fileName: string, logger: Logger = nullLogger): void {
  if (mode & 0o022) {
    const who = [mode & 0o020 ? 'group' : '', mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
    throw new CredentialError(`credential file ${fileName} is writable by ${who} (mode ${octal(mode)}); refusing to use it: run chmod 600 ${fileName}`);
  }
  if (mode & 0o004) {
    logger.warn(`credential file ${fileName} is readable by others (mode ${octal(mode)}): run chmod 600 ${fileName}`);
  }
}

/** The most a credential file holds: three lines of keys, with room for comments. */
const MAX_CREDENTIAL_FILE = 64 * 1024;


/** Open, check owner, permissions and parse a credential file. Every failure is a CredentialError naming the file. */
export function readCredentialFile(fileName: string, logger: Logger = nullLogger): Credentials {
  let text: string;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO in its place must not hang the tool waiting for a writer.
    fd = fs.openSync(fileName, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
    // fstat on the descriptor we read from, so what is checked is the file read (through any symlink).
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CredentialError(`credential file ${fileName} is not a regular file`);
    checkCredentialFileMode(st.mode, fileName, logger);
    // Whoever can replace the file can swap the identity: shared/trusted-file.ts's rule.
    const why = untrustedReason(fileName, st);
    if (why) throw new CredentialError(`credential file ${fileName} ${why}; refusing to use it`);
    if (st.size > MAX_CREDENTIAL_FILE) throw new CredentialError(`credential file ${fileName} has ${st.size} bytes; a credential file holds a few lines`);
    text = fs.readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof CredentialError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? err})`;
    throw new CredentialError(`credential file ${fileName} ${why}`, { cause: err });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return parseCredentialFile(text, fileName);
}
