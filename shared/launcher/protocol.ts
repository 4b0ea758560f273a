/**
 * The frames between a tool and its launcher (launcher.c states the
 * grammar): spawn requests out, events in. Pure: bytes to values and back.
 */
import { constants } from 'node:os';
import { CfnError } from '../errors';

export interface SpawnRequest {
  file: string;
  args: readonly string[];
  /** The whole environment of the program; undefined values are left out, as Node's spawn does. */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** A session (and process group) of its own, so that a timeout can end everything it started. */
  setsid: boolean;
  /** Written to stdin; without it stdin is /dev/null. */
  input?: string;
}

export type LauncherEvent =
  | { type: 'started'; id: number; pid: number }
  | { type: 'failed'; id: number; stage: 'cwd' | 'program' | 'resources'; code: string }
  | { type: 'stdout' | 'stderr'; id: number; data: Buffer }
  | { type: 'exited'; id: number; status: number }
  | { type: 'done'; id: number };

const HEAD = 9;
/** The largest request the launcher reads (MAX_PAYLOAD in launcher.c): a program's arguments, environment and input. */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
const FLAG_SETSID = 1;
const FLAG_INPUT = 2;
const STAGES = ['', 'cwd', 'program', 'resources'] as const;
const ERRNO_CODES = new Map(Object.entries(constants.errno).map(([code, n]) => [n, code]));

/** An argument, path or variable the kernel cannot be given: it would be cut at the NUL. */
export class NulInArgumentError extends CfnError {}

function checked(s: string, what: string): string {
  if (s.includes('\0')) throw new NulInArgumentError(`cannot run a program with a NUL character in its ${what}`);
  return s;
}

export function encodeSpawn(id: number, r: SpawnRequest): Buffer {
  const env: string[] = [];
  for (const k in r.env) {
    const v = r.env[k];
    if (v !== undefined) env.push(checked(`${k}=${v}`, 'environment'));
  }
  // One string, encoded once: a command's request is built for every command.
  const strings = [checked(r.cwd ?? '', 'working directory'), checked(r.file, 'program name'), r.file, ...r.args.map((a) => checked(a, 'arguments')), ...env, ''].join('\0');
  const text = Buffer.from(strings);
  const input = r.input === undefined ? undefined : Buffer.from(r.input);
  if (16 + text.length + (input?.length ?? 0) > MAX_REQUEST_BYTES) {
    throw new CfnError(`cannot run ${r.file}: its arguments, environment and input take more than ${MAX_REQUEST_BYTES / 1024 / 1024} MiB`);
  }
  const frame = Buffer.allocUnsafe(HEAD + 16 + text.length + (input?.length ?? 0));
  frame.write('S', 0, 'latin1');
  frame.writeUInt32LE(id, 1);
  frame.writeUInt32LE(frame.length - HEAD, 5);
  frame.writeUInt32LE((r.setsid ? FLAG_SETSID : 0) | (input ? FLAG_INPUT : 0), HEAD);
  frame.writeUInt32LE(1 + r.args.length, HEAD + 4);
  frame.writeUInt32LE(env.length, HEAD + 8);
  frame.writeUInt32LE(input?.length ?? 0, HEAD + 12);
  text.copy(frame, HEAD + 16);
  input?.copy(frame, HEAD + 16 + text.length);
  return frame;
}

/** The exit status a shell would report for a raw wait status: the code, or 128 + the signal. */
export function exitStatus(raw: number): number {
  const signal = raw & 0x7f;
  return signal === 0 ? (raw >> 8) & 0xff : 128 + signal;
}

/** Events out of the launcher's byte stream, as many as are complete. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LauncherEvent[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const events: LauncherEvent[] = [];
    let at = 0;
    while (this.pending.length - at >= HEAD) {
      const len = this.pending.readUInt32LE(at + 5);
      if (this.pending.length - at - HEAD < len) break;
      const type = String.fromCharCode(this.pending[at]);
      const id = this.pending.readUInt32LE(at + 1);
      const body = this.pending.subarray(at + HEAD, at + HEAD + len);
      events.push(decode(type, id, body));
      at += HEAD + len;
    }
    this.pending = this.pending.subarray(at);
    return events;
  }
}

function decode(type: string, id: number, body: Buffer): LauncherEvent {
  switch (type) {
    case 'P':
      return { type: 'started', id, pid: body.readUInt32LE(0) };
    case 'F':
      return { type: 'failed', id, stage: STAGES[body.readUInt32LE(0)] || 'resources', code: ERRNO_CODES.get(body.readUInt32LE(4)) ?? `errno ${body.readUInt32LE(4)}` };
    // A copy: the frame's bytes share a buffer with what follows it, which output keeps would pin.
    case '1':
      return { type: 'stdout', id, data: Buffer.from(body) };
    case '2':
      return { type: 'stderr', id, data: Buffer.from(body) };
    case 'W':
      return { type: 'exited', id, status: body.readUInt32LE(0) };
    case 'X':
      return { type: 'done', id };
    default:
      throw new CfnError(`the launcher sent an unknown event ${JSON.stringify(type)}`);
  }
}
