/**
 * Injected faults: what a flaky cloud does to a client. Random faults use a
 * seeded generator and "the next N requests" faults are counted, so tests
 * stay deterministic. Faults apply to every request except the /_emulator/
 * admin API (tests must always be able to clear them).
 */
import { AwsError } from './aws-format';
import { HeatApiError, HeatErrors, type Reply } from './heat-format';

export type FaultAction =
  /** Answer this HTTP status with an XML ErrorResponse. */
  | { kind: 'error'; status: number }
  /** Throttling: 400 with Code Throttling (Heat, AWS Query APIs) or 429. */
  | { kind: 'throttle'; status?: 400 | 429 }
  /** Destroy the connection without an answer (TCP RST). */
  | { kind: 'reset' }
  /** Announce the whole body in Content-Length, send half of it, close. */
  | { kind: 'truncate' };

/** Limits a fault to some requests; every given field must match. */
export interface FaultMatch {
  /** The Query API Action (`DescribeStackResource`...). */
  action?: string;
  /** Request path prefix, e.g. `/v1/waitcondition/` or `/files/`. */
  pathPrefix?: string;
  method?: string;
}

export type RateFault = FaultAction & { rate: number; when?: FaultMatch };
export type NextFault = FaultAction & { count: number; when?: FaultMatch };

export interface FaultConfig {
  /** Added before every answer. */
  latencyMs?: number;
  /** Emulator clock offset: moves timestamp checks and the Date header. */
  skewSeconds?: number;
  /** Each request: the first rule whose dice roll hits fires. */
  rates?: RateFault[];
  /** Checked before the rates: the first matching entry fires and counts down. */
  next?: NextFault[];
  /** Seed of the dice; default 1. */
  seed?: number;
}

export class FaultConfigError extends Error {
  constructor(
    readonly detail: string,
    readonly source: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'FaultConfigError';
  }
}

export interface FaultTarget {
  method: string;
  path: string;
  action?: string;
}

function matches(when: FaultMatch | undefined, t: FaultTarget): boolean {
  if (!when) return true;
  if (when.action !== undefined && when.action !== t.action) return false;
  if (when.pathPrefix !== undefined && !t.path.startsWith(when.pathPrefix)) return false;
  if (when.method !== undefined && when.method.toUpperCase() !== t.method.toUpperCase()) return false;
  return true;
}

/** mulberry32: small, seedable, good enough for dice. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  private cfg: FaultConfig = {};
  private dice: () => number = rng(1);

  constructor(cfg: FaultConfig = {}) {
    this.set(cfg);
  }

  set(cfg: FaultConfig): void {
    this.cfg = validateFaults(cfg, 'faults');
    this.dice = rng(this.cfg.seed ?? 1);
  }

  get(): FaultConfig {
    return JSON.parse(JSON.stringify(this.cfg)) as FaultConfig;
  }

  get latencyMs(): number {
    return this.cfg.latencyMs ?? 0;
  }

  get skewMs(): number {
    return (this.cfg.skewSeconds ?? 0) * 1000;
  }

  /** The fault for this request, if any; counted faults are used up here. */
  pick(t: FaultTarget): FaultAction | undefined {
    const next = this.cfg.next ?? [];
    const i = next.findIndex((f) => f.count > 0 && matches(f.when, t));
    if (i >= 0) {
      const f = next[i];
      f.count -= 1;
      if (f.count === 0) next.splice(i, 1);
      if (!next.length) delete this.cfg.next;
      return actionOf(f);
    }
    for (const f of this.cfg.rates ?? []) {
      if (matches(f.when, t) && this.dice() < f.rate) return actionOf(f);
    }
    return undefined;
  }
}

function actionOf(f: FaultAction): FaultAction {
  switch (f.kind) {
    case 'error':
      return { kind: 'error', status: f.status };
    case 'throttle':
      return { kind: 'throttle', status: f.status ?? 400 };
    default:
      return { kind: f.kind };
  }
}

/** The answer of an `error` or `throttle` fault. */
/** The error an `error` or `throttle` fault answers with. */
function faultError(action: FaultAction): HeatApiError {
  if (action.kind === 'throttle') return HeatErrors.throttling();
  if (action.kind !== 'error') throw new Error(`fault ${action.kind} has no reply`);
  const known: Record<number, () => HeatApiError> = {
    400: HeatErrors.invalidParameterValue,
    403: HeatErrors.accessDenied,
    500: HeatErrors.internalFailure,
    503: HeatErrors.serviceUnavailable,
  };
  return known[action.status]?.() ?? new HeatApiError(action.status, 'InjectedFault', `injected HTTP ${action.status}`, action.status >= 500 ? 'Server' : 'Sender');
}

