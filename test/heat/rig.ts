/**
 * The real-OpenStack-Heat test rig: a real keystone and heat (engine,
 * heat-api, heat-api-cfn) from Debian packages, on 127.0.0.1 only, started
 * once per test run with `test/heat/real-heat/setup.sh start` (the rig's
 * own notes are at the top of that script), and
 * one stack per scenario driven through Heat's native REST API.
 *
 * Knobs (environment):
 *   CFNTOOLS_REAL_HEAT_SETUP      path of setup.sh; default
 *                                 test/heat/real-heat/setup.sh
 *   CFNTOOLS_REAL_HEAT_ENDPOINTS  endpoints.env of a rig that is already up:
 *                                 use it, never start or stop anything
 *   CFNTOOLS_REAL_HEAT_BASE       state folder for setup.sh (default: a new
 *                                 temporary folder, removed after a run with
 *                                 no failure)
 *   CFNTOOLS_REAL_HEAT_KEEP=1     keep the state folder (logs) in any case
 *   CFNTOOLS_REAL_HEAT_REQUIRED=1 a rig that cannot run fails instead of skipping
 *   CFNTOOLS_REAL_HEAT_VERBOSE=1  show setup.sh's output as it runs
 *   KS_PORT, HEAT_PORT, CFN_PORT  ports (default: setup.sh's defaults when
 *                                 free, else free ports picked here)
 *
 * Nothing here sends a packet anywhere but 127.0.0.0/8: every URL is checked
 * to be loopback before a request goes out.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

export type RealHeatEnv = Record<string, string>;

export interface RealHeat {
  env: RealHeatEnv;
  /** heat-api-cfn's Query API base, `http://127.0.0.1:PORT/v1/`. */
  cfnUrl: string;
  /** State folder of setup.sh (logs in `logs/`). */
  base: string;
  heat: HeatApi;
}

type Outcome = { kind: 'up'; rig: RealHeat } | { kind: 'skip'; reason: string };

const MINUTE = 60_000;
/** mocha timeout for the hook that starts the rig (a cold start installs ~370 Debian packages). */
export const START_TIMEOUT_MS = 15 * MINUTE;
/** mocha timeout for a scenario's stack create / delete hooks. */
export const STACK_HOOK_TIMEOUT_MS = 3 * MINUTE;

const DEFAULT_PORTS = { KS_PORT: 25000, HEAT_PORT: 28004, CFN_PORT: 28000 } as const;

export const envFlag = (name: string) => /^(1|true|yes)$/i.test(process.env[name] ?? '');

/** The repository root: the folder holding package.json above dist/test/heat (or test/heat). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'heat'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`real-heat rig: no repository root above ${__dirname}`);
    dir = up;
  }
}

export function setupScript(): string {
  return process.env.CFNTOOLS_REAL_HEAT_SETUP || path.resolve(repoRoot(), 'test', 'heat', 'real-heat', 'setup.sh');
}

export function templatePath(name: string): string {
  return path.join(repoRoot(), 'test', 'heat', 'templates', name);
}

/** Parse endpoints.env: `KEY=VALUE` lines, values optionally single-quoted shell words. */
export function parseEndpointsEnv(text: string): RealHeatEnv {
  const env: RealHeatEnv = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = m[2];
    env[m[1]] = v.startsWith("'") && v.endsWith("'") && v.length >= 2 ? v.slice(1, -1).replace(/'\\''/g, "'") : v;
  }
  return env;
}

export function assertLoopback(url: string): URL {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const ok = host === 'localhost' || (net.isIPv4(host) && host.startsWith('127.')) || host === '::1';
  if (!ok) throw new Error(`real-heat rig: refusing to send a request to ${u.host}: only loopback addresses are allowed`);
  return u;
}

// ---------------------------------------------------------------- start / stop

let started: Promise<Outcome> | undefined;
/** What this process started (undefined when nothing, or when using CFNTOOLS_REAL_HEAT_ENDPOINTS). */
let owned: { script: string; base: string; env: NodeJS.ProcessEnv; tempBase: boolean } | undefined;
let stopping: Promise<void> | undefined;
/** The `setup.sh start` in progress, if any. */
let starting: ChildProcess | undefined;
let failures = 0;

