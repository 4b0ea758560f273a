/**
 * Runs inside a private network namespace (only `lo`) made by
 * differential.test.ts: starts the emulator on 127.0.0.1:8003, where
 * heat-cfntools' cfn-push-stats posts (its port is hard-wired), runs each
 * command of the plan, and prints the datapoints each run delivered as JSON.
 *
 *   node hct-driver.js PLAN.json
 *
 * Not a test file: mocha runs only *.test.js.
 */
import * as fs from 'node:fs';
import { startEmulator } from '../emulator/server';
import type { Datapoint } from '../emulator/model';
import { runProcess } from '../support/cli';

export interface DriverCase {
  name: string;
  command: string[];
  env: Record<string, string>;
}

export interface DriverPlan {
  accessKey: string;
  secretKey: string;
  cases: DriverCase[];
}

export interface DriverResult {
  name: string;
  status: number | null;
  stdout: string;
  stderr: string;
  requests: number;
  metrics: Datapoint[];
  /** The PutMetricData form bodies, as received. */
  bodies: string[];
}

async function main(): Promise<void> {
  const plan = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as DriverPlan;
  const emulator = await startEmulator({
    port: 8003,
    stacks: [{ name: 'diffstack', resources: { a1: { type: 'AWS::CloudWatch::Alarm', physicalId: 'a1' } }, credentials: [{ accessKey: plan.accessKey, secretKey: plan.secretKey }] }],
  });
  const results: DriverResult[] = [];
  try {
    for (const c of plan.cases) {
      emulator.reset();
      const r = await runProcess(c.command, { env: c.env });
      const puts = emulator.requestLog.filter((e) => e.action === 'PutMetricData' && e.verified === 'ok');
      results.push({ name: c.name, ...r, requests: puts.length, metrics: emulator.state().metrics, bodies: puts.map((e) => e.body ?? '') });
    }
  } finally {
    await emulator.stop();
  }
  process.stdout.write(JSON.stringify(results));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`hct-driver: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
