/**
 * A real haproxy (Debian's package) on loopback for tests: one frontend, a
 * backend of two servers, one answering (a node server with /ok, /missing,
 * /boom) and one on a closed port, health checks every 100 ms, and the
 * stats socket in a temporary directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type TestServer } from './server';

export const HAPROXY = '/usr/sbin/haproxy';

export function haproxyMissing(): string | undefined {
  if (!fs.existsSync(HAPROXY)) return `${HAPROXY} is not installed (Debian package haproxy; scripts/install-test-deps.sh)`;
  return undefined;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export class HaproxyRig {
  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly frontendUrl: string,
    private readonly child: ChildProcess,
    private readonly backend: TestServer,
  ) {}

  static async start(): Promise<HaproxyRig> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-haproxy-'));
    const backend = await startServer((req, res) => {
      res.statusCode = req.url === '/ok' || req.url === '/health' ? 200 : req.url === '/boom' ? 500 : 404;
      res.end('x');
    });
    const [front, closed] = [await freePort(), await freePort()];
    const socket = path.join(dir, 'stats');
    const cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(cfg, [
      'global',
      `  stats socket ${socket} mode 600 level user`,
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend web',
      `  bind 127.0.0.1:${front}`,
      '  default_backend app',
      'backend app',
      '  option httpchk GET /health',
      `  server up1 127.0.0.1:${backend.port} check inter 100ms fall 1 rise 1`,
      `  server down1 127.0.0.1:${closed} check inter 100ms fall 1 rise 1`,
      '',
    ].join('\n'));
    const check = spawnSync(HAPROXY, ['-c', '-f', cfg], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`haproxy -c: ${check.stdout}${check.stderr}`);
    const child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    const rig = new HaproxyRig(dir, socket, `http://127.0.0.1:${front}`, child, backend);
    await rig.until((csv) => /^app,down1,.*,DOWN,/m.test(csv) && /^app,up1,.*,UP,/m.test(csv), 'both servers checked');
    return rig;
  }

  /** `show stat`, as socat would fetch it. */
  showStat(): Promise<string> {
    return new Promise((resolve, reject) => {
      let out = '';
      const c = net.createConnection({ path: this.socket }, () => c.end('show stat\n'));
      c.on('data', (d) => (out += d));
      c.on('error', reject);
      c.on('end', () => resolve(out));
    });
  }

  async until(test: (csv: string) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const csv = await this.showStat().catch(() => '');
      if (test(csv)) return;
      if (Date.now() > end) throw new Error(`haproxy: ${what}: not within ${timeoutMs} ms; last stats:\n${csv}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** GET `paths` through the frontend, one after another; the statuses. */
  async get(paths: string[]): Promise<number[]> {
    const statuses: number[] = [];
    for (const p of paths) statuses.push((await fetch(this.frontendUrl + p)).status);
    return statuses;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await gone;
    }
    await this.backend.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