/** Start the rig once per process; later calls share the first call's outcome. */
export function realHeat(): Promise<Outcome> {
  started ??= start();
  return started;
}

/**
 * For a suite's `before` hook: the running rig, or `this.skip()` with the
 * reason when the Debian packages cannot be installed here.
 */
export async function useRealHeat(ctx: Mocha.Context): Promise<RealHeat> {
  ctx.timeout(START_TIMEOUT_MS);
  const outcome = await realHeat();
  if (outcome.kind === 'skip') ctx.skip();
  return (outcome as { kind: 'up'; rig: RealHeat }).rig;
}

/** Root hooks record failed tests: a run with failures keeps the state folder (logs). */
export function noteFailure(): void {
  failures++;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A script's default ports when free, else free ones; ports given in the environment (e.g. KS_PORT) are kept. */
export async function choosePorts<K extends string>(defaults: Record<K, number>, avoidDefaults: boolean): Promise<Record<K, string>> {
  const out = {} as Record<K, string>;
  const taken = new Set<number>();
  for (const name of Object.keys(defaults) as K[]) {
    const explicit = process.env[name];
    if (explicit) {
      out[name] = explicit;
      continue;
    }
    let port: number = defaults[name];
    if (avoidDefaults || !(await portFree(port))) {
      do port = await freePort();
      while (taken.has(port));
    }
    taken.add(port);
    out[name] = String(port);
  }
  return out;
}

export function withNoProxy(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Whatever proxy the machine uses for apt, loopback traffic must not go through it.
  const add = '127.0.0.1,localhost,::1';
  const noProxy = [env.no_proxy || env.NO_PROXY, add].filter(Boolean).join(',');
  return { ...env, no_proxy: noProxy, NO_PROXY: noProxy };
}

export function runScript(script: string, mode: 'start' | 'stop', env: NodeJS.ProcessEnv, logFile: string): Promise<{ code: number; stderr: string }> {
  const verbose = envFlag('CFNTOOLS_REAL_HEAT_VERBOSE');
  const errFile = `${logFile}.stderr`;
  // Files, not pipes: the daemons setup.sh starts must not hold our pipes open.
  const out = verbose ? 'inherit' : fs.openSync(logFile, 'w');
  const err = verbose ? 'inherit' : fs.openSync(errFile, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, mode], { env, stdio: ['ignore', out, err] });
    if (mode === 'start') starting = child;
    const closeFds = () => {
      if (typeof out === 'number') fs.closeSync(out);
      if (typeof err === 'number') fs.closeSync(err);
    };
    child.once('error', (e) => {
      closeFds();
      reject(e);
    });
    child.once('exit', (code, signal) => {
      if (starting === child) starting = undefined;
      closeFds();
      const stderr = verbose ? '' : fs.readFileSync(errFile, 'utf8');
      if (!verbose) fs.appendFileSync(logFile, stderr ? `\n--- stderr ---\n${stderr}` : '');
      resolve({ code: code ?? (signal ? 128 : 1), stderr });
    });
  });
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A skip of `what` (every real-Heat test, or those that need the extras), loud in CI; an error with CFNTOOLS_REAL_HEAT_REQUIRED. */
export function skip(reason: string, what = 'every real-Heat test'): { kind: 'skip'; reason: string } {
  if (envFlag('CFNTOOLS_REAL_HEAT_REQUIRED')) throw new Error(`real Heat is required (CFNTOOLS_REAL_HEAT_REQUIRED) but cannot run: ${reason}`);
  if (envFlag('CI')) {
    const bar = '!'.repeat(78);
    console.log(`\n${bar}\n!!! SKIPPED in CI: ${what}: ${reason}\n${bar}\n`);
  } else {
    console.log(`      real Heat: skipping ${what}: ${reason}`);
  }
  return { kind: 'skip', reason };
}

function rigFrom(env: RealHeatEnv, base: string): RealHeat {
  for (const key of ['REAL_HEAT_CFN_URL', 'REAL_HEAT_KEYSTONE_URL', 'REAL_HEAT_HEAT_API_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME']) {
    if (!env[key]) throw new Error(`real-heat rig: endpoints.env has no ${key}`);
  }
  for (const key of ['REAL_HEAT_CFN_URL', 'REAL_HEAT_KEYSTONE_URL', 'REAL_HEAT_HEAT_API_URL']) assertLoopback(env[key]);
  return { env, cfnUrl: env.REAL_HEAT_CFN_URL, base, heat: new HeatApi(env) };
}