/** A `throttle` fault's 429 variant: the same body, 429 and Retry-After. */
function withThrottleStatus(action: FaultAction, reply: Reply): Reply {
  if (action.kind !== 'throttle' || action.status !== 429) return reply;
  return { ...reply, status: 429, reason: 'Too Many Requests', headers: { ...reply.headers, 'Retry-After': '1' } };
}

/** A fault's answer in Heat's XML form. */
export function faultReply(action: FaultAction): Reply {
  return withThrottleStatus(action, faultError(action).toXmlReply());
}

/** A fault's answer in AWS's form (EC2 mode's CloudFormation actions): JSON under ContentType=JSON, else XML. */
export function awsFaultReply(action: FaultAction, json: boolean): Reply {
  return withThrottleStatus(action, AwsError.fromHeat(faultError(action)).toReply(json));
}

// ---------------------------------------------------------------------------
// Validation (admin API bodies, programmatic options) and the --fault syntax

function checkAction(v: Record<string, unknown>, at: string, source: string): FaultAction {
  const fail = (msg: string): never => {
    throw new FaultConfigError(`${at}: ${msg}`, source);
  };
  switch (v.kind) {
    case 'error':
      if (!Number.isInteger(v.status) || (v.status as number) < 400 || (v.status as number) > 599) fail('status must be an HTTP error status (400-599)');
      return { kind: 'error', status: v.status as number };
    case 'throttle':
      if (v.status !== undefined && v.status !== 400 && v.status !== 429) fail('throttle status must be 400 or 429');
      return v.status === 429 ? { kind: 'throttle', status: 429 } : { kind: 'throttle', status: 400 };
    case 'reset':
    case 'truncate':
      return { kind: v.kind };
    default:
      return fail(`kind must be error, throttle, reset or truncate, not ${JSON.stringify(v.kind)}`);
  }
}

function checkWhen(v: unknown, at: string, source: string): FaultMatch | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FaultConfigError(`${at}: must be a mapping`, source);
  const out: FaultMatch = {};
  for (const [k, val] of Object.entries(v)) {
    if (!['action', 'pathPrefix', 'method'].includes(k)) throw new FaultConfigError(`${at}.${k}: unknown key (expected action, pathPrefix, method)`, source);
    if (typeof val !== 'string') throw new FaultConfigError(`${at}.${k}: must be a string`, source);
    out[k as keyof FaultMatch] = val;
  }
  return out;
}

