/**
 * heat-agent through all 20 pairs of software_config_transport x
 * signal_transport on the real Heat with Swift and Zaqar beside it: one
 * stack with a DeployedServer and a script deployment per pair, each
 * instance booted from Heat's own data (cfn-init-data, no conf file), the
 * agent run with --one-time until its deployment settles (bounded), then
 * the deployment must be COMPLETE with the script's output, and for
 * NO_SIGNAL the script must have run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { preventPropertiesDataIdReuse } from './deployments';
import { useExtras, type RealHeatExtras } from './extras';
import { noteFailure, STACK_HOOK_TIMEOUT_MS, tail, uniqueStackName, type StackRef } from './rig';
import { allPairs, BootBox, bootData, deploymentTemplate, expectedResult, limited, pairServer, physicalIds, runUntilSettled, type Pair, type ServerOutcome, type ServerSpec } from './transport-matrix';

const MINUTE = 60_000;
/** Per pair: heat-agent runs until settled, at most this long and this many times. */
const PAIR_BOUND = { boundMs: 75_000, maxRuns: 6, pauseMs: 2_000 };
/** Agents at once (2 cores; keystone and Zaqar serve one request at a time). */
const CONCURRENCY = 5;

describe('heat-agent on every transport pair, booted from Heat\'s data (real Heat with Swift and Zaqar)', function () {
  this.timeout(10 * MINUTE);
  const pairs = allPairs();
  let extras: RealHeatExtras | undefined;
  let ref: StackRef | undefined;
  let markerDir: string | undefined;
  let servers: ServerSpec[] = [];
  const boxes = new Map<string, BootBox>();
  const outcomes = new Map<string, Promise<ServerOutcome>>();

  before(async function () {
    extras = await useExtras(this);
    this.timeout(10 * MINUTE);
    const { rig } = extras;
    markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-matrix-markers-'));
    preventPropertiesDataIdReuse(rig);
    const t0 = performance.now();
    servers = pairs.map((p) => pairServer(p, markerDir!));
    const description = 'cfntools transport matrix: an OS::Heat::DeployedServer and a script deployment per pair of software_config_transport and signal_transport';
    ref = await rig.heat.createStack(uniqueStackName('matrix'), deploymentTemplate(servers, description));
    const ids = await physicalIds(rig, ref, servers);
    const tIds = performance.now();
    for (const [i, p] of pairs.entries()) {
      const box = new BootBox(p.server);
      boxes.set(p.label, box);
      box.writeBootData(await bootData(rig, ref, servers[i]));
    }
    console.log(`      matrix: ${pairs.length} servers and deployments created in ${((tIds - t0) / 1000).toFixed(1)} s; boot data read in ${((performance.now() - tIds) / 1000).toFixed(1)} s`);
    const tasks = pairs.map((p, i) => () => runUntilSettled(rig, boxes.get(p.label)!, servers[i], ids, PAIR_BOUND));
    limited(CONCURRENCY, tasks).forEach((outcome, i) => {
      // Each test awaits its own; a rejection is reported there, not as an unhandled one.
      outcome.catch(() => undefined);
      outcomes.set(pairs[i].label, outcome);
    });
  });

  after(async function () {
    this.timeout(STACK_HOOK_TIMEOUT_MS);
    await Promise.allSettled(outcomes.values());
    for (const box of boxes.values()) box.close();
    if (markerDir) fs.rmSync(markerDir, { recursive: true, force: true });
    if (extras && ref) {
      const t0 = performance.now();
      try {
        await extras.rig.heat.deleteStack(ref);
        console.log(`      matrix: stack deleted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        noteFailure();
        throw err;
      }
    }
  });

  const evidence = (p: Pair, o: ServerOutcome) =>
    `\n  ${o.runs} run(s) of heat-agent --one-time in ${(o.ms / 1000).toFixed(1)} s, last exit ${o.last.status}` +
    `\n  deployment: ${o.deployments.get(p.deployment)!.status} ${o.deployments.get(p.deployment)!.status_reason ?? ''}` +
    `\n  stderr: ${tail(o.last.stderr, 4)}\n  log: ${tail(boxes.get(p.label)!.log(), 6)}`;

  for (const p of pairs) {
    it(`${p.label}: the deployment completes with the script's output${p.signal === 'NO_SIGNAL' ? ' (NO_SIGNAL: the script ran)' : ''}`, async () => {
      const o = await outcomes.get(p.label)!;
      const d = o.deployments.get(p.deployment)!;
      assert.deepEqual(
        o.marker?.map((l) => [l.pair, l.resource, l.signal, l.action, l.serverId]),
        [[p.label, p.deployment, p.signal, 'CREATE', d.server_id]],
        `the script did not run once for ${p.label} with its inputs${evidence(p, o)}`,
      );
      assert.equal(d.status, 'COMPLETE', `${p.label}${evidence(p, o)}`);
      if (p.signal !== 'NO_SIGNAL') {
        assert.equal(d.output_values?.result, expectedResult(p.label), `${p.label}${evidence(p, o)}`);
        assert.equal(Number(d.output_values?.deploy_status_code), 0, `${p.label}${evidence(p, o)}`);
      }
    });
  }
});