async function start(): Promise<Outcome> {
  const existing = process.env.CFNTOOLS_REAL_HEAT_ENDPOINTS;
  if (existing) {
    const env = parseEndpointsEnv(fs.readFileSync(existing, 'utf8'));
    return { kind: 'up', rig: rigFrom(env, env.REAL_HEAT_BASE ?? path.dirname(existing)) };
  }
  const script = setupScript();
  if (!fs.existsSync(script)) {
    return skip(`the real-Heat setup script is not at ${script} (expected the shared folder beside the repository; set CFNTOOLS_REAL_HEAT_SETUP)`);
  }
  if (process.platform !== 'linux') return skip(`real Heat needs Debian bookworm; this is ${process.platform}`);

  const tempBase = !process.env.CFNTOOLS_REAL_HEAT_BASE;
  const base = path.resolve(process.env.CFNTOOLS_REAL_HEAT_BASE || fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-real-heat-')));
  fs.mkdirSync(base, { recursive: true });
  const logFile = path.join(base, 'setup-start.log');
  const t0 = performance.now();
  console.log(`      real Heat: starting with ${script} (BASE=${base}); the first run on a machine installs Debian packages and takes minutes`);

  for (let attempt = 1; ; attempt++) {
    const env = withNoProxy({ ...process.env, BASE: base, ...(await choosePorts(DEFAULT_PORTS, attempt > 1)) });
    owned = { script, base, env, tempBase };
    watchExit();
    const { code, stderr } = await runScript(script, 'start', env, logFile);
    if (code === 0) break;
    const output = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : stderr;
    if (code === 3) {
      owned = undefined; // nothing was started
      unwatchExit();
      const said = stderr.split('\n').filter((l) => l.startsWith('real-heat:')).map((l) => l.replace(/^real-heat:\s*/, ''));
      const aptLog = path.join(base, 'apt-install.log');
      const seeApt = fs.existsSync(aptLog) ? ` (see ${aptLog})` : '';
      if (tempBase && !seeApt) fs.rmSync(base, { recursive: true, force: true });
      return skip(`the Debian packages for real Heat cannot be installed here (setup.sh exit 3): ${said.join('; ') || tail(stderr || output, 5) || 'no reason given'}${seeApt}`);
    }
    // 2 = a port got taken between our check and setup.sh's: retry on other ports.
    if (code === 2 && /port|in use|busy/i.test(stderr) && attempt < 3) continue;
    await stopRealHeat({ keep: true });
    throw new Error(
      `real Heat did not start: ${script} start exited ${code}; logs in ${path.join(base, 'logs')} and ${logFile}\n${tail(output, 25)}`,
    );
  }
  const env = parseEndpointsEnv(fs.readFileSync(path.join(base, 'endpoints.env'), 'utf8'));
  console.log(`      real Heat: up after ${((performance.now() - t0) / 1000).toFixed(1)} s (heat ${env.REAL_HEAT_HEAT_VERSION}, keystone ${env.REAL_HEAT_KEYSTONE_VERSION}; cfn ${env.REAL_HEAT_CFN_URL})`);
  return { kind: 'up', rig: rigFrom(env, base) };
}

/**
 * Services started beside the rig (extras.ts: Swift and Zaqar), stopped
 * before it, also on an interrupted run.
 */
export interface RigCompanion {
  stop(): Promise<void>;
  /** At exit or on a signal: no event loop left, so synchronous. */
  stopSync(): void;
}

const companions: RigCompanion[] = [];

export function addRigCompanion(c: RigCompanion): void {
  companions.push(c);
}

/** The rig this process started (its BASE and the environment setup.sh ran with); undefined for a rig given by CFNTOOLS_REAL_HEAT_ENDPOINTS. */
export function rigStartedHere(): { base: string; env: NodeJS.ProcessEnv } | undefined {
  return owned && { base: owned.base, env: owned.env };
}

/**
 * Stop what this process started (`setup.sh stop`, which checks the PIDs
 * against the command lines it started for our BASE) and remove the
 * temporary state folder unless a test failed or `keep`.
 */
export function stopRealHeat(opts: { keep?: boolean } = {}): Promise<void> {
  const o = owned;
  if (!o) return Promise.resolve();
  stopping ??= (async () => {
    // Companions first (they stand on the rig's keystone); the rig is stopped even when one fails.
    const companionErrors: unknown[] = [];
    for (const c of [...companions].reverse()) await c.stop().catch((err: unknown) => companionErrors.push(err));
    const { code, stderr } = await runScript(o.script, 'stop', o.env, path.join(o.base, 'setup-stop.log'));
    owned = undefined;
    unwatchExit();
    if (code !== 0) throw new Error(`real Heat: ${o.script} stop exited ${code}: ${tail(stderr, 5)} (see ${o.base})`);
    if (companionErrors.length) throw companionErrors[0];
    const keep = opts.keep || failures > 0 || !o.tempBase || envFlag('CFNTOOLS_REAL_HEAT_KEEP');
    if (keep) console.log(`      real Heat: stopped; state and logs kept in ${o.base}`);
    else fs.rmSync(o.base, { recursive: true, force: true });
  })();
  return stopping;
}

/**
 * Last resort (an interrupted run, a file run without the root hooks): stop
 * synchronously at exit or on SIGINT/SIGTERM/SIGHUP. The daemons run in their
 * own session (setsid), so a Ctrl-C in the terminal does not reach them.
 */
function stopSyncOnExit(): void {
  const o = owned;
  if (!o) return;
  owned = undefined;
  // An interrupted start: end it first, then stop whatever it had started.
  if (starting?.exitCode === null) starting.kill('SIGTERM');
  for (const c of [...companions].reverse()) c.stopSync();
  spawnSync('bash', [o.script, 'stop'], { env: o.env, stdio: 'ignore', timeout: 60_000 });
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onSignal(signal: NodeJS.Signals): void {
  console.error(`\n      real Heat: ${signal}: stopping the rig`);
  stopSyncOnExit();
  unwatchExit();
  process.kill(process.pid, signal);
}

let watching = false;

function watchExit(): void {
  if (watching) return;
  watching = true;
  process.once('exit', stopSyncOnExit);
  for (const sig of SIGNALS) process.once(sig, onSignal);
}

function unwatchExit(): void {
  if (!watching) return;
  watching = false;
  process.removeListener('exit', stopSyncOnExit);
  for (const sig of SIGNALS) process.removeListener(sig, onSignal);
}

// ---------------------------------------------------------------- HTTP on loopback

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One plain node:http request to a loopback URL. Only the headers given are
 * sent (plus Host, Content-Length when there is a body, Connection): no
 * Content-Type unless asked.
 */
export function rawRequest(method: string, url: string, opts: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  const u = assertLoopback(url);
  if (u.protocol !== 'http:') throw new Error(`real-heat rig: expected an http: URL, got ${u.protocol}`);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { method, hostname: u.hostname, port: u.port || 80, path: `${u.pathname}${u.search}`, headers, agent: false, timeout: opts.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${u.origin}${u.pathname}: no answer within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `probe` every `intervalMs` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof FatalPollError) throw err;
      last = ` (last error: ${err instanceof Error ? err.message : String(err)})`;
    }
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    await sleep(intervalMs);
  }
}

