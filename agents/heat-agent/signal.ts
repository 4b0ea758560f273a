/**
 * Telling Heat how a deployment went, by the transport its inputs name:
 * CFN_SIGNAL (a POST to heat-api-cfn's pre-signed URL), TEMP_URL_SIGNAL (a
 * PUT to a Swift temp URL Heat polls), HEAT_SIGNAL (keystone v3 password
 * auth with the deployment's own user, then Heat's resource-signal API),
 * ZAQAR_SIGNAL (the same keystone auth, then a message on the deployment's
 * Zaqar queue, which Heat pops), NO_SIGNAL. The body is heat-config's:
 * deploy_stdout, deploy_stderr, deploy_status_code and the outputs,
 * trimmed to fit the receiver's request limit.
 *
 * The inputs are read into a route before the deployment runs: one that can
 * never report is not run (pass.ts).
 */
import { randomUUID } from 'node:crypto';
import { CfnError } from '../../shared/errors';
import type { HttpClient, RetryPolicy } from '../../shared/http';
import { isHttpUrl } from '../../shared/http-url';
import { inputValue, type Deployment } from './deployments';
import { authenticate, catalogEndpoint, type KeystoneCredentials } from './keystone';
import { messagesBody, postMessage } from './zaqar';
import type { DeploymentResult } from './state';

/** heat-api refuses JSON bodies over 1 MiB (max_json_body_size); heat-config keeps signals under this. */
export const MAX_SIGNAL_BYTES = 950_000;
/** Zaqar refuses a message POST over 256 KiB (max_messages_post_size), the envelope included. */
export const MAX_ZAQAR_POST_BYTES = 262_144;
/** heat-config-notify's message TTL: Heat pops the queue every second or so while it waits. */
export const ZAQAR_MESSAGE_TTL_S = 600;
/** Zaqar's queue names: at most 64 of these. */
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class SignalError extends CfnError {}

/**
 * A signal's own retries, not the polls': a deployment that ran must reach
 * Heat if Heat can be reached at all within a couple of minutes (the
 * result is kept and sent again at the next check after that).
 */
export const SIGNAL_RETRY: Readonly<Partial<RetryPolicy>> = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 10_000, deadlineMs: 120_000 };

export type Transport = 'CFN_SIGNAL' | 'TEMP_URL_SIGNAL' | 'HEAT_SIGNAL' | 'NO_SIGNAL' | 'ZAQAR_SIGNAL';
const TRANSPORTS: readonly Transport[] = ['CFN_SIGNAL', 'TEMP_URL_SIGNAL', 'HEAT_SIGNAL', 'NO_SIGNAL', 'ZAQAR_SIGNAL'];

/** Where and how a deployment's result goes, read from its inputs. */
export type SignalRoute =
  | { transport: 'NO_SIGNAL' }
  | { transport: 'CFN_SIGNAL' | 'TEMP_URL_SIGNAL'; url: string; verb: 'POST' | 'PUT' }
  | { transport: 'HEAT_SIGNAL'; keystone: KeystoneCredentials; region?: string; stack: string; resource: string }
  | { transport: 'ZAQAR_SIGNAL'; keystone: KeystoneCredentials; region?: string; queue: string };

/** A route, or why there is none and the route a failure can still take. */
export type SignalPlan = { route: SignalRoute } | { problem: string; fallback?: SignalRoute };

/** The transport named, else CFN_SIGNAL when there is a signal id, else NO_SIGNAL; the name as given when unknown. */
function transportName(d: Deployment): string {
  return inputValue(d, 'deploy_signal_transport') ?? (inputValue(d, 'deploy_signal_id') ? 'CFN_SIGNAL' : 'NO_SIGNAL');
}

/** Reads one input; what is wrong with it names the input, never its value (URLs and passwords are secrets). */
class Inputs {
  constructor(
    private readonly d: Deployment,
    private readonly transport: string,
  ) {}

  need(name: string): string {
    const v = inputValue(this.d, name);
    if (!v) throw new SignalError(`${this.transport} without ${name}`);
    return v;
  }

  url(name: string): string {
    const v = this.need(name);
    if (!isHttpUrl(v)) throw new SignalError(`${this.transport}: ${name} is not an http(s) URL`);
    return v;
  }

