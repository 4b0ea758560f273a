/**
 * OS::Heat::SoftwareDeployment transports on one stack: DeployedServers,
 * each with its `software_config_transport`, and deployments of one
 * `script` config onto them, each with its `signal_transport` (all 20
 * pairs: `allPairs`). The script appends what it was given to its server's
 * marker file (proof that it ran, the only one for NO_SIGNAL, and of the
 * order deployments ran in) and outputs its `pair` input.
 *
 * An instance booted from Heat's data: Heat's cloud-init part handler
 * writes the server's metadata as it was when the server was created
 * (`deployments: []` and the `os-collect-config` block naming the collector
 * and its keys) to /var/lib/heat-cfntools/cfn-init-data; `BootBox` writes
 * the same file in its own CFNTOOLS_HEAT_DIR and runs the agent with no
 * conf file there.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';
import { serverMetadataViaHeatApi, softwareDeployment, type ServerMetadata, type SoftwareDeploymentInfo } from './deployments';
import { FatalPollError, assertLoopback, pollUntil, type RealHeat, type ResourceInfo, type StackRef } from './rig';

export const CONFIG_TRANSPORTS = ['POLL_SERVER_CFN', 'POLL_SERVER_HEAT', 'POLL_TEMP_URL', 'ZAQAR_MESSAGE'] as const;
export const SIGNAL_TRANSPORTS = ['CFN_SIGNAL', 'TEMP_URL_SIGNAL', 'HEAT_SIGNAL', 'ZAQAR_SIGNAL', 'NO_SIGNAL'] as const;
export type ConfigTransport = (typeof CONFIG_TRANSPORTS)[number];
export type SignalTransport = (typeof SIGNAL_TRANSPORTS)[number];

/** The os-collect-config collector Heat names for each metadata transport. */
export const COLLECTOR: Record<ConfigTransport, string> = {
  POLL_SERVER_CFN: 'cfn',
  POLL_SERVER_HEAT: 'heat',
  POLL_TEMP_URL: 'request',
  ZAQAR_MESSAGE: 'zaqar',
};

export interface Pair {
  config: ConfigTransport;
  signal: SignalTransport;
  /** `POLL_SERVER_CFN/CFN_SIGNAL`: the script's `pair` input and the start of its output. */
  label: string;
  /** Resource names (letters, digits, underscores). */
  server: string;
  deployment: string;
}

const short = (t: string) => t.toLowerCase().replace(/^poll_server_|^poll_|_message$|_signal$/g, '');

export function pairOf(config: ConfigTransport, signal: SignalTransport): Pair {
  const key = `${short(config)}_${short(signal)}`;
  return { config, signal, label: `${config}/${signal}`, server: `server_${key}`, deployment: `deploy_${key}` };
}

/** The 20 pairs, metadata transport first. */
export function allPairs(): Pair[] {
  return CONFIG_TRANSPORTS.flatMap((c) => SIGNAL_TRANSPORTS.map((s) => pairOf(c, s)));
}

/** What the script writes to `heat_outputs_path.result`: its `pair` input and "done". */
export const expectedResult = (label: string) => `${label} done`;

/** One deployment of the script: its resource, signal transport, `pair` input and (optional) `name` property (Heat sorts a server's deployments by name). */
export interface DeploymentSpec {
  resource: string;
  signal: SignalTransport;
  label: string;
  name?: string;
}

/** A server, its metadata transport, the marker file its scripts append to, and its deployments. */
export interface ServerSpec {
  server: string;
  transport: ConfigTransport;
  marker: string;
  deployments: DeploymentSpec[];
}

/** The server of one pair: one deployment, its marker under `markerDir`. */
export function pairServer(p: Pair, markerDir: string): ServerSpec {
  return { server: p.server, transport: p.config, marker: path.join(markerDir, `${p.server}.ran`), deployments: [{ resource: p.deployment, signal: p.signal, label: p.label }] };
}

/** A line the script appends to its server's marker: what it was given. */
export interface MarkerLine {
  pair: string;
  resource: string;
  signal: string;
  action: string;
  serverId: string;
}

/** The marker's lines in the order the scripts ran, or undefined when none ran. */
export function readMarker(file: string): MarkerLine[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pair, resource, signal, action, serverId] = line.split('|');
      return { pair, resource, signal, action, serverId };
    });
}

