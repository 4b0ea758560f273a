/**
 * One run of a tool from the bundle, measured: its peak RSS (the kernel's
 * maximum resident set of the process and the children it waited for, as
 * GNU time reads it from wait4), how long it took, and a bound past which
 * it is killed with everything in its process group. Then the verdict the
 * fuzz holds every run to: it ended by itself, with an exit code the tool
 * documents, its failure said in one line naming the tool, no trace of an
 * error it did not expect (a stack trace, "unexpected error", a JavaScript
 * engine's message) on stderr or in its log, and under its RSS ceiling.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLE } from '../../support/cli';

export const GNU_TIME = '/usr/bin/time';
/** What is kept of each output stream: its end, where an error is. An error line longer than this quotes something whole it should have cut. */
const KEEP_CHARS = 1024 * 1024;

export interface MeasuredRun {
  /** Exit status; null when a signal ended it. */
  status: number | null;
  /** The signal that ended it (ours after the bound, or the kernel's). */
  signal?: number;
  /** It was still running at its bound and was killed. */
  timedOut: boolean;
  /** Peak RSS in KiB; undefined when it was killed before GNU time could say. */
  rssKb?: number;
  ms: number;
  stdout: string;
  /** The end of stderr (KEEP_CHARS at most). */
  stderr: string;
  /** How much it wrote there in all (characters, lines), and its first 4 KiB (the start of a line too long to keep whole). */
  stderrChars: number;
  stderrLines: number;
  stderrHead: string;
}

export interface RunSpec {
  tool: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Killed (SIGKILL, the whole process group) after this long. */
  boundMs: number;
  /** Where GNU time writes its figures. */
  rssFile: string;
}

/** An error with a list of problems under it lists a bounded number of them. */
const MAX_ERROR_LINES = 1000;

const keepEnd = (s: string) => (s.length > KEEP_CHARS ? s.slice(-KEEP_CHARS) : s);

export function runMeasured(spec: RunSpec): Promise<MeasuredRun> {
  fs.rmSync(spec.rssFile, { force: true });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%M', '-o', spec.rssFile, process.execPath, BUNDLE, spec.tool, ...spec.args], {
      env: spec.env,
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stderrChars = 0;
    let stderrHead = '';
    let stderrLines = 0;
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout = keepEnd(stdout + d.toString())));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      if (stderrChars < 4096) stderrHead += text.slice(0, 4096 - stderrChars);
      stderrChars += text.length;
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) stderrLines++;
      stderr = keepEnd(stderr + text);
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, spec.boundMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      // Whatever the tool left running in its group (a hook's stray child) goes too.
      killGroup();
      const figures = fs.existsSync(spec.rssFile) ? fs.readFileSync(spec.rssFile, 'utf8') : '';
      const rss = /^(\d+)\s*$/m.exec(figures.trim().split('\n').pop() ?? '');
      const bySignal = /terminated by signal (\d+)/.exec(figures);
      resolve({
        status: bySignal || timedOut ? null : status,
        signal: bySignal ? Number(bySignal[1]) : timedOut ? 9 : undefined,
        timedOut,
        rssKb: rss ? Number(rss[1]) : undefined,
        ms: Date.now() - started,
        stdout,
        stderr,
        stderrChars,
        stderrLines,
        stderrHead,
      });
    });
  });
}

/**
 * Signs of an error the tool did not expect: a stack frame, the CLI's
 * "unexpected error", V8's own messages (out of memory, recursion, a
 * property of undefined), Node's internals.
 */
const UNEXPECTED: ReadonlyArray<[RegExp, string]> = [
  [/^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m, 'a stack trace'],
  [/unexpected error/i, '"unexpected error"'],
  [/\b(TypeError|RangeError|ReferenceError|EvalError|InternalError|AggregateError)\b/, 'a JavaScript error class'],
  [/Cannot (read|set) propert|Cannot convert |Cannot create property|is not a function|is not iterable|is not a constructor|(undefined|null) is not|Cannot access '.+' before initialization/, 'a JavaScript engine message'],
  [/Maximum call stack size exceeded|Invalid string length|Invalid array length|Array buffer allocation failed|Reached heap limit|JavaScript heap out of memory|FATAL ERROR|allocation failed/i, 'memory or recursion exhausted'],
  [/node:internal|\binternal\/[a-z_/]+\.js|UnhandledPromiseRejection|ERR_UNHANDLED|ERR_INTERNAL_ASSERTION/, "Node's internals"],
];

