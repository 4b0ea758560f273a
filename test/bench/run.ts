/**
 * `npm run bench`: start-up time and peak memory of the tools, signing
 * throughput, the cost of a signed DescribeStackResource round trip on
 * loopback, and cfn-init beside heat-cfntools' and aws-cfn-bootstrap's on
 * 1,000 files and 100 commands, wall and CPU (cfn-init-vs-peer.ts), one cfn-hup check beside heat-cfntools'
 * (cfn-hup-daemon.ts), the memory of the executable's daemons (cfn-hup,
 * heat-agent) beside os-collect-config's over 1,000 checks (daemon-memory.ts), and one cron run of cfn-push-stats beside
 * heat-cfntools' (cfn-push-stats-vs-peer.ts), and the single executable's start-up beside
 * a trivial executable and heat-cfntools' (executable.ts; CFNTOOLS_BENCH_STARTUP_RUNS
 * runs each, default 15), and the arm64 build's under qemu-user, with and without its
 * code caches (arm64.ts; CFNTOOLS_BENCH_ARM64_RUNS, default 7). Numbers, not pass/fail: compare runs on
 * the same machine. CFNTOOLS_BENCH_RUNS sets the runs per cfn-init workload
 * (default 7). That comparison runs packaging/out/cfntools as its tarball installs it when built, else the
 * bundle; CFNTOOLS_BENCH_EXECUTABLE names another single executable (`<it>
 * cfn-init`), and is the executable whose daemons are measured (default packaging/out/cfntools);
 * CFNTOOLS_BENCH_AWS_CFN_BOOTSTRAP a copy of aws-cfn-bootstrap other than /work/peers/aws-cfn-bootstrap.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { signV4 } from '../../shared/sigv4';
import { QueryClient } from '../../shared/query-api';
import { describeStackResource } from '../../shared/cfn-api';
import { HttpClient } from '../../shared/http';
import { resolveEndpoint } from '../../shared/endpoints';
import { startServer } from '../support/server';
import { cfnInitRows } from './cfn-init-vs-peer';
import { hupRows } from './cfn-hup-daemon';
import { daemonMemoryRows } from './daemon-memory';
import { pushRows } from './cfn-push-stats-vs-peer';
import { executableRows } from './executable';
import { arm64Rows } from './arm64';

const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Run the bundle once; a preloaded hook reports the child's peak RSS. */
function startup(args: string[]): { ms: number; rssMiB: number } {
  const hook = path.join(os.tmpdir(), 'cfntools-bench-rss.js');
  fs.writeFileSync(hook, "process.on('exit',()=>process.stderr.write('\\nRSS '+process.resourceUsage().maxRSS+'\\n'))");
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--require', hook, BUNDLE, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true' } });
  const ms = performance.now() - t;
  const kb = Number(/RSS (\d+)/.exec(r.stderr)?.[1] ?? 0);
  return { ms, rssMiB: kb / 1024 };
}

async function main(): Promise<void> {
  const rows: Array<[string, string]> = [];
  for (const args of [['cfn-get-metadata', '--version'], ['cfn-get-metadata', '--help'], ['cfn-signal', '--help'], ['cfn-init', '--help'], ['cfn-create-aws-symlinks', '--help']]) {
    const runs = Array.from({ length: 9 }, () => startup(args));
    rows.push([`start-up: ${args.join(' ')}`, `${median(runs.map((r) => r.ms)).toFixed(1)} ms median, peak RSS ${median(runs.map((r) => r.rssMiB)).toFixed(1)} MiB`]);
  }

  const creds = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret', source: 'bench' };
  const req = { method: 'GET', url: 'http://127.0.0.1:8000/v1/?Action=DescribeStackResource&ContentType=JSON&LogicalResourceId=WebServer&StackName=teststack&Version=2010-05-15', headers: {} };
  const n = 20000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) signV4(req, creds, { region: 'heat', service: 'cloudformation' }, new Date());
  const signMs = performance.now() - t0;
  rows.push(['SigV4 signing', `${((n / signMs) * 1000).toFixed(0)} requests/s (${((signMs * 1000) / n).toFixed(1)} µs each)`]);

  const body = JSON.stringify({ DescribeStackResourceResponse: { DescribeStackResourceResult: { StackResourceDetail: { LogicalResourceId: 'WebServer', Metadata: { 'AWS::CloudFormation::Init': { config: { files: { '/tmp/x': { content: 'x'.repeat(2000) } } } } } } } } });
  const server = await startServer((_r, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  const client = new QueryClient({
    endpoint: resolveEndpoint({ service: 'cloudformation', url: `${server.url}/v1/`, region: 'heat' }),
    credentials: { get: async () => creds },
    http: new HttpClient({ transport: { env: {} } }),
    apiVersion: '2010-05-15',
  });
  const calls = 500;
  const lat: number[] = [];
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await describeStackResource(client, 'teststack', 'WebServer');
    lat.push(performance.now() - t);
  }
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  await server.close();
  rows.push(['DescribeStackResource on loopback', `${median(lat).toFixed(2)} ms median, p95 ${[...lat].sort((a, b) => a - b)[Math.floor(calls * 0.95)].toFixed(2)} ms over ${calls} calls`]);
  rows.push(['heap growth over those calls', `${((heapAfter - heapBefore) / 1024).toFixed(0)} KiB`]);

  fs.rmSync(path.join(os.tmpdir(), 'cfntools-bench-rss.js'), { force: true });

  rows.push(...cfnInitRows(Number(process.env.CFNTOOLS_BENCH_RUNS ?? 7)));
  rows.push(...hupRows());
  rows.push(...daemonMemoryRows());
  rows.push(...pushRows(Number(process.env.CFNTOOLS_BENCH_RUNS ?? 7)));
  rows.push(...executableRows(Number(process.env.CFNTOOLS_BENCH_STARTUP_RUNS ?? 15)));
  rows.push(...arm64Rows(Number(process.env.CFNTOOLS_BENCH_ARM64_RUNS ?? 7)));
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`cfntools bench (node ${process.version}, ${os.cpus().length} cores)`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

void main();
