/**
 * Per-tool logging. One line per message in the peers' format
 * (`LEVEL [YYYY-MM-DD HH:MM:SS,mmm] message`), every line redacted.
 * The log file is created 0600; when it cannot be opened the logger falls
 * back to stderr and says so once.
 */
import * as fs from 'node:fs';
import { redact } from './redact';

export type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
const ORDER: Record<Level, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const nullLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

export function formatLine(level: Level, msg: string, now = new Date()): string {
  return `${level} [${timestamp(now)}] ${redact(msg)}\n`;
}

export interface FileLoggerOptions {
  /** Log file path; `-` means stderr only. */
  file: string;
  level: Level;
  /** Also echo messages at this level or above to stderr (CLI errors). */
  stderrLevel?: Level;
}

export class FileLogger implements Logger {
  private fd: number | undefined;
  readonly destination: string;

  constructor(private readonly opts: FileLoggerOptions) {
    this.destination = 'stderr';
    if (opts.file !== '-') {
      try {
        this.fd = fs.openSync(opts.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
        this.destination = opts.file;
      } catch (err) {
        process.stderr.write(
          formatLine('WARNING', `cannot open log file ${opts.file} (${(err as NodeJS.ErrnoException).code ?? err}); logging to stderr`),
        );
      }
    }
  }

  private write(level: Level, msg: string): void {
    const line = formatLine(level, msg);
    if (ORDER[level] >= ORDER[this.opts.level]) {
      if (this.fd !== undefined) fs.writeSync(this.fd, line);
      else process.stderr.write(line);
    }
    if (this.fd !== undefined && this.opts.stderrLevel && ORDER[level] >= ORDER[this.opts.stderrLevel]) {
      process.stderr.write(line);
    }
  }

  debug(msg: string): void { this.write('DEBUG', msg); }
  info(msg: string): void { this.write('INFO', msg); }
  warn(msg: string): void { this.write('WARNING', msg); }
  error(msg: string): void { this.write('ERROR', msg); }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A logger that keeps lines in memory: for tests and for `--dry-run` accounts. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(msg: string): void { this.lines.push(`DEBUG ${redact(msg)}`); }
  info(msg: string): void { this.lines.push(`INFO ${redact(msg)}`); }
  warn(msg: string): void { this.lines.push(`WARNING ${redact(msg)}`); }
  error(msg: string): void { this.lines.push(`ERROR ${redact(msg)}`); }
}
