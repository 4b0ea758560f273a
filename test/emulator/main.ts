/**
 * `npm run emulator -- --port 8000 --stack test/emulator/stacks/demo.yaml`
 *
 * Starts the endpoint emulator on 127.0.0.1. The first stdout line is
 * `emulator listening on http://127.0.0.1:PORT` (scripts read the port from
 * it), then the handle URLs, then one line per request unless --quiet.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type FaultConfig, FaultConfigError, parseFaultFlag } from './faults';
import { MetricPolicyError, parseMetricRateFlag, validateMetricValidation } from './metric-policy';
import { startEmulator } from './server';
import type { RequestLogEntry } from './state-view';
import { StackFileError } from './stackfile';
import type { Ec2Spec } from './stackfile-ec2';

const USAGE = `usage: emulator [--port N] [--stack FILE]... [--files DIR]... [--fault SPEC]... [--signal-url URL]
                [--metric-rate R[/B]] [--metric-validation aws|heat]
                [--ec2] [--imds-port N] [--imds-tokens optional|required] [--quiet]

  --port N          port on 127.0.0.1 (default 8000, Heat's; 0 picks a free one)
  --stack FILE      stack file, JSON or YAML (repeatable; default test/emulator/stacks/demo.yaml)
  --files DIR       directory served under /files/ (repeatable)
  --fault SPEC      start-time fault (repeatable):
                      latency=MS  skew=SECONDS  seed=N
                      error=STATUS:RATE  throttle=RATE  throttle429=RATE  reset=RATE  truncate=RATE
                      next=N:WHAT (WHAT: 503, throttle, throttle429, reset, truncate)
                    RATE is 0..1 or a percentage; append @Action or @/path/prefix to limit it
  --signal-url URL  base of the wait-condition URLs (Heat's heat_waitcondition_server_url)
  --metric-rate R[/B]
                    PutMetricData per access key: R requests/s sustained, bursts of B
                    (default R rounded up); over it, CloudWatch's Throttling (default unlimited)
  --metric-validation aws|heat
                    PutMetricData checks: heat (default) takes what Heat took, aws
                    enforces CloudWatch's limits (units, values, dimensions, sizes)
  --ec2             EC2 mode (also a stack file's ec2: section): an instance metadata
                    service, AWS's answers and instance identity (CFN_V1) callers
  --imds-port N     EC2 mode: the metadata service's port (default 0, a free one; implies --ec2)
  --imds-tokens optional|required
                    EC2 mode: whether GETs need an IMDSv2 token (implies --ec2)
  --quiet           no per-request lines`;

class UsageError extends Error {}

/** The repository root, from dist/test/emulator/ or test/emulator/. */
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const DEMO_STACK = path.join(ROOT, 'test', 'emulator', 'stacks', 'demo.yaml');

function requestLine(e: RequestLogEntry): string {
  const auth = e.verified ? ` [${e.signature}${e.instanceId ? ` ${e.instanceId}` : ''} ${e.verified}]` : '';
  return `${e.time} ${e.service === 'imds' ? 'IMDS ' : ''}${e.method} ${e.path} -> ${e.status}${e.action ? ` ${e.action}` : ''}${auth}${e.fault ? ` (fault: ${e.fault})` : ''}`;
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        stack: { type: 'string', multiple: true },
        files: { type: 'string', multiple: true },
        fault: { type: 'string', multiple: true },
        'signal-url': { type: 'string' },
        'metric-rate': { type: 'string' },
        'metric-validation': { type: 'string' },
        ec2: { type: 'boolean' },
        'imds-port': { type: 'string' },
        'imds-tokens': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const port = v.port === undefined ? 8000 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${v.port}: not a port number`);
  let faults: FaultConfig = {};
  for (const f of v.fault ?? []) faults = parseFaultFlag(f, faults);
  const metricRate = v['metric-rate'] === undefined ? null : parseMetricRateFlag(v['metric-rate']);
  const metricValidation = v['metric-validation'] === undefined ? undefined : validateMetricValidation(v['metric-validation'], '--metric-validation');
  const imdsPort = v['imds-port'] === undefined ? undefined : Number(v['imds-port']);
  if (imdsPort !== undefined && (!Number.isInteger(imdsPort) || imdsPort < 0 || imdsPort > 65535)) throw new UsageError(`--imds-port ${v['imds-port']}: not a port number`);
  const tokens = v['imds-tokens'];
  if (tokens !== undefined && tokens !== 'optional' && tokens !== 'required') throw new UsageError(`--imds-tokens ${tokens}: expected optional or required`);
  // Either IMDS flag means EC2 mode, as --ec2 does; without them a stack file's ec2: section decides.
  const ec2: Ec2Spec | undefined = v.ec2 || tokens !== undefined || imdsPort !== undefined ? (tokens === undefined ? {} : { imdsTokens: tokens }) : undefined;

  const emu = await startEmulator({
    port,
    stacks: v.stack?.length ? v.stack : [DEMO_STACK],
    fileDirs: v.files,
    faults,
    signalBaseUrl: v['signal-url'],
    metricRate,
    metricValidation,
    ec2,
    imdsPort,
    onRequest: v.quiet ? undefined : (e) => console.log(requestLine(e)),
  });
  console.log(`emulator listening on ${emu.url}`);
  console.log(`  API (cfn-metadata-server): ${emu.apiUrl}   status page: ${emu.url}/   state: ${emu.url}/_emulator/state`);
  if (emu.imdsUrl) {
    const e = emu.ec2();
    console.log(`  EC2 mode: account ${e.accountId}, region ${e.region}; instance metadata service (AWS_EC2_METADATA_SERVICE_ENDPOINT): ${emu.imdsUrl}`);
    console.log(`    it plays ${e.instanceId} (${e.instanceStack ? `member of stack ${e.instanceStack}` : 'member of no stack'}); IMDSv2 tokens ${e.imdsTokens}${e.role ? `; role ${e.role.name}` : ''}`);
  }
  for (const s of emu.model.stacks.values()) {
    for (const r of s.resources.values()) {
      if (!r.handleKeys) continue;
      console.log(`  wait-condition handle ${s.stackName}/${r.name} (valid 15 minutes; fresh ones on the status page):`);
      console.log(`    ${emu.signalUrls(s.stackName, r.name).sigv2}`);
    }
  }
  const stop = () => {
    emu.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`emulator: stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`emulator: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`emulator: ${(err as Error).message}: another process listens on that port; try --port 0`);
      process.exit(1);
    }
    if (err instanceof StackFileError || err instanceof FaultConfigError || err instanceof MetricPolicyError) {
      console.error(`emulator: ${err.message}`);
      process.exit(1);
    }
    console.error(`emulator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  });
}
