/**
 * The launcher process (launcher.c): started at the first program a tool
 * runs, then asked to start each one, so a program costs a posix_spawn of a
 * small process instead of a fork of the runtime. It holds the event loop
 * only while programs run, and ends with the tool.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CfnError, errorMessage } from '../errors';
import { encodeSpawn, exitStatus, FrameReader, type LauncherEvent, type SpawnRequest } from './protocol';

/** What happens to one program, in this order: started, output, exited, done; or failed alone. */
export interface SpawnSink {
  started(pid: number): void;
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  /** The program exited (its status as a shell reports it); output may still come until done. */
  exited(status: number): void;
  /** Its output ended, or the grace for what it left holding the pipes passed. */
  done(): void;
  failed(err: Error, stage?: 'cwd' | 'program' | 'resources', code?: string): void;
}

/** The launcher's diagnostics kept for an error: it prints one line before it exits. */
const MAX_DIAGNOSTIC = 4096;

export class Launcher {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly sinks = new Map<number, SpawnSink>();
  private nextId = 1;

  constructor(readonly file: string) {}

  spawn(request: SpawnRequest, sink: SpawnSink): void {
    const frame = encodeSpawn(this.nextId, request);
    const child = this.child ?? this.start();
    this.sinks.set(this.nextId, sink);
    this.nextId = (this.nextId % 0xffffffff) + 1;
    this.hold(true);
    child.stdin.write(frame);
  }

  private start(): ChildProcessWithoutNullStreams {
    // The launcher needs no environment; each program gets its own whole.
    const child = spawn(this.file, [String(process.pid)], { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    const reader = new FrameReader();
    let diagnostic = '';
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        for (const event of reader.push(chunk)) this.dispatch(event);
      } catch (err) {
        child.kill('SIGKILL');
        gone(`broke its protocol (${errorMessage(err)})`);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      diagnostic = (diagnostic + chunk.toString()).slice(-MAX_DIAGNOSTIC);
    });
    // A write after the launcher died fails here; its exit tells every waiting run.
    child.stdin.on('error', () => undefined);
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const err = new CfnError(`the program launcher ${this.file} ${why}${diagnostic.trim() ? `: ${diagnostic.trim()}` : ''}`);
      const sinks = [...this.sinks.values()];
      this.sinks.clear();
      for (const sink of sinks) sink.failed(err);
    };
    child.on('error', (err) => gone(`could not run: ${err.message}`));
    child.on('close', (code, signal) => gone(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    this.child = child;
    return child;
  }

  /** The launcher keeps the tool alive only while a program it started has not finished. */
  private hold(busy: boolean): void {
    const child = this.child;
    if (!child) return;
    const method = busy ? 'ref' : 'unref';
    child[method]();
    for (const stream of [child.stdin, child.stdout, child.stderr] as unknown as Array<{ ref(): void; unref(): void }>) stream[method]();
  }

  private dispatch(event: LauncherEvent): void {
    const sink = this.sinks.get(event.id);
    if (!sink) throw new CfnError(`the program launcher sent an event for run ${event.id}, which is not running`);
    switch (event.type) {
      case 'started':
        return sink.started(event.pid);
      case 'stdout':
        return sink.stdout(event.data);
      case 'stderr':
        return sink.stderr(event.data);
      case 'exited':
        return sink.exited(exitStatus(event.status));
      case 'failed':
      case 'done':
        this.sinks.delete(event.id);
        if (this.sinks.size === 0) this.hold(false);
        if (event.type === 'done') return sink.done();
        return sink.failed(new CfnError(`cannot start the program (${event.stage}): ${event.code}`), event.stage, event.code);
    }
  }
}