/**
 * The template (JSON HOT): one script config, then each server and its
 * deployments. The config's inputs are `pair` and the `marker` file; Heat
 * adds the deploy_* inputs, of which the script records some.
 */
export function deploymentTemplate(servers: ServerSpec[], description: string): string {
  const resources: Record<string, unknown> = {
    config: {
      type: 'OS::Heat::SoftwareConfig',
      properties: {
        group: 'script',
        inputs: [{ name: 'pair' }, { name: 'marker' }],
        outputs: [{ name: 'result' }],
        config: [
          '#!/bin/sh',
          'set -e',
          'printf \'%s|%s|%s|%s|%s\\n\' "$pair" "$deploy_resource_name" "$deploy_signal_transport" "$deploy_action" "$deploy_server_id" >> "$marker"',
          'printf \'%s done\' "$pair" > "$heat_outputs_path.result"',
          'echo "ran $pair"',
          '',
        ].join('\n'),
      },
    },
  };
  for (const s of servers) {
    resources[s.server] = { type: 'OS::Heat::DeployedServer', properties: { software_config_transport: s.transport } };
    for (const d of s.deployments) {
      resources[d.resource] = {
        type: 'OS::Heat::SoftwareDeployment',
        properties: {
          config: { get_resource: 'config' },
          server: { get_resource: s.server },
          signal_transport: d.signal,
          actions: ['CREATE'],
          input_values: { pair: d.label, marker: s.marker },
          ...(d.name ? { name: d.name } : {}),
        },
      };
    }
  }
  return JSON.stringify({ heat_template_version: '2018-08-31', description, resources });
}

// ---------------------------------------------------------------- Heat's side

/** The physical ids of the stack's resources by name, once every server and deployment exists. */
export async function physicalIds(rig: RealHeat, ref: StackRef, servers: ServerSpec[], timeoutMs = 5 * 60_000): Promise<Map<string, string>> {
  const wanted = servers.flatMap((s) => [s.server, ...s.deployments.map((d) => d.resource)]);
  return pollUntil(`the servers and deployments of ${ref.name} to exist`, timeoutMs, async () => {
    const list: ResourceInfo[] = await rig.heat.resources(ref);
    const failed = list.find((r) => r.resource_status.endsWith('_FAILED'));
    if (failed) throw new FatalPollError(`stack ${ref.name}: ${failed.resource_name} is ${failed.resource_status}: ${failed.resource_status_reason ?? ''}`);
    const ids = new Map(list.filter((r) => r.physical_resource_id).map((r) => [r.resource_name, r.physical_resource_id as string]));
    return wanted.every((n) => ids.has(n)) ? ids : undefined;
  }, 1000);
}

/**
 * The server's metadata as Heat wrote it into cfn-init-data when it created
 * the server: its `os-collect-config` block (once it names the pair's
 * collector) and no deployments yet.
 */
export async function bootData(rig: RealHeat, ref: StackRef, s: ServerSpec): Promise<ServerMetadata> {
  const collector = COLLECTOR[s.transport];
  const metadata = await pollUntil(`the ${collector} collector block of ${s.server}`, 2 * 60_000, async () => {
    const m = await serverMetadataViaHeatApi(rig, ref, s.server).catch(() => undefined);
    return m?.['os-collect-config']?.[collector] ? m : undefined;
  });
  for (const v of Object.values(metadata['os-collect-config'][collector] as Record<string, unknown>)) {
    if (typeof v === 'string' && /^https?:/.test(v)) assertLoopback(v);
  }
  return { ...metadata, deployments: [] };
}

// ---------------------------------------------------------------- the instance

/** One instance's files: Heat's boot data in its own CFNTOOLS_HEAT_DIR, the agent's state beside. */
export class BootBox {
  readonly dir: string;
  readonly heatDir: string;