  keystone(): KeystoneCredentials {
    return { authUrl: this.url('deploy_auth_url'), userId: this.need('deploy_user_id'), password: this.need('deploy_password'), projectId: this.need('deploy_project_id') };
  }
}

function heatRoute(d: Deployment, inputs: Inputs): SignalRoute {
  return { transport: 'HEAT_SIGNAL', keystone: inputs.keystone(), region: inputValue(d, 'deploy_region_name'), stack: inputs.need('deploy_stack_id'), resource: inputs.need('deploy_resource_name') };
}

/** The deployment's route; a SignalError saying which input is missing or malformed, or that the transport is unknown. */
export function routeOf(d: Deployment): SignalRoute {
  const transport = transportName(d);
  const inputs = new Inputs(d, transport);
  switch (transport) {
    case 'NO_SIGNAL':
      return { transport };
    case 'CFN_SIGNAL':
    case 'TEMP_URL_SIGNAL': {
      const url = inputs.url('deploy_signal_id');
      const verb = (inputValue(d, 'deploy_signal_verb') ?? (transport === 'TEMP_URL_SIGNAL' ? 'PUT' : 'POST')).toUpperCase();
      if (verb !== 'POST' && verb !== 'PUT') throw new SignalError(`${transport}: deploy_signal_verb ${JSON.stringify(verb.slice(0, 20))}: expected POST or PUT`);
      return { transport, url, verb };
    }
    case 'HEAT_SIGNAL':
      return heatRoute(d, inputs);
    case 'ZAQAR_SIGNAL': {
      const keystone = inputs.keystone();
      const queue = inputs.need('deploy_queue_id');
      if (!QUEUE_NAME.test(queue)) throw new SignalError(`ZAQAR_SIGNAL: deploy_queue_id ${JSON.stringify(queue.slice(0, 80))} is not a Zaqar queue name (1 to 64 letters, digits, _ and -)`);
      return { transport, keystone, region: inputValue(d, 'deploy_region_name'), queue };
    }
    default:
      throw new SignalError(`unknown deploy_signal_transport ${JSON.stringify(transport.slice(0, 60))}: expected one of ${TRANSPORTS.join(', ')}`);
  }
}

/**
 * Whether the deployment can report: its route, or the problem and, when
 * the inputs also hold everything HEAT_SIGNAL needs (ZAQAR_SIGNAL's do),
 * that route, which can still tell Heat it failed.
 */
export function planSignal(d: Deployment): SignalPlan {
  try {
    return { route: routeOf(d) };
  } catch (err) {
    if (!(err instanceof SignalError)) throw err;
    try {
      return { problem: err.message, fallback: heatRoute(d, new Inputs(d, 'HEAT_SIGNAL')) };
    } catch (none) {
      // Not all of HEAT_SIGNAL's inputs either: nothing can carry the failure.
      if (!(none instanceof SignalError)) throw none;
      return { problem: err.message };
    }
  }
}

const STREAMS = ['deploy_stdout', 'deploy_stderr'];
/** What a log keeps of itself when the outputs alone fill the body: its last words. */
const LOG_FLOOR_BYTES = 2048;
/** Rounds of trimming: each measures again what the last left over (escapes make sizes estimates). */
const TRIM_ROUNDS = 3;

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? 'null');

/**
 * `text` cut to about `target` bytes of JSON, what was cut said in place:
 * the start of a log gives way (its end says why it failed), the end of an
 * output (its start is what it holds). Undefined when `target` leaves no
 * room for more than the note.
 */
function shorten(text: string, target: number, keepEnd: boolean, receiver: string): string | undefined {
  const noteRoom = 60 + receiver.length;
  if (target < 2 * noteRoom) return undefined;
  // JSON escapes make a character take 1 to 6 bytes: keep by the text's own average.
  const perChar = jsonBytes(text) / Math.max(1, text.length);
  const keep = Math.max(0, Math.floor((target - noteRoom) / perChar));
  if (keep >= text.length) return text;
  const note = `[${text.length - keep} characters trimmed to fit ${receiver}'s limit]`;
  return keepEnd ? `${note}\n${text.slice(text.length - keep)}` : `${text.slice(0, keep)}\n${note}`;
}