/** Where a text shows an error the tool did not expect, and what it is; undefined when clean. */
export function unexpectedIn(text: string): string | undefined {
  for (const [re, what] of UNEXPECTED) {
    const m = re.exec(text);
    if (m) {
      const line = text.slice(text.lastIndexOf('\n', m.index) + 1, text.indexOf('\n', m.index) < 0 ? undefined : text.indexOf('\n', m.index));
      return `${what}: ${JSON.stringify(line.slice(0, 300))}`;
    }
  }
  return undefined;
}

export interface Expectations {
  tool: string;
  /** Exit codes the tool documents for this kind of run. */
  codes: readonly number[];
  rssCeilingKb: number;
  /** A failure may be said in the log only (cfn-hup -f and heat-agent --one-time exit 1 when a check failed, and log why). */
  logsFailures?: boolean;
  /** More text the tool wrote that must be clean (its log, what it signalled). */
  alsoClean?: Array<[string, string]>;
}

/** The kind of each problem: what a known-failure entry names (`hang`, `signal`, `exit`, `stderr`, `unexpected`, `rss`). */
export type ProblemKind = 'hang' | 'signal' | 'exit' | 'stderr' | 'unexpected' | 'rss';

export interface Problem {
  kind: ProblemKind;
  text: string;
}

/** Everything wrong with a run; empty when it is what the fuzz asks of every run. */
export function judge(r: MeasuredRun, e: Expectations): Problem[] {
  const out: Problem[] = [];
  if (r.timedOut) out.push({ kind: 'hang', text: `still running after ${r.ms} ms; killed` });
  else if (r.status === null) out.push({ kind: 'signal', text: `ended by signal ${r.signal}` });
  else if (!e.codes.includes(r.status)) out.push({ kind: 'exit', text: `exit ${r.status}, expected one of ${e.codes.join(', ')}` });
  if (r.status !== null && r.status !== 0 && !(e.logsFailures && !r.stderr.trim())) {
    // The error is the last line that is not indented: a list of problems under it (cfn-init's validation) is its own.
    const lines = r.stderr.trimEnd().split('\n');
    let at = lines.length - 1;
    while (at > 0 && /^\s/.test(lines[at])) at--;
    const last = lines[at] ?? '';
    if (r.stderrLines > MAX_ERROR_LINES) out.push({ kind: 'stderr', text: `exit ${r.status}, and stderr has ${r.stderrLines} lines, from ${JSON.stringify(r.stderrHead.slice(0, 200))}` });
    else if (at === 0 && r.stderrChars > r.stderr.length) out.push({ kind: 'stderr', text: `exit ${r.status}, and the error is a line of more than ${KEEP_CHARS} characters: ${JSON.stringify(r.stderrHead.slice(0, 200))}...` });
    else if (!last.startsWith(`${e.tool}: `)) out.push({ kind: 'stderr', text: `exit ${r.status}, but stderr does not end in one line naming ${e.tool}: ${JSON.stringify(r.stderr.slice(-300))}` });
  }
  for (const [where, text] of [['stderr', r.stderr] as [string, string], ...(e.alsoClean ?? [])]) {
    const found = unexpectedIn(text);
    if (found) out.push({ kind: 'unexpected', text: `${where}: ${found}` });
  }
  if (r.rssKb !== undefined && r.rssKb > e.rssCeilingKb) out.push({ kind: 'rss', text: `peak RSS ${Math.round(r.rssKb / 1024)} MiB, over the ${Math.round(e.rssCeilingKb / 1024)} MiB ceiling` });
  return out;
}

/** The end of a file the tool wrote (a log), or '' when there is none. */
export function tailOf(file: string, chars = 256 * 1024): string {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return '';
      const len = Math.min(st.size, chars);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, st.size - len);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Every file under `dir` whose name ends in `.log`, for the verdict. */
export function logsUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith('.log')).map((n) => path.join(dir, n));
}
