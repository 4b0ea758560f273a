/**
 * haproxy's statistics, read from its stats socket (`show stat`, CSV) and
 * turned into the ELB-style metrics heat-cfntools sent: request and status
 * counts of the frontends and backends, the servers' health, and the
 * slowest health check as Latency. Columns are found by their header name,
 * not by position: haproxy has added columns between releases.
 */
import * as net from 'node:net';
import { CfnError } from '../../shared/errors';
import type { Reading } from './readings';

const MAX_STATS_BYTES = 16 * 1024 * 1024;
const STATS_TIMEOUT_MS = 5000;

export class HaproxyError extends CfnError {
  constructor(
    readonly socket: string,
    message: string,
  ) {
    super(`haproxy stats socket ${socket}: ${message}`);
  }
}

/** `show stat` from the socket, bounded in size and time. */
export function readStats(socket: string, timeoutMs = STATS_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const conn = net.createConnection({ path: socket });
    const fail = (msg: string) => {
      conn.destroy();
      reject(new HaproxyError(socket, msg));
    };
    conn.setTimeout(timeoutMs, () => fail(`no complete answer within ${timeoutMs} ms`));
    conn.on('connect', () => conn.end('show stat\n'));
    conn.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_STATS_BYTES) return fail(`answer larger than ${MAX_STATS_BYTES} bytes`);
      chunks.push(d);
    });
    conn.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? 'no such socket (is haproxy running with "stats socket" there?)' : err.message));
    conn.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export type StatRow = Record<string, string>;

/** The CSV of `show stat`: a `# pxname,svname,...` header, then one row per proxy and server. */
export function parseStats(csv: string, socket: string): StatRow[] {
  const lines = csv.split('\n').map((l) => l.replace(/\r$/, ''));
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new HaproxyError(socket, `not a "show stat" answer: ${JSON.stringify(csv.slice(0, 80))}`);
  const names = header.slice(2).split(',');
  for (const need of ['pxname', 'svname', 'type', 'status']) {
    if (!names.includes(need)) throw new HaproxyError(socket, `"show stat" header has no ${need} column`);
  }
  return lines
    .filter((l) => l.length > 2 && !l.startsWith('#'))
    .map((l) => {
      const cells = l.split(',');
      return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
    });
}

const FRONTEND = '0';
const BACKEND = '1';
const SERVER = '2';

const num = (s: string | undefined) => (s && /^\d+$/.test(s) ? Number(s) : 0);

/** Sums over every frontend and backend; a server counts as healthy when its status is UP. */
export function haproxyReadings(rows: StatRow[], latencyOnly: boolean): Reading[] {
  const sum = (type: string, col: string) => rows.filter((r) => r.type === type).reduce((n, r) => n + num(r[col]), 0);
  const servers = rows.filter((r) => r.type === SERVER);
  const checks = servers.map((r) => num(r.check_duration));
  const latency: Reading = { name: 'Latency', value: checks.length ? Math.max(...checks) / 1000 : 0, unit: 'Seconds' };
  if (latencyOnly) return [latency];
  const count = (name: string, value: number): Reading => ({ name, value, unit: 'Count' });
  const healthy = servers.filter((r) => r.status === 'UP' || r.status.startsWith('UP ')).length;
  return [
    count('RequestCount', sum(FRONTEND, 'req_tot')),
    count('HTTPCode_ELB_4XX', sum(FRONTEND, 'hrsp_4xx')),
    count('HTTPCode_ELB_5XX', sum(FRONTEND, 'hrsp_5xx')),
    count('HTTPCode_Backend_2XX', sum(BACKEND, 'hrsp_2xx')),
    count('HTTPCode_Backend_3XX', sum(BACKEND, 'hrsp_3xx')),
    count('HTTPCode_Backend_4XX', sum(BACKEND, 'hrsp_4xx')),
    count('HTTPCode_Backend_5XX', sum(BACKEND, 'hrsp_5xx')),
    latency,
    count('HealthyHostCount', healthy),
    count('UnHealthyHostCount', servers.length - healthy),
  ];
}