  constructor(label: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `cfntools-${label}-`));
    this.heatDir = path.join(this.dir, 'heat-cfntools');
    fs.mkdirSync(this.heatDir, { mode: 0o700 });
  }

  /** cfn-init-data, as Heat's part handler writes it (it carries keys: 0600). */
  writeBootData(metadata: ServerMetadata): void {
    fs.writeFileSync(path.join(this.heatDir, 'cfn-init-data'), JSON.stringify(metadata), { mode: 0o600 });
  }

  get logFile(): string {
    return path.join(this.dir, 'heat-agent.log');
  }

  /** Every place heat-agent reads or writes, moved into the box; no conf file where it would look for one. */
  env(): NodeJS.ProcessEnv {
    return toolEnv({
      CFNTOOLS_HEAT_DIR: this.heatDir,
      CFNTOOLS_OCC_CONFIG: path.join(this.dir, 'os-collect-config.conf'),
      CFNTOOLS_HEAT_AGENT_DIR: path.join(this.dir, 'heat-agent'),
      CFNTOOLS_HEAT_CONFIG_DIR: path.join(this.dir, 'heat-config'),
      CFNTOOLS_STATE_DIR: path.join(this.dir, 'cfn-init'),
      CFNTOOLS_CACHE_DIR: path.join(this.dir, 'cache'),
    });
  }

  /** `heat-agent --one-time`, as a user would start it on such an image (no --config), killed after `timeoutMs`. */
  runHeatAgent(timeoutMs: number): Promise<RunResult> {
    return runProcess([process.execPath, BUNDLE, 'heat-agent', '--one-time', '-v', '--log-file', this.logFile, '--hooks-dir', path.join(this.dir, 'hooks')], {
      env: this.env(),
      timeoutMs,
    });
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ServerOutcome {
  /** Each deployment as Heat has it after the runs, by resource name. */
  deployments: Map<string, SoftwareDeploymentInfo>;
  /** What the scripts recorded, in the order they ran; undefined when none ran. */
  marker?: MarkerLine[];
  runs: number;
  last: RunResult;
  ms: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `heat-agent --one-time` again and again until the server's deployments
 * settle (each leaves IN_PROGRESS; for NO_SIGNAL, which Heat completes by
 * itself, until its script has run), at most `maxRuns` runs within
 * `boundMs`. ZAQAR_MESSAGE needs two at least: Heat's first message carries
 * no deployment.
 */
export async function runUntilSettled(
  rig: RealHeat,
  box: BootBox,
  server: ServerSpec,
  ids: Map<string, string>,
  opts: { boundMs: number; maxRuns: number; pauseMs: number },
): Promise<ServerOutcome> {
  const t0 = performance.now();
  const fetchAll = async () => new Map(await Promise.all(server.deployments.map(async (d) => [d.resource, await softwareDeployment(rig, ids.get(d.resource)!)] as const)));
  const settled = (deployments: Map<string, SoftwareDeploymentInfo>) => {
    const ran = new Set((readMarker(server.marker) ?? []).map((l) => l.resource));
    return server.deployments.every((d) => (d.signal === 'NO_SIGNAL' ? ran.has(d.resource) : deployments.get(d.resource)!.status !== 'IN_PROGRESS'));
  };
  let runs = 0;
  let last: RunResult = { status: null, stdout: '', stderr: '' };
  let deployments: Map<string, SoftwareDeploymentInfo>;
  for (;;) {
    const left = opts.boundMs - (performance.now() - t0);
    last = await box.runHeatAgent(Math.max(5_000, Math.round(left)));
    runs++;
    deployments = await fetchAll();
    if (settled(deployments) || runs >= opts.maxRuns || performance.now() - t0 + opts.pauseMs >= opts.boundMs) break;
    await sleep(opts.pauseMs);
  }
  if ([...deployments.values()].some((d) => d.status === 'IN_PROGRESS')) {
    // A signal that arrived just now is taken within a second or two.
    await sleep(2_000);
    deployments = await fetchAll();
  }
  return { deployments, marker: readMarker(server.marker), runs, last, ms: performance.now() - t0 };
}

/** At most `limit` of `tasks` at once; results in the tasks' order. */
export function limited<T>(limit: number, tasks: Array<() => Promise<T>>): Array<Promise<T>> {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= limit) return;
    const go = queue.shift();
    if (go) go();
  };
  return tasks.map(
    (task) =>
      new Promise<T>((resolve, reject) => {
        queue.push(() => {
          active++;
          task()
            .then(resolve, reject)
            .finally(() => {
              active--;
              next();
            });
        });
        next();
      }),
  );
}
