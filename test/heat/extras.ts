/**
 * Swift and Zaqar beside the real-Heat rig (`test/heat/real-heat/extras.sh`,
 * whose header lists its modes and knobs), so that Heat serves every
 * `software_config_transport` and `signal_transport`. Started only when a
 * suite asks (`useExtras` in its `before` hook), once per test run, and
 * shared by every suite that asks; stopped with the rig (before it: they
 * stand on its keystone), also on an interrupted run.
 *
 * Knobs (environment):
 *   CFNTOOLS_REAL_HEAT_EXTRAS    path of extras.sh; default test/heat/real-heat/extras.sh
 *   SWIFT_PORT, SWIFT_ACCOUNT_PORT, SWIFT_CONTAINER_PORT, SWIFT_OBJECT_PORT,
 *   ZAQAR_PORT                   ports (default: extras.sh's when free, else free ones)
 * With CFNTOOLS_REAL_HEAT_ENDPOINTS (a rig that is already up), the extras
 * must be up too (`BASE=... bash extras.sh start`): nothing is started.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  START_TIMEOUT_MS,
  addRigCompanion,
  assertLoopback,
  choosePorts,
  parseEndpointsEnv,
  realHeat,
  repoRoot,
  rigStartedHere,
  runScript,
  skip,
  tail,
  type RealHeat,
  type RealHeatEnv,
} from './rig';

export interface RealHeatExtras {
  rig: RealHeat;
  /** endpoints.env with the extras block (REAL_HEAT_SWIFT_*, REAL_HEAT_ZAQAR_*). */
  env: RealHeatEnv;
  /** Swift's proxy, `http://127.0.0.1:PORT`. */
  swiftRoot: string;
  /** Zaqar, `http://127.0.0.1:PORT` (add `/v2` or `/v1.1`). */
  zaqarUrl: string;
}

type Outcome = { kind: 'up'; extras: RealHeatExtras } | { kind: 'skip'; reason: string };

const DEFAULT_PORTS = { SWIFT_PORT: 28080, SWIFT_ACCOUNT_PORT: 26012, SWIFT_CONTAINER_PORT: 26011, SWIFT_OBJECT_PORT: 26010, ZAQAR_PORT: 28888 } as const;

export function extrasScript(): string {
  return process.env.CFNTOOLS_REAL_HEAT_EXTRAS || path.resolve(repoRoot(), 'test', 'heat', 'real-heat', 'extras.sh');
}

const EXTRAS_TESTS = 'the real-Heat tests that need Swift and Zaqar';

let started: Promise<Outcome> | undefined;

/** Start the extras once per process (the rig first); later calls share the first call's outcome. */
export function startExtras(): Promise<Outcome> {
  started ??= start();
  return started;
}

/**
 * For a suite's `before` hook: the rig with Swift and Zaqar, or `this.skip()`
 * with the reason when the rig or the extras' Debian packages cannot be
 * installed here.
 */
export async function useExtras(ctx: Mocha.Context): Promise<RealHeatExtras> {
  ctx.timeout(START_TIMEOUT_MS);
  const outcome = await startExtras();
  if (outcome.kind === 'skip') ctx.skip();
  return (outcome as { kind: 'up'; extras: RealHeatExtras }).extras;
}

function extrasFrom(rig: RealHeat, env: RealHeatEnv): RealHeatExtras {
  for (const key of ['REAL_HEAT_SWIFT_ROOT', 'REAL_HEAT_ZAQAR_URL']) {
    if (!env[key]) throw new Error(`real-heat extras: endpoints.env has no ${key}`);
    assertLoopback(env[key]);
  }
  return { rig, env, swiftRoot: env.REAL_HEAT_SWIFT_ROOT, zaqarUrl: env.REAL_HEAT_ZAQAR_URL };
}

async function start(): Promise<Outcome> {
  const rigOutcome = await realHeat();
  if (rigOutcome.kind === 'skip') return rigOutcome;
  const rig = rigOutcome.rig;
  const here = rigStartedHere();
  if (!here) {
    const endpoints = path.join(rig.base, 'endpoints.env');
    const env = fs.existsSync(endpoints) ? parseEndpointsEnv(fs.readFileSync(endpoints, 'utf8')) : rig.env;
    if (!env.REAL_HEAT_SWIFT_ROOT) return skip(`the rig given by CFNTOOLS_REAL_HEAT_ENDPOINTS has no Swift and Zaqar: start them with BASE=${rig.base} bash ${extrasScript()} start`, EXTRAS_TESTS);
    return { kind: 'up', extras: extrasFrom(rig, env) };
  }
  const script = extrasScript();
  if (!fs.existsSync(script)) return skip(`the extras script is not at ${script} (set CFNTOOLS_REAL_HEAT_EXTRAS)`, EXTRAS_TESTS);

  const logFile = path.join(here.base, 'extras-start.log');
  const t0 = performance.now();
  console.log(`      real Heat extras: starting Swift and Zaqar with ${script}; the first run on a machine installs Debian packages`);
  for (let attempt = 1; ; attempt++) {
    const env = { ...here.env, ...(await choosePorts(DEFAULT_PORTS, attempt > 1)) };
    stopWithRig(script, env);
    const { code, stderr } = await runScript(script, 'start', env, logFile);
    if (code === 0) break;
    const output = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : stderr;
    if (code === 3) {
      const said = stderr.split('\n').filter((l) => l.startsWith('real-heat extras:')).map((l) => l.replace(/^real-heat extras:\s*/, ''));
      return skip(`the Debian packages for Swift and Zaqar cannot be installed here (extras.sh exit 3): ${said.join('; ') || tail(stderr || output, 5) || 'no reason given'}`, EXTRAS_TESTS);
    }
    // 2 = a port got taken between our check and extras.sh's: retry on other ports.
    if (code === 2 && /port .* in use/i.test(stderr) && attempt < 3) continue;
    throw new Error(`Swift and Zaqar did not start: ${script} start exited ${code}; logs in ${path.join(here.base, 'extras', 'logs')} and ${logFile}\n${tail(output, 25)}`);
  }
  const merged = parseEndpointsEnv(fs.readFileSync(path.join(here.base, 'endpoints.env'), 'utf8'));
  const extras = extrasFrom(rig, merged);
  rig.heat.renewToken();
  console.log(`      real Heat extras: up after ${((performance.now() - t0) / 1000).toFixed(1)} s (swift ${merged.REAL_HEAT_SWIFT_VERSION} at ${extras.swiftRoot}, zaqar ${merged.REAL_HEAT_ZAQAR_VERSION} at ${extras.zaqarUrl})`);
  return { kind: 'up', extras };
}

let startedWith: { script: string; env: NodeJS.ProcessEnv } | undefined;

/** From the first start on, the rig's stop runs `extras.sh stop` first (it checks PIDs against its own command lines). */
function stopWithRig(script: string, env: NodeJS.ProcessEnv): void {
  if (!startedWith) {
    addRigCompanion({
      async stop() {
        const w = startedWith!;
        const base = String(w.env.BASE);
        const { code, stderr } = await runScript(w.script, 'stop', w.env, path.join(base, 'extras-stop.log'));
        if (code !== 0) throw new Error(`real Heat extras: ${w.script} stop exited ${code}: ${tail(stderr, 5)} (see ${base})`);
      },
      stopSync() {
        spawnSync('bash', [startedWith!.script, 'stop'], { env: startedWith!.env, stdio: 'ignore', timeout: 60_000 });
      },
    });
  }
  startedWith = { script, env };
}