/** Thrown from a poll probe: stop polling at once. */
export class FatalPollError extends Error {}

// ---------------------------------------------------------------- Heat's native API

export interface StackRef {
  name: string;
  id: string;
}

export interface StackInfo {
  stack_name: string;
  id: string;
  stack_status: string;
  stack_status_reason?: string;
  /** Set when an update starts (null until the first one): tells one update's end from the previous one's. */
  updated_time?: string | null;
  outputs?: Array<{ output_key: string; output_value: unknown; output_error?: string }>;
}

export interface ResourceInfo {
  resource_name: string;
  resource_type: string;
  resource_status: string;
  resource_status_reason?: string;
  physical_resource_id?: string;
}

/** Heat's orchestration API (v1) with a keystone password token, as the rig's admin user. */
export class HeatApi {
  private token: { value: string; expires: number } | undefined;

  constructor(readonly env: RealHeatEnv) {}

  /**
   * Take a new token at the next call. A token carries the catalog as it
   * was when heat-api first validated it (keystonemiddleware keeps that for
   * minutes), and Heat looks services up in it: after the catalog gains an
   * endpoint (the extras' Swift and Zaqar), stacks must be made with a new one.
   */
  renewToken(): void {
    this.token = undefined;
  }

  private async getToken(): Promise<string> {
    if (this.token && Date.now() < this.token.expires - 60_000) return this.token.value;
    const e = this.env;
    const body = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: e.OS_USERNAME, domain: { name: e.OS_USER_DOMAIN_NAME || 'Default' }, password: e.OS_PASSWORD } },
        },
        scope: { project: { name: e.OS_PROJECT_NAME, domain: { name: e.OS_PROJECT_DOMAIN_NAME || 'Default' } } },
      },
    });
    const res = await rawRequest('POST', `${e.REAL_HEAT_KEYSTONE_URL.replace(/\/$/, '')}/auth/tokens`, {
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body,
    });
    const value = res.headers['x-subject-token'];
    if (res.status !== 201 || typeof value !== 'string') throw new Error(`keystone token: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    const expiresAt = Date.parse((JSON.parse(res.body) as { token?: { expires_at?: string } }).token?.expires_at ?? '');
    this.token = { value, expires: Number.isNaN(expiresAt) ? Date.now() + 10 * MINUTE : expiresAt };
    return value;
  }

  /** A JSON request to `REAL_HEAT_HEAT_API_URL + path`; non-2xx throws with Heat's message. */
  async call<T = unknown>(method: string, apiPath: string, payload?: unknown): Promise<{ status: number; data: T }> {
    for (let attempt = 1; ; attempt++) {
      const res = await rawRequest(method, `${this.env.REAL_HEAT_HEAT_API_URL}${apiPath}`, {
        headers: {
          'X-Auth-Token': await this.getToken(),
          Accept: 'application/json',
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
      if (res.status === 401 && attempt === 1) {
        this.token = undefined;
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        const err = new Error(`heat-api ${method} ${apiPath}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
        (err as Error & { status?: number }).status = res.status;
        throw err;
      }
      return { status: res.status, data: (res.body.trim() ? JSON.parse(res.body) : undefined) as T };
    }
  }

  async createStack(name: string, template: string, parameters: Record<string, unknown> = {}): Promise<StackRef> {
    const { data } = await this.call<{ stack: { id: string } }>('POST', '/stacks', { stack_name: name, template, parameters, timeout_mins: 15 });
    return { name, id: data.stack.id };
  }

  async stack(ref: StackRef): Promise<StackInfo> {
    return (await this.call<{ stack: StackInfo }>('GET', `/stacks/${ref.name}/${ref.id}`)).data.stack;
  }

  async resources(ref: StackRef): Promise<ResourceInfo[]> {
    return (await this.call<{ resources: ResourceInfo[] }>('GET', `/stacks/${ref.name}/${ref.id}/resources`)).data.resources;
  }

  /** Outputs by key (Heat resolves them while the stack is still CREATE_IN_PROGRESS). */
  async outputs(ref: StackRef): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const o of (await this.stack(ref)).outputs ?? []) {
      if (o.output_error) throw new Error(`stack ${ref.name}: output ${o.output_key}: ${o.output_error}`);
      out[o.output_key] = o.output_value;
    }
    return out;
  }

  /**
   * Wait until every resource but those of `exceptTypes` is CREATE_COMPLETE
   * (before that, get_resource outputs hold logical names, not values).
   * A failed resource or stack ends the wait at once.
   */
  async waitForResources(ref: StackRef, opts: { exceptTypes?: string[]; timeoutMs?: number } = {}): Promise<ResourceInfo[]> {
    const except = new Set(opts.exceptTypes ?? ['AWS::CloudFormation::WaitCondition', 'OS::Heat::WaitCondition']);
    return pollUntil(`the resources of stack ${ref.name} to be CREATE_COMPLETE`, opts.timeoutMs ?? 2 * MINUTE, async () => {
      const list = await this.resources(ref);
      const failed = list.find((r) => r.resource_status.endsWith('_FAILED'));
      if (failed) throw new FatalPollError(`stack ${ref.name}: resource ${failed.resource_name} is ${failed.resource_status}: ${failed.resource_status_reason ?? ''}`);
      const waited = list.filter((r) => !except.has(r.resource_type));
      if (waited.length > 0 && waited.every((r) => r.resource_status === 'CREATE_COMPLETE')) return list;
      const stack = await this.stack(ref);
      if (!stack.stack_status.endsWith('_IN_PROGRESS') && stack.stack_status !== 'CREATE_COMPLETE') {
        throw new FatalPollError(`stack ${ref.name} is ${stack.stack_status}: ${stack.stack_status_reason ?? ''}`);
      }
      return undefined;
    });
  }

  /** Poll the stack until its status is no longer *_IN_PROGRESS; returns the final stack. */
  async waitForStack(ref: StackRef, timeoutMs = 2 * MINUTE): Promise<StackInfo> {
    return pollUntil(`stack ${ref.name} to leave *_IN_PROGRESS`, timeoutMs, async () => {
      const s = await this.stack(ref);
      return s.stack_status.endsWith('_IN_PROGRESS') ? undefined : s;
    });
  }

  /**
   * Start an update. With a template: PUT, the stack becomes exactly that
   * template and those parameters (the others revert to their defaults).
   * Without one: PATCH, Heat keeps the stored template and the parameters
   * not named. Heat answers 202 once the update is under way.
   */
  async updateStack(ref: StackRef, update: { template?: string; parameters?: Record<string, unknown> }): Promise<void> {
    const parameters = update.parameters ?? {};
    if (update.template === undefined) await this.call('PATCH', `/stacks/${ref.name}/${ref.id}`, { parameters });
    else await this.call('PUT', `/stacks/${ref.name}/${ref.id}`, { template: update.template, parameters, timeout_mins: 15 });
  }

  /**
   * Update the stack and wait until that update has ended: the status
   * alone cannot tell it, since UPDATE_COMPLETE may be the previous update's,
   * so the stack must have been seen *_IN_PROGRESS since, or have moved
   * `updated_time` (whole seconds: two quick updates may share one). An
   * update that ends in anything but UPDATE_COMPLETE (failed, rolled back)
   * ends the wait at once with Heat's reason.
   */
  async updateStackAndWait(ref: StackRef, update: { template?: string; parameters?: Record<string, unknown> }, timeoutMs = 2 * MINUTE): Promise<StackInfo> {
    const before = await this.stack(ref);
    if (before.stack_status.endsWith('_IN_PROGRESS')) throw new Error(`stack ${ref.name} is ${before.stack_status}: let it settle first (this wait could not tell which update ended)`);
    await this.updateStack(ref, update);
    let seenInProgress = false;
    return pollUntil(`stack ${ref.name} to finish its update`, timeoutMs, async () => {
      const s = await this.stack(ref);
      if (s.stack_status.endsWith('_IN_PROGRESS')) {
        seenInProgress = true;
        return undefined;
      }
      if (!seenInProgress && (s.updated_time ?? null) === (before.updated_time ?? null)) return undefined;
      if (s.stack_status !== 'UPDATE_COMPLETE') throw new FatalPollError(`stack ${ref.name}: update ended ${s.stack_status}: ${s.stack_status_reason ?? ''}`);
      return s;
    });
  }

  async listed(ref: StackRef): Promise<boolean> {
    const { data } = await this.call<{ stacks: Array<{ id: string }> }>('GET', '/stacks');
    return data.stacks.some((s) => s.id === ref.id);
  }

  /** Delete (also cancels an unfinished create) and wait until `GET /stacks` no longer lists it. */
  async deleteStack(ref: StackRef, timeoutMs = 2 * MINUTE): Promise<void> {
    try {
      await this.call('DELETE', `/stacks/${ref.name}/${ref.id}`);
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
    await pollUntil(`stack ${ref.name} to be deleted`, timeoutMs, async () => {
      const s = await this.stack(ref).catch((err: { status?: number }) => {
        if (err.status === 404) return undefined;
        throw err;
      });
      if (s?.stack_status === 'DELETE_FAILED') throw new FatalPollError(`stack ${ref.name}: DELETE_FAILED: ${s.stack_status_reason ?? ''}`);
      return (await this.listed(ref)) ? undefined : true;
    });
  }
}

