/**
 * Per-tool logging. One line per message in the peers' format
 * (`LEVEL [YYYY-MM-DD HH:MM:SS,mmm] message`), every line redacted.
 * The log file is created 0600; when it cannot be opened the logger falls
 * back to stderr and says so once. A long-lived logger follows logrotate:
 * it reopens its path on SIGHUP (reopenLogs) and when the path no longer
 * names the file it writes.
 *
 * Under systemd (stderr is the journal's stream: stderrIsJournal) the
 * warnings, errors and notices (a hook or deployment starting, its result,
 * a daemon starting, reloading, stopping) go to stderr as well, one line
 * each with its syslog priority (`<3>ERROR message`) and no time (the
 * journal keeps its own): `systemctl status` and `journalctl -u` show what
 * happened, the log file keeps everything. Both copies are redacted.
 */
import * as fs from 'node:fs';
import { redact } from './redact';
import { openAppend } from './safe-open';

export type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
const ORDER: Record<Level, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  /** Several INFO lines at once (a command's output): one write, not one per line. */
  infoLines(msgs: readonly string[]): void;
  /** An event an operator watches for (an action starting, its result): INFO in the log, and in the journal under systemd. */
  notice(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const nullLogger: Logger = { debug() {}, info() {}, infoLines() {}, notice() {}, warn() {}, error() {} };

/** syslog priorities, which journald reads from a `<N>` at the start of a line. */
const PRIORITY: Record<Level, number> = { DEBUG: 7, INFO: 6, WARNING: 4, ERROR: 3 };
const NOTICE_PRIORITY = 5;

/**
 * Whether stderr is the systemd journal. systemd sets JOURNAL_STREAM to
 * `device:inode` of the stream it connected; a hook's child inherits the
 * variable with its stderr redirected elsewhere, so the stream itself is
 * compared.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const want = env.JOURNAL_STREAM;
  if (!want) return false;
  let st: fs.BigIntStats;
  try {
    st = fs.fstatSync(2, { bigint: true });
  } catch (err) {
    // No fd 2 at all (closed by whoever started us): nothing to mirror to.
    if ((err as NodeJS.ErrnoException).code === 'EBADF') return false;
    throw err;
  }
  return `${st.dev}:${st.ino}` === want;
}

/** The journal's form of a message: each line with the priority, no time. */
export function formatJournal(priority: number, level: Level, msg: string): string {
  return redact(msg).split('\n').map((l) => `<${priority}>${level} ${l}\n`).join('');
}

function timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

const linePrefix = (level: Level, now: Date) => `${level} [${timestamp(now)}] `;

export function formatLine(level: Level, msg: string, now = new Date()): string {
  return `${linePrefix(level, now)}${redact(msg)}\n`;
}

export interface FileLoggerOptions {
  /** Log file path; `-` means stderr only. */
  file: string;
  level: Level;
  /** Also echo messages at this level or above to stderr (CLI errors). */
  stderrLevel?: Level;
  /** The level on stderr when the file cannot be opened; default `level`. */
  fallbackLevel?: Level;
  /**
   * Mirror warnings, errors and notices to stderr in the journal's form.
   * Default: when stderr is the journal (stderrIsJournal). false for a log
   * whose lines the tool prints on stderr itself anyway.
   */
  journal?: boolean;
}

/** Open file loggers, for reopenLogs(). */
const open = new Set<FileLogger>();

/** Reopen every open log file (SIGHUP: logrotate has moved them). */
export function reopenLogs(): void {
  for (const l of open) l.reopen();
}

/** How often a long-lived logger checks that its path still names the file it writes. */
const ROTATION_CHECK_MS = 1000;

export class FileLogger implements Logger {
  private fd: number | undefined;
  private level: Level;
  private checkedAt = 0;
  destination = 'stderr';
  /** Warnings, errors and notices also go to stderr, which is the journal. */
  readonly journal: boolean;

  constructor(private readonly opts: FileLoggerOptions) {
    this.level = opts.level;
    this.journal = opts.journal ?? stderrIsJournal();
    if (opts.file === '-') return;
    try {
      this.fd = openLog(opts.file);
      this.destination = opts.file;
      this.checkedAt = Date.now();
      open.add(this);
    } catch (err) {
      this.toStderr('WARNING', `cannot open log file ${opts.file} (${(err as NodeJS.ErrnoException).code ?? err}); logging to stderr`);
      this.level = opts.fallbackLevel ?? opts.level;
    }
  }

  private toStderr(level: Level, msg: string, notice = false): void {
    process.stderr.write(this.journal ? formatJournal(notice ? NOTICE_PRIORITY : PRIORITY[level], level, msg) : formatLine(level, msg));
  }

  /** Close and open the path again: after a rotation, the new file gets the lines. */
  reopen(): void {
    if (this.fd === undefined) return;
    try {
      const fd = openLog(this.opts.file);
      fs.closeSync(this.fd);
      this.fd = fd;
    } catch (err) {
      // Keep writing where we were rather than lose lines; say so once on stderr.
      this.toStderr('WARNING', `cannot reopen log file ${this.opts.file} (${(err as NodeJS.ErrnoException).code ?? err}); still writing to the old one`);
    }
    this.checkedAt = Date.now();
  }

  /** The path no longer names our file (moved or removed by a rotation): reopen it. */
  private followRotation(): void {
    const now = Date.now();
    if (this.fd === undefined || now - this.checkedAt < ROTATION_CHECK_MS) return;
    this.checkedAt = now;
    let moved: boolean;
    try {
      const here = fs.fstatSync(this.fd);
      const there = fs.statSync(this.opts.file);
      moved = here.ino !== there.ino || here.dev !== there.dev;
    } catch {
      moved = true; // the path is gone
    }
    if (moved) this.reopen();
  }

  private write(level: Level, msg: string, notice = false): void {
    if (ORDER[level] >= ORDER[this.level]) {
      this.followRotation();
      if (this.fd !== undefined) fs.writeSync(this.fd, formatLine(level, msg));
      else this.toStderr(level, msg, notice);
    }
    if (this.fd === undefined) return;
    const echoed = this.opts.stderrLevel !== undefined && ORDER[level] >= ORDER[this.opts.stderrLevel];
    const journalled = this.journal && (notice || ORDER[level] >= ORDER.WARNING);
    if (echoed || journalled) this.toStderr(level, msg, notice);
  }

  debug(msg: string): void { this.write('DEBUG', msg); }
  info(msg: string): void { this.write('INFO', msg); }
  infoLines(msgs: readonly string[]): void {
    const echoed = this.opts.stderrLevel !== undefined && ORDER.INFO >= ORDER[this.opts.stderrLevel];
    if (this.fd === undefined || echoed) {
      for (const msg of msgs) this.info(msg);
      return;
    }
    if (ORDER.INFO < ORDER[this.level] || msgs.length === 0) return;
    this.followRotation();
    const prefix = linePrefix('INFO', new Date());
    fs.writeSync(this.fd, msgs.map((msg) => `${prefix}${redact(msg)}\n`).join(''));
  }
  notice(msg: string): void { this.write('INFO', msg, true); }
  warn(msg: string): void { this.write('WARNING', msg); }
  error(msg: string): void { this.write('ERROR', msg); }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    open.delete(this);
  }
}

/** Appended to, never through a link someone put in its place, never a FIFO or a device but /dev/null (safe-open.ts). */
function openLog(file: string): number {
  return openAppend(file, { what: 'the log file' });
}

/** A logger that keeps lines in memory: for tests and for `--dry-run` accounts. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(msg: string): void { this.lines.push(`DEBUG ${redact(msg)}`); }
  info(msg: string): void { this.lines.push(`INFO ${redact(msg)}`); }
  infoLines(msgs: readonly string[]): void { for (const msg of msgs) this.info(msg); }
  notice(msg: string): void { this.info(msg); }
  warn(msg: string): void { this.lines.push(`WARNING ${redact(msg)}`); }
  error(msg: string): void { this.lines.push(`ERROR ${redact(msg)}`); }
}