export function validateFaults(v: unknown, source: string): FaultConfig {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FaultConfigError('faults must be a mapping', source);
  const o = v as Record<string, unknown>;
  const out: FaultConfig = {};
  for (const k of Object.keys(o)) {
    if (!['latencyMs', 'skewSeconds', 'rates', 'next', 'seed'].includes(k)) {
      throw new FaultConfigError(`${k}: unknown key (expected latencyMs, skewSeconds, rates, next, seed)`, source);
    }
  }
  const num = (k: 'latencyMs' | 'skewSeconds' | 'seed', min?: number) => {
    const x = o[k];
    if (x === undefined) return;
    if (typeof x !== 'number' || !Number.isFinite(x) || (min !== undefined && x < min)) throw new FaultConfigError(`${k}: must be a number${min !== undefined ? ` >= ${min}` : ''}`, source);
    out[k] = x;
  };
  num('latencyMs', 0);
  num('skewSeconds');
  num('seed');
  const list = (k: 'rates' | 'next') => {
    const x = o[k];
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw new FaultConfigError(`${k}: must be a list`, source);
    return x.map((item, i) => {
      const at = `${k}[${i}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new FaultConfigError(`${at}: must be a mapping`, source);
      return item as Record<string, unknown>;
    });
  };
  const rates = list('rates').map((r, i) => {
    const at = `rates[${i}]`;
    if (typeof r.rate !== 'number' || r.rate < 0 || r.rate > 1) throw new FaultConfigError(`${at}.rate: must be a number from 0 to 1`, source);
    const f: RateFault = { ...checkAction(r, at, source), rate: r.rate };
    const when = checkWhen(r.when, `${at}.when`, source);
    if (when) f.when = when;
    return f;
  });
  const next = list('next').map((r, i) => {
    const at = `next[${i}]`;
    if (!Number.isInteger(r.count) || (r.count as number) < 1) throw new FaultConfigError(`${at}.count: must be a positive integer`, source);
    const f: NextFault = { ...checkAction(r, at, source), count: r.count as number };
    const when = checkWhen(r.when, `${at}.when`, source);
    if (when) f.when = when;
    return f;
  });
  if (rates.length) out.rates = rates;
  if (next.length) out.next = next;
  return out;
}

/** `error`, `throttle`, `throttle429`, `reset`, `truncate` or a bare status (`503`). */
function parseWhat(what: string, flag: string): FaultAction {
  if (/^\d{3}$/.test(what)) return checkAction({ kind: 'error', status: Number(what) }, flag, '--fault');
  if (what === 'throttle' || what === 'throttle400') return { kind: 'throttle', status: 400 };
  if (what === 'throttle429') return { kind: 'throttle', status: 429 };
  if (what === 'reset' || what === 'truncate') return { kind: what };
  throw new FaultConfigError(`${flag}: unknown fault ${JSON.stringify(what)} (expected a status like 503, throttle, throttle429, reset, truncate)`, '--fault');
}

function parseRate(text: string, flag: string): number {
  const pct = text.endsWith('%');
  const n = Number(pct ? text.slice(0, -1) : text) / (pct ? 100 : 1);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new FaultConfigError(`${flag}: rate ${JSON.stringify(text)} must be 0..1 or 0%..100%`, '--fault');
  return n;
}

/**
 * One `--fault` flag, merged into `into`:
 *   latency=MS  skew=SECONDS  seed=N
 *   error=STATUS:RATE  throttle=RATE  throttle429=RATE  reset=RATE  truncate=RATE
 *   next=N:WHAT   (WHAT: a status, throttle, throttle429, reset, truncate)
 * A rate or next fault may end in `@Action` or `@/path/prefix` to apply only there.
 */
export function parseFaultFlag(flag: string, into: FaultConfig = {}): FaultConfig {
  const m = /^([a-z0-9]+)=(.+)$/.exec(flag.trim());
  if (!m) throw new FaultConfigError(`${JSON.stringify(flag)}: expected NAME=VALUE`, '--fault');
  const [, name, rest] = m;
  const at = rest.lastIndexOf('@');
  const value = at >= 0 ? rest.slice(0, at) : rest;
  const target = at >= 0 ? rest.slice(at + 1) : undefined;
  const when: FaultMatch | undefined = target === undefined ? undefined : target.startsWith('/') ? { pathPrefix: target } : { action: target };
  const number = (text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n)) throw new FaultConfigError(`${flag}: ${JSON.stringify(text)} is not a number`, '--fault');
    return n;
  };
  const out: FaultConfig = { ...into };
  switch (name) {
    case 'latency':
      out.latencyMs = number(value);
      break;
    case 'skew':
      out.skewSeconds = number(value);
      break;
    case 'seed':
      out.seed = number(value);
      break;
    case 'error': {
      const [status, rate] = value.split(':');
      if (rate === undefined) throw new FaultConfigError(`${flag}: expected error=STATUS:RATE, e.g. error=503:30%`, '--fault');
      out.rates = [...(out.rates ?? []), { ...parseWhat(status, flag), rate: parseRate(rate, flag), ...(when ? { when } : {}) }];
      break;
    }
    case 'throttle':
    case 'throttle429':
    case 'reset':
    case 'truncate':
      out.rates = [...(out.rates ?? []), { ...parseWhat(name, flag), rate: parseRate(value, flag), ...(when ? { when } : {}) }];
      break;
    case 'next': {
      const [count, what] = value.split(':');
      if (what === undefined || !/^\d+$/.test(count) || Number(count) < 1) throw new FaultConfigError(`${flag}: expected next=N:WHAT, e.g. next=2:503`, '--fault');
      out.next = [...(out.next ?? []), { ...parseWhat(what, flag), count: Number(count), ...(when ? { when } : {}) }];
      break;
    }
    default:
      throw new FaultConfigError(`${flag}: unknown fault ${name} (expected latency, skew, seed, error, throttle, throttle429, reset, truncate, next)`, '--fault');
  }
  return validateFaults(out, '--fault');
}
