/**
 * The one way the tools open a file they read or write: state, locks,
 * caches, logs, configuration, samples, a script's outputs. Whatever sits
 * at the path, a tool neither blocks, nor reads without end, nor writes
 * through a link someone planted:
 *
 * - O_NONBLOCK: opening a FIFO returns at once (for writing with no
 *   reader it fails), and the FIFO is then refused;
 * - O_NOFOLLOW where asked (logs, state, locks, caches): a symbolic link in
 *   the file's place is refused, not followed to its target;
 * - fstat of the descriptor opened: only a regular file is read or written
 *   (never /dev/zero, a FIFO, a socket, a device, a directory);
 * - the size fstat gives is checked against the bound before reading, and
 *   the bound holds while reading (the file may grow meanwhile);
 * - `trusted`: owner and mode as trusted-file.ts requires, for files that
 *   decide what runs as root.
 *
 * Every refusal is one line naming the path and what was found there.
 */
import * as fs from 'node:fs';
import { ConfigError } from './errors';
import { untrustedReason } from './trusted-file';

export interface OpenRules {
  /** The file's role, for messages: `the state file`. */
  what: string;
  /** Refuse a symbolic link in the file's place. */
  noFollow?: boolean;
  /** The file decides what runs as root (trusted-file.ts). */
  trusted?: boolean;
  /** /dev/null stands for a file too (a log nobody keeps: `--log-file /dev/null`). */
  nullDevice?: boolean;
}

export interface ReadRules extends OpenRules {
  /** The most bytes read: a larger file is refused. */
  maxBytes: number;
}

/** What is at the path is not a file the tool may use there. */
export class UnsafeFileError extends ConfigError {}

/** How a read grows its buffer for a file whose size fstat does not tell (or that grows). */
const READ_CHUNK = 64 * 1024;

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The character device /dev/null is (by device number: a node of that number anywhere is the same device). */
function isNullDevice(st: fs.Stats): boolean {
  if (!st.isCharacterDevice()) return false;
  try {
    return st.rdev === fs.statSync('/dev/null').rdev;
  } catch {
    return false; // no /dev/null here: nothing is it
  }
}

/** An open(2) failure that is a refusal of ours rather than the system's. */
function refusal(err: NodeJS.ErrnoException, file: string, rules: OpenRules): Error {
  if (err.code === 'ELOOP' && rules.noFollow) return new UnsafeFileError(`${rules.what} is a symbolic link: refused (it would redirect what is read or written here)`, file);
  if (err.code === 'ENXIO') return new UnsafeFileError(`${rules.what} is a FIFO or socket, not a regular file: refused`, file);
  return err;
}

/**
 * A descriptor of the regular file at `file`, opened with `flags` (plus
 * O_NONBLOCK, O_NOCTTY and, with `noFollow`, O_NOFOLLOW), with its fstat;
 * undefined when there is no such file (only without O_CREAT). Refusals
 * are UnsafeFileErrors; the system's own failures (EACCES...) are thrown as
 * they are.
 */
export function openRegular(file: string, flags: number, rules: OpenRules, mode = 0o600): { fd: number; st: fs.Stats } | undefined {
  const { O_NONBLOCK, O_NOCTTY, O_NOFOLLOW, O_CREAT } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, flags | O_NONBLOCK | O_NOCTTY | (rules.noFollow ? O_NOFOLLOW : 0), mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(flags & O_CREAT)) return undefined;
    throw refusal(err as NodeJS.ErrnoException, file, rules);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() && !(rules.nullDevice && isNullDevice(st))) throw new UnsafeFileError(`${rules.what} is ${kindOf(st)}, not a regular file: refused`, file);
    const why = rules.trusted ? untrustedReason(file, st) : undefined;
    if (why) throw new UnsafeFileError(`${rules.what} ${why}: refused, as whoever can change it decides what runs here`, file);
    return { fd, st };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The whole of an open descriptor, at most `max` bytes (`size` from its fstat); past that a ConfigError. */
function readAll(fd: number, size: number, max: number, file: string, what: string): Buffer {
  if (size > max) throw new ConfigError(`${what} is ${size} bytes; the most read is ${max}`, file);
  // One byte more than the file's size: a read that fills it means the file grew.
  let buf = Buffer.allocUnsafe(Math.min(size, max) + 1);
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      if (n > max) throw new ConfigError(`${what} grew past ${max} bytes while read`, file);
      const bigger = Buffer.allocUnsafe(Math.min(buf.length + READ_CHUNK, max + 1));
      buf.copy(bigger, 0, 0, n);
      buf = bigger;
    }
    const got = fs.readSync(fd, buf, n, buf.length - n, null);
    if (got === 0) return buf.subarray(0, n);
    n += got;
  }
}

/** The bytes of the regular file at `file`, refused past `maxBytes`; undefined when it does not exist. */
export function readBounded(file: string, rules: ReadRules): Buffer | undefined {
  const opened = openRegular(file, fs.constants.O_RDONLY, rules);
  if (!opened) return undefined;
  try {
    return readAll(opened.fd, opened.st.size, rules.maxBytes, file, rules.what);
  } finally {
    fs.closeSync(opened.fd);
  }
}

/** The first `maxBytes` bytes of the regular file at `file` and its whole size; undefined when it does not exist. */
export function readHead(file: string, rules: ReadRules): { head: Buffer; size: number } | undefined {
  const opened = openRegular(file, fs.constants.O_RDONLY, rules);
  if (!opened) return undefined;
  try {
    const buf = Buffer.allocUnsafe(Math.min(opened.st.size, rules.maxBytes));
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = fs.readSync(opened.fd, buf, n, buf.length - n, null);
    return { head: buf.subarray(0, n), size: opened.st.size };
  } finally {
    fs.closeSync(opened.fd);
  }
}

/** readBounded, as UTF-8 text. */
export function readTextBounded(file: string, rules: ReadRules): string | undefined {
  return readBounded(file, rules)?.toString('utf8');
}

/** A descriptor appending to the regular file at `file` (created with `mode`), or to /dev/null, never through a symbolic link: for logs. */
export function openAppend(file: string, rules: OpenRules, mode = 0o600): number {
  const { O_WRONLY, O_APPEND, O_CREAT } = fs.constants;
  return openRegular(file, O_WRONLY | O_APPEND | O_CREAT, { ...rules, noFollow: true, nullDevice: true }, mode)!.fd;
}