// ---------------------------------------------------------------- scenarios

export interface ScenarioStack {
  rig: RealHeat;
  ref: StackRef;
  /** All outputs, as Heat answered them. */
  outputs: Record<string, unknown>;
  accessKey: string;
  secretKey: string;
  /** Heat's pre-signed (SigV2) URL of the wait condition's handle. */
  waitHandleUrl: string;
}

let stackCounter = 0;

/** A stack name unique to this run: letters first, then [A-Za-z0-9_.-]. */
export function uniqueStackName(prefix: string): string {
  return `cfnt-${prefix}-${process.pid}-${++stackCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function readTemplate(name: string): string {
  return fs.readFileSync(templatePath(name), 'utf8');
}

function stringOutput(outputs: Record<string, unknown>, key: string, ref: StackRef): string {
  const v = outputs[key];
  if (typeof v !== 'string' || v === '') throw new Error(`stack ${ref.name}: output ${key} is ${JSON.stringify(v)}`);
  return v;
}

/**
 * Register the hooks of one scenario in the current `describe`: `before`
 * starts the rig (or skips the suite), creates a stack from
 * templates/`template`, waits for its resources and reads the outputs;
 * `after` deletes the stack and waits until it is gone, also when a test or
 * the `before` hook failed. Read the stack from the returned getter inside
 * tests.
 */
export function useScenarioStack(prefix: string, template = 'scenario.json', parameters: Record<string, unknown> = {}): () => ScenarioStack {
  return useStack(`scenario ${prefix}`, async (rig, created) => {
    const ref = await rig.heat.createStack(uniqueStackName(prefix), readTemplate(template), parameters);
    created(ref);
    await rig.heat.waitForResources(ref);
    const outputs = await rig.heat.outputs(ref);
    const scenario = {
      rig,
      ref,
      outputs,
      accessKey: stringOutput(outputs, 'access_key', ref),
      secretKey: stringOutput(outputs, 'secret_key', ref),
      waitHandleUrl: stringOutput(outputs, 'wait_handle_url', ref),
    };
    assertLoopback(scenario.waitHandleUrl);
    return scenario;
  });
}

/**
 * One stack for the current `describe`: `before` starts the rig (or skips)
 * and runs `make`, which calls `created` as soon as the stack exists;
 * `after` deletes it and waits until it is gone, also when a test or `make`
 * failed. Read what `make` returned through the getter inside tests.
 */
export function useStack<T>(what: string, make: (rig: RealHeat, created: (ref: StackRef) => void) => Promise<T>): () => T {
  let value: T | undefined;
  let created: { rig: RealHeat; ref: StackRef } | undefined;
  before(async function () {
    const rig = await useRealHeat(this);
    this.timeout(STACK_HOOK_TIMEOUT_MS);
    try {
      value = await make(rig, (ref) => (created = { rig, ref }));
    } catch (err) {
      noteFailure();
      throw err;
    }
  });
  after(async function () {
    if (!created) return;
    this.timeout(STACK_HOOK_TIMEOUT_MS);
    const { rig, ref } = created;
    created = undefined;
    try {
      await rig.heat.deleteStack(ref);
    } catch (err) {
      noteFailure();
      throw err;
    }
  });
  return () => {
    if (value === undefined) throw new Error(`${what}: the stack is not ready (its before hook failed or was skipped)`);
    return value;
  };
}

export interface SignalBody {
  Status: 'SUCCESS' | 'FAILURE';
  Reason: string;
  UniqueId: string;
  Data: string;
}

/**
 * PUT a signal to a pre-signed WaitConditionHandle URL the way cfn-signal
 * does: plain node:http, JSON body, no Content-Type header (unless given).
 */
export async function signalHandle(url: string, body: SignalBody | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest('PUT', url, { headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Signal the handle, then poll the stack until it leaves *_IN_PROGRESS; returns the final stack. */
export async function signalAndWait(s: ScenarioStack, body: SignalBody, timeoutMs = 2 * MINUTE): Promise<{ response: RawResponse; stack: StackInfo }> {
  const response = await signalHandle(s.waitHandleUrl, body);
  if (response.status !== 200) throw new Error(`signal to ${s.ref.name}'s handle: HTTP ${response.status}: ${response.body.slice(0, 300)}`);
  return { response, stack: await s.rig.heat.waitForStack(s.ref, timeoutMs) };
}