/** The values at `keys` share `budget` bytes: the smallest kept whole, the rest cut to an equal share. */
function share(r: DeploymentResult, keys: readonly string[], budget: number, keepEnd: boolean, receiver: string): void {
  const sized = keys.map((k): [string, number] => [k, jsonBytes(r[k])]).sort((a, b) => a[1] - b[1]);
  let left = budget;
  sized.forEach(([k, bytes], i) => {
    const each = Math.floor(left / (sized.length - i));
    if (bytes > each) {
      const v = r[k];
      const cut = shorten(typeof v === 'string' ? v : JSON.stringify(v), each, keepEnd, receiver);
      if (cut !== undefined) r[k] = cut;
    }
    left -= Math.min(jsonBytes(r[k]), Math.max(0, left));
  });
}

/**
 * The body, within `max` bytes, for every transport: when too large, the
 * start of deploy_stdout and deploy_stderr gives way first, then the end
 * of the largest outputs, what was cut said in place and naming whose limit
 * (`receiver`); the status code and every output's name are kept. A result
 * that still cannot fit (thousands of outputs) is sent as a failure saying
 * so: a body that is never accepted would be sent again at every check.
 */
export function signalBody(result: DeploymentResult, max = MAX_SIGNAL_BYTES, receiver = 'Heat'): string {
  const size = (r: DeploymentResult) => Buffer.byteLength(JSON.stringify(r));
  if (size(result) <= max) return JSON.stringify(result);
  const r: DeploymentResult = { ...result };
  const streams = STREAMS.filter((k) => typeof r[k] === 'string');
  const outputs = Object.keys(r).filter((k) => !STREAMS.includes(k) && k !== 'deploy_status_code' && r[k] !== null && r[k] !== undefined);
  /** What the body takes besides the values at `keys`. */
  const rest = (keys: readonly string[]) => keys.reduce((n, k) => n - jsonBytes(r[k]) + jsonBytes(''), size(r));
  for (let round = 0; round < TRIM_ROUNDS && size(r) > max; round++) {
    share(r, streams, Math.max(max - rest(streams), LOG_FLOOR_BYTES), true, receiver);
    if (size(r) > max) share(r, outputs, max - rest(outputs), false, receiver);
  }
  if (size(r) <= max) return JSON.stringify(r);
  const code = Number(result.deploy_status_code ?? 0) || 1;
  return JSON.stringify({ deploy_stdout: '', deploy_stderr: `the deployment's result takes ${size(result)} bytes and its ${outputs.length} outputs cannot be trimmed to what ${receiver} accepts (${max}): not sent`, deploy_status_code: code });
}

/** Sends the result; resolves once the receiver accepted it. Nothing is sent for NO_SIGNAL. */
export async function sendSignal(http: HttpClient, route: SignalRoute, result: DeploymentResult, retry: Partial<RetryPolicy> = SIGNAL_RETRY): Promise<Transport> {
  const headers = { 'Content-Type': 'application/json' };
  switch (route.transport) {
    case 'NO_SIGNAL':
      break;
    case 'CFN_SIGNAL':
    case 'TEMP_URL_SIGNAL':
      await http.request({ method: route.verb, url: route.url, headers, body: signalBody(result) }, { retry });
      break;
    case 'HEAT_SIGNAL': {
      const body = signalBody(result);
      const token = await authenticate(http, route.keystone, retry);
      const url = `${catalogEndpoint(token, 'orchestration', route.region)}/stacks/${route.stack.split('/').map(encodeURIComponent).join('/')}/resources/${encodeURIComponent(route.resource)}/signal`;
      await http.request({ method: 'POST', url, headers: { ...headers, 'X-Auth-Token': token.id }, body }, { retry });
      break;
    }
    case 'ZAQAR_SIGNAL': {
      const envelope = Buffer.byteLength(messagesBody('', ZAQAR_MESSAGE_TTL_S));
      const body = signalBody(result, MAX_ZAQAR_POST_BYTES - envelope, 'Zaqar');
      const token = await authenticate(http, route.keystone, retry);
      const endpoint = catalogEndpoint(token, 'messaging', route.region);
      // Zaqar refuses a request without a Client-ID (any UUID); one per signal, kept across its retries.
      await postMessage({ http, endpoint, token: token.id, projectId: route.keystone.projectId, clientId: randomUUID(), retry }, route.queue, body, ZAQAR_MESSAGE_TTL_S);
      break;
    }
  }
  return route.transport;
}
