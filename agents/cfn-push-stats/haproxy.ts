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
/** More rows than a real answer within MAX_STATS_BYTES holds (a row of every column is a few hundred bytes). */
export const MAX_STATS_ROWS = 100_000;
const STATS_TIMEOUT_MS = 5000;

export class HaproxyError extends CfnError {
  constructor(
    readonly socket: string,
    message: string,
  ) {
    super(`haproxy stats socket ${socket}: ${message}`);
  }
}

/**
 * `show stat` from the socket, bounded in size and in time: the whole
 * answer within `timeoutMs`, however it trickles in (an idle timeout would
 * let one byte every few seconds hold the run, and its cron lock, forever).
 */
export function readStats(socket: string, timeoutMs = STATS_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const conn = net.createConnection({ path: socket });
    const settle = (fn: () => void) => {
      clearTimeout(deadline);
      conn.destroy();
      fn();
    };
    const fail = (msg: string) => settle(() => reject(new HaproxyError(socket, msg)));
    const deadline = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms (${size} bytes arrived)`), timeoutMs);
    conn.on('connect', () => conn.end('show stat\n'));
    conn.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_STATS_BYTES) return fail(`answer larger than ${MAX_STATS_BYTES} bytes`);
      chunks.push(d);
    });
    conn.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? 'no such socket (is haproxy running with "stats socket" there?)' : err.message));
    conn.on('end', () => settle(() => resolve(Buffer.concat(chunks).toString('utf8'))));
  });
}

export type StatRow = Record<string, string>;

/** The CSV of `show stat`: a `# pxname,svname,...` header, then one row per proxy and server; at most MAX_STATS_ROWS. */
export function parseStats(csv: string, socket: string): StatRow[] {
  const lines = csv.split('\n').map((l) => l.replace(/\r$/, ''));
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new HaproxyError(socket, `not a "show stat" answer: ${JSON.stringify(csv.slice(0, 80))}`);
  const names = header.slice(2).split(',');
  for (const need of ['pxname', 'svname', 'type', 'status']) {
    if (!names.includes(need)) throw new HaproxyError(socket, `"show stat" header has no ${need} column`);
  }
  const data = lines.filter((l) => l.length > 2 && !l.startsWith('#'));
  if (data.length > MAX_STATS_ROWS) throw new HaproxyError(socket, `"show stat" has ${data.length} rows, more than the ${MAX_STATS_ROWS} read`);
  // Only the columns read: a row has some eighty.
  const kept = names.map((n, i) => [n, i] as const).filter(([n]) => READ_COLUMNS.has(n));
  return data.map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(kept.map(([n, i]) => [n, cells[i] ?? '']));
  });
}

const FRONTEND = '0';
const BACKEND = '1';
const SERVER = '2';

/** The counters read from each type of row. */
const COLUMNS: Record<string, readonly string[]> = {
  [FRONTEND]: ['req_tot', 'hrsp_4xx', 'hrsp_5xx'],
  [BACKEND]: ['hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx'],
  [SERVER]: ['check_duration'],
};

const READ_COLUMNS = new Set(['pxname', 'svname', 'type', 'status', ...Object.values(COLUMNS).flat()]);

/** haproxy's counters are unsigned 64-bit: 2^64-1, compared as text (a double rounds it up to 2^64). */
const MAX_COUNTER = '18446744073709551615';

/** An empty cell counts 0; a counter is decimal digits up to 2^64-1; anything else is undefined. */
function counter(cell: string | undefined): number | undefined {
  if (!cell) return 0;
  if (!/^\d+$/.test(cell)) return undefined;
  const digits = cell.replace(/^0+(?=\d)/, '');
  if (digits.length > MAX_COUNTER.length || (digits.length === MAX_COUNTER.length && digits > MAX_COUNTER)) return undefined;
  return Number(digits);
}

export interface HaproxyFigures {
  readings: Reading[];
  /** Rows left out, each with why: a counter that is not one (no haproxy writes it). */
  refused: string[];
}

/**
 * Sums over every frontend and backend; a server counts as healthy when its
 * status is UP. A row whose counters cannot be read is left out and named,
 * so one bad row does not cost every figure.
 */
export function haproxyReadings(rows: StatRow[], latencyOnly: boolean): HaproxyFigures {
  const sums = new Map<string, number>();
  const refused: string[] = [];
  let latencyMs = 0;
  let servers = 0;
  let healthy = 0;
  for (const r of rows) {
    const columns = COLUMNS[r.type] ?? [];
    const values = columns.map((c) => counter(r[c]));
    const bad = columns.filter((_, i) => values[i] === undefined);
    if (bad.length) {
      refused.push(`${r.pxname}/${r.svname}: ${bad.map((c) => `${c} ${JSON.stringify(r[c]!.length > 24 ? `${r[c]!.slice(0, 24)}...` : r[c])}`).join(', ')} ${bad.length > 1 ? 'are not counters' : 'is not a counter'}`);
      continue;
    }
    columns.forEach((c, i) => sums.set(`${r.type}.${c}`, (sums.get(`${r.type}.${c}`) ?? 0) + values[i]!));
    if (r.type === SERVER) {
      servers++;
      latencyMs = Math.max(latencyMs, values[0]!);
      if (r.status === 'UP' || r.status.startsWith('UP ')) healthy++;
    }
  }
  const latency: Reading = { name: 'Latency', value: latencyMs / 1000, unit: 'Seconds' };
  if (latencyOnly) return { readings: [latency], refused };
  const sum = (type: string, col: string) => sums.get(`${type}.${col}`) ?? 0;
  const count = (name: string, value: number): Reading => ({ name, value, unit: 'Count' });
  return {
    readings: [
      count('RequestCount', sum(FRONTEND, 'req_tot')),
      count('HTTPCode_ELB_4XX', sum(FRONTEND, 'hrsp_4xx')),
      count('HTTPCode_ELB_5XX', sum(FRONTEND, 'hrsp_5xx')),
      count('HTTPCode_Backend_2XX', sum(BACKEND, 'hrsp_2xx')),
      count('HTTPCode_Backend_3XX', sum(BACKEND, 'hrsp_3xx')),
      count('HTTPCode_Backend_4XX', sum(BACKEND, 'hrsp_4xx')),
      count('HTTPCode_Backend_5XX', sum(BACKEND, 'hrsp_5xx')),
      latency,
      count('HealthyHostCount', healthy),
      count('UnHealthyHostCount', servers - healthy),
    ],
    refused,
  };
}
