/**
 * os-collect-config 12 (Debian) as heat-agent's differential peer on the
 * real Heat with Swift and Zaqar, one case per metadata transport (with
 * the signal transport that goes with it): two DeployedServers with the
 * same two script deployments each (named so that Heat's order, by name,
 * is not the order they appear in the template), one server read by
 * os-collect-config, the other by heat-agent (a Zaqar queue is consumed by
 * its reader, so the two cannot share a server). Then:
 *   - what os-collect-config hands to os-refresh-config is exactly what
 *     Heat holds for its server (ids, inputs, Heat's order), and the same
 *     deployments, configs and inputs as Heat holds for heat-agent's server
 *     but for what is per server (ids, credentials);
 *   - heat-agent, booted from Heat's data, runs those deployments in that
 *     order with those inputs, and Heat completes them with the script's
 *     outputs.
 * Nothing deploys on the peer's side: heat-agents (heat-config and its
 * hooks) is not in Debian (os-collect-config.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { skipUnless } from '../support/skip';
import { inputValues, preventPropertiesDataIdReuse, serverMetadataViaHeatApi, type DeploymentItem } from './deployments';
import { useExtras, type RealHeatExtras, extrasScript } from './extras';
import { PeerBox, peerMissing, type HandedOver } from './os-collect-config';
import { noteFailure, rigStartedHere, STACK_HOOK_TIMEOUT_MS, tail, uniqueStackName, type StackRef } from './rig';
import {
  BootBox,
  bootData,
  COLLECTOR,
  CONFIG_TRANSPORTS,
  deploymentTemplate,
  expectedResult,
  limited,
  physicalIds,
  runUntilSettled,
  type ConfigTransport,
  type ServerOutcome,
  type ServerSpec,
  type SignalTransport,
} from './transport-matrix';

const MINUTE = 60_000;
const BOUND = { boundMs: 75_000, maxRuns: 8, pauseMs: 2_000 };

/** The signal transport each metadata transport is usually paired with. */
const SIGNAL_OF: Record<ConfigTransport, SignalTransport> = {
  POLL_SERVER_CFN: 'CFN_SIGNAL',
  POLL_SERVER_HEAT: 'HEAT_SIGNAL',
  POLL_TEMP_URL: 'TEMP_URL_SIGNAL',
  ZAQAR_MESSAGE: 'ZAQAR_SIGNAL',
};

type Reader = 'occ' | 'agent';

function serverSpec(t: ConfigTransport, reader: Reader, markerDir: string): ServerSpec {
  const key = `${COLLECTOR[t]}_${reader}`;
  // Template order late-then-early; Heat lists by name: 10_early, then 20_late.
  return {
    server: `server_${key}`,
    transport: t,
    marker: path.join(markerDir, `${key}.ran`),
    deployments: [
      { resource: `deploy_${key}_late`, name: '20_late', signal: SIGNAL_OF[t], label: `${t}/late` },
      { resource: `deploy_${key}_early`, name: '10_early', signal: SIGNAL_OF[t], label: `${t}/early` },
    ],
  };
}

/** What does not depend on the server: name, group, config, the inputs' names and the values that are the same for both servers. */
function shared(items: DeploymentItem[]): unknown[] {
  return items.map((d) => {
    const v = inputValues(d);
    return { name: d.name, group: d.group, config: d.config, outputs: d.outputs, inputs: d.inputs.map((i) => i.name), pair: v.pair, signal: v.deploy_signal_transport, action: v.deploy_action };
  });
}

/** `os-collect-config --one-time` until it has handed over the server's `count` deployments (ZAQAR_MESSAGE: one message per run). */
async function runPeer(box: PeerBox, collector: string, count: number): Promise<{ handed?: HandedOver; runs: number; stderr: string }> {
  const t0 = Date.now();
  let runs = 0;
  let stderr = '';
  for (;;) {
    const r = await box.run(Math.max(5_000, BOUND.boundMs - (Date.now() - t0)));
    runs++;
    stderr = r.stderr;
    const handed = box.handed();
    const deployments = (handed?.files[collector] as { deployments?: unknown[] } | undefined)?.deployments;
    if ((Array.isArray(deployments) && deployments.length >= count) || runs >= BOUND.maxRuns || Date.now() - t0 + BOUND.pauseMs >= BOUND.boundMs) return { handed, runs, stderr };
    await new Promise((r) => setTimeout(r, BOUND.pauseMs));
  }
}

