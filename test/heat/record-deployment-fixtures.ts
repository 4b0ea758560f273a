/**
 * Records test/fixtures/heat-deployments/*.json: the server resource's
 * metadata (DescribeStackResource's parsed Metadata, signed with the
 * server's own os-collect-config.cfn keys) for each SoftwareDeployment
 * scenario of templates/heat-agent*.json, against the real Heat rig.
 *
 *   npm run build && node dist/test/heat/record-deployment-fixtures.js [--out DIR] [--with-delete]
 *
 * Starts the rig like the mocha hooks do (or uses CFNTOOLS_REAL_HEAT_ENDPOINTS)
 * and stops what it started. Ports are rewritten to setup.sh's defaults
 * (normaliseFixture). `--with-delete` also records delete-action.json: a
 * deployment with DELETE among its actions, caught while the stack is being
 * deleted; on this rig (no Nova) that stack then stays DELETE_FAILED for
 * good, so it is not recorded by default. Exit 3 when the rig cannot run here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  TEMPLATES,
  createDeploymentStack,
  describeServerMetadata,
  fixtureDir,
  inputValues,
  itemOf,
  normaliseFixture,
  settledStack,
  signalCfn,
  signalDeployment,
  waitForDeployments,
  type DeploymentItem,
  type ServerMetadata,
} from './deployments';
import { pollUntil, realHeat, stopRealHeat, type RealHeat, type StackRef } from './rig';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? path.resolve(args[args.indexOf('--out') + 1]) : fixtureDir();
const withDelete = args.includes('--with-delete');

function write(rig: RealHeat, name: string, metadata: ServerMetadata): void {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, name), `${JSON.stringify(normaliseFixture(metadata, rig), null, 2)}\n`);
  console.log(`recorded ${path.join(outDir, name)} (${metadata.deployments.length} deployment(s))`);
}

const ok = (item: DeploymentItem, extra: Record<string, unknown> = {}) => ({
  deploy_stdout: `ran ${item.name}\n`,
  deploy_stderr: '',
  deploy_status_code: 0,
  ...extra,
});

async function expectStatus(rig: RealHeat, ref: StackRef, status: string): Promise<void> {
  const s = await settledStack(rig, ref);
  if (s.stack_status !== status) throw new Error(`stack ${ref.name}: ${s.stack_status} (${s.stack_status_reason ?? ''}), expected ${status}`);
}

async function checked(what: string, p: Promise<{ status: number; body: string }>): Promise<void> {
  const r = await p;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
}

async function cfnSignalAndUpdate(rig: RealHeat): Promise<void> {
  const ref = await createDeploymentStack(rig, 'rec-cfn', TEMPLATES.single);
  try {
    const { metadata } = await waitForDeployments(rig, ref);
    write(rig, 'cfn-signal.json', metadata);
    const item = metadata.deployments[0];
    await checked('CFN signal', signalCfn(item, ok(item, { result: 'hello, world' })));
    await expectStatus(rig, ref, 'CREATE_COMPLETE');

    await rig.heat.updateStack(ref, { parameters: { greeting: 'bonjour' } });
    const updated = await waitForDeployments(rig, ref, { until: (m) => inputValues(m.deployments[0]).greeting === 'bonjour' });
    write(rig, 'cfn-signal-updated.json', updated.metadata);
    const item2 = updated.metadata.deployments[0];
    await checked('CFN signal (update)', signalCfn(item2, ok(item2, { result: 'bonjour, world' })));
    await expectStatus(rig, ref, 'UPDATE_COMPLETE');
  } finally {
    await rig.heat.deleteStack(ref);
  }
}

async function oneTransport(rig: RealHeat, transport: 'HEAT_SIGNAL' | 'NO_SIGNAL', file: string): Promise<void> {
  const ref = await createDeploymentStack(rig, `rec-${transport.toLowerCase().replace('_', '-')}`, TEMPLATES.single, { signal_transport: transport });
  try {
    const { metadata } = await waitForDeployments(rig, ref);
    write(rig, file, metadata);
    const item = metadata.deployments[0];
    if (transport === 'HEAT_SIGNAL') await checked('HEAT signal', signalDeployment(item, ok(item, { result: 'hello, world' })));
    await expectStatus(rig, ref, 'CREATE_COMPLETE');
  } finally {
    await rig.heat.deleteStack(ref);
  }
}

async function cfnInit(rig: RealHeat): Promise<void> {
  const ref = await createDeploymentStack(rig, 'rec-cfninit', TEMPLATES.cfnInit);
  try {
    const { metadata } = await waitForDeployments(rig, ref, { count: 2 });
    write(rig, 'cfn-init.json', metadata);
    for (const item of metadata.deployments) await checked(`CFN signal ${item.name}`, signalCfn(item, ok(item)));
    await expectStatus(rig, ref, 'CREATE_COMPLETE');
  } finally {
    await rig.heat.deleteStack(ref);
  }
}

async function twoDeployments(rig: RealHeat): Promise<void> {
  const ref = await createDeploymentStack(rig, 'rec-two', TEMPLATES.two);
  try {
    const first = await waitForDeployments(rig, ref);
    const a = itemOf(first.metadata, 'deploy_a');
    if (!a) throw new Error('deploy_a is not the first deployment in the metadata');
    await checked('CFN signal deploy_a', signalCfn(a, ok(a, { result: 'a: hello' })));
    const both = await waitForDeployments(rig, ref, { count: 2 });
    write(rig, 'two-deployments.json', both.metadata);
    const b = itemOf(both.metadata, 'deploy_b');
    if (!b) throw new Error('no deploy_b in the metadata');
    await checked('CFN signal deploy_b', signalCfn(b, ok(b, { result: 'b: hello' })));
    await expectStatus(rig, ref, 'CREATE_COMPLETE');
  } finally {
    await rig.heat.deleteStack(ref);
  }
}

/** Leaves a DELETE_FAILED stack behind (Heat asks Nova whether the server exists; the rig has no Nova). */
async function deleteAction(rig: RealHeat): Promise<void> {
  const ref = await createDeploymentStack(rig, 'rec-delete', TEMPLATES.single, { deploy_actions: 'CREATE,UPDATE,DELETE' });
  const { metadata, cfn } = await waitForDeployments(rig, ref);
  const item = metadata.deployments[0];
  await checked('CFN signal', signalCfn(item, ok(item, { result: 'hello, world' })));
  await expectStatus(rig, ref, 'CREATE_COMPLETE');
  await rig.heat.call('DELETE', `/stacks/${ref.name}/${ref.id}`);
  // The DELETE item is there only until Heat fails the deployment's delete; poll closely.
  const deleting = await pollUntil('a DELETE deployment item', 60_000, async () => {
    const m = await describeServerMetadata(cfn);
    return m.deployments.some((d) => inputValues(d).deploy_action === 'DELETE') ? m : undefined;
  }, 100);
  write(rig, 'delete-action.json', deleting);
  const s = await settledStack(rig, ref);
  console.log(`stack ${ref.name} (left behind): ${s.stack_status}: ${s.stack_status_reason ?? ''}`);
}

async function main(): Promise<number> {
  const outcome = await realHeat();
  if (outcome.kind === 'skip') {
    console.error(`real Heat cannot run here: ${outcome.reason}`);
    return 3;
  }
  const rig = outcome.rig;
  try {
    await cfnSignalAndUpdate(rig);
    await oneTransport(rig, 'HEAT_SIGNAL', 'heat-signal.json');
    await oneTransport(rig, 'NO_SIGNAL', 'no-signal.json');
    await cfnInit(rig);
    await twoDeployments(rig);
    if (withDelete) await deleteAction(rig);
    return 0;
  } finally {
    await stopRealHeat();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