describe('os-collect-config 12 beside heat-agent: the same metadata, the same deployments (real Heat with Swift and Zaqar)', function () {
  this.timeout(10 * MINUTE);
  let extras: RealHeatExtras | undefined;
  let ref: StackRef | undefined;
  let markerDir: string | undefined;
  const specs = new Map<string, ServerSpec>();
  const boxes: Array<{ close(): void }> = [];
  const peers = new Map<ConfigTransport, Promise<{ handed?: HandedOver; runs: number; stderr: string; box: PeerBox }>>();
  const agents = new Map<ConfigTransport, Promise<{ outcome: ServerOutcome; box: BootBox }>>();

  before(async function () {
    extras = await useExtras(this);
    this.timeout(10 * MINUTE);
    const here = rigStartedHere();
    if (here && peerMissing()) {
      // The peers' packages, installed on first use like the rig's (never upgrading systemd).
      const r = spawnSync('bash', [extrasScript(), 'peers'], { env: here.env, encoding: 'utf8', timeout: 10 * MINUTE });
      if (r.status === 3) skipUnless(this, 'os-collect-config differential', `its Debian packages cannot be installed: ${tail(r.stderr, 3)}`);
      else if (r.status !== 0) throw new Error(`extras.sh peers exited ${r.status}: ${tail(r.stderr || r.stdout, 10)}`);
    }
    skipUnless(this, 'os-collect-config differential', peerMissing());
    const { rig } = extras;
    markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-occ-markers-'));
    for (const t of CONFIG_TRANSPORTS) for (const reader of ['occ', 'agent'] as const) specs.set(`${t}/${reader}`, serverSpec(t, reader, markerDir));
    preventPropertiesDataIdReuse(rig);
    const t0 = performance.now();
    ref = await rig.heat.createStack(uniqueStackName('occ'), deploymentTemplate([...specs.values()], 'cfntools: os-collect-config and heat-agent on two servers with the same two script deployments, per metadata transport'));
    const ids = await physicalIds(rig, ref, [...specs.values()]);
    console.log(`      os-collect-config: ${specs.size} servers and ${2 * specs.size} deployments created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const tasks: Array<() => Promise<unknown>> = [];
    for (const t of CONFIG_TRANSPORTS) {
      const occSpec = specs.get(`${t}/occ`)!;
      const agentSpec = specs.get(`${t}/agent`)!;
      const peerBox = new PeerBox(COLLECTOR[t]);
      const agentBox = new BootBox(agentSpec.server);
      boxes.push(peerBox, agentBox);
      peerBox.configure((await bootData(rig, ref, occSpec))['os-collect-config']);
      agentBox.writeBootData(await bootData(rig, ref, agentSpec));
      let peerDone!: (v: { handed?: HandedOver; runs: number; stderr: string; box: PeerBox }) => void;
      let agentDone!: (v: { outcome: ServerOutcome; box: BootBox }) => void;
      const peer = new Promise<{ handed?: HandedOver; runs: number; stderr: string; box: PeerBox }>((r) => (peerDone = r));
      const agent = new Promise<{ outcome: ServerOutcome; box: BootBox }>((r) => (agentDone = r));
      peers.set(t, peer);
      agents.set(t, agent);
      tasks.push(async () => peerDone({ ...(await runPeer(peerBox, COLLECTOR[t], 2)), box: peerBox }));
      tasks.push(async () => agentDone({ outcome: await runUntilSettled(rig, agentBox, agentSpec, ids, BOUND), box: agentBox }));
    }
    // Failures surface in the tests that wait for them.
    for (const p of limited(4, tasks)) p.catch(() => undefined);
  });

  after(async function () {
    this.timeout(STACK_HOOK_TIMEOUT_MS);
    await Promise.allSettled([...peers.values(), ...agents.values()]);
    for (const box of boxes) box.close();
    if (markerDir) fs.rmSync(markerDir, { recursive: true, force: true });
    if (extras && ref) {
      const t0 = performance.now();
      try {
        await extras.rig.heat.deleteStack(ref);
        console.log(`      os-collect-config: stack deleted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        noteFailure();
        throw err;
      }
    }
  });

  for (const t of CONFIG_TRANSPORTS) {
    const collector = COLLECTOR[t];

    it(`${t} (${collector} collector): os-collect-config hands over what Heat holds for its server, in Heat's order`, async () => {
      const { rig } = extras!;
      const p = await peers.get(t)!;
      const why = `\n  ${p.runs} run(s) of os-collect-config --one-time; stderr: ${tail(p.stderr, 4)}\n  log: ${tail(p.box.log(), 6)}`;
      const heatOwn = await serverMetadataViaHeatApi(rig, ref!, specs.get(`${t}/occ`)!.server);
      const handed = p.handed?.files[collector] as { deployments?: DeploymentItem[] } | undefined;
      assert.ok(handed?.deployments, `os-collect-config handed over no ${collector} data${why}`);
      assert.deepEqual(p.handed!.order[0], collector, `the ${collector} collector's file comes first${why}`);
      assert.deepEqual(handed.deployments, heatOwn.deployments, `os-collect-config's ${collector} data is not Heat's metadata of its server${why}`);
      assert.deepEqual(handed.deployments.map((d) => d.name), ['10_early', '20_late']);
      console.log(`        os-collect-config: ${p.runs} run(s)`);
      const heatAgents = await serverMetadataViaHeatApi(rig, ref!, specs.get(`${t}/agent`)!.server);
      assert.deepEqual(shared(handed.deployments), shared(heatAgents.deployments), "the two servers' deployments differ beyond what is per server");
    });

    it(`${t} (${SIGNAL_OF[t]}): heat-agent runs the same deployments in that order with the same inputs; Heat completes them with the script's outputs`, async function () {
      const { rig } = extras!;
      const { outcome: o, box } = await agents.get(t)!;
      const spec = specs.get(`${t}/agent`)!;
      const why = `\n  ${o.runs} run(s) of heat-agent --one-time in ${(o.ms / 1000).toFixed(1)} s, last exit ${o.last.status}; stderr: ${tail(o.last.stderr, 4)}\n  log: ${tail(box.log(), 6)}`;
      const heatOwn = await serverMetadataViaHeatApi(rig, ref!, spec.server);
      const expected = heatOwn.deployments.map((d) => {
        const v = inputValues(d);
        return [v.pair, v.deploy_resource_name, v.deploy_signal_transport, v.deploy_action, v.deploy_server_id];
      });
      assert.deepEqual(o.marker?.map((l) => [l.pair, l.resource, l.signal, l.action, l.serverId]), expected, `heat-agent did not run Heat's deployments in Heat's order with their inputs${why}`);
      for (const d of spec.deployments) {
        const sd = o.deployments.get(d.resource)!;
        assert.equal(sd.status, 'COMPLETE', `${d.resource}: ${sd.status} ${sd.status_reason}${why}`);
        assert.equal(sd.output_values?.result, expectedResult(d.label), why);
      }
    });
  }
});
