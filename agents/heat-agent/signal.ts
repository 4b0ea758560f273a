/**
 * Telling Heat how a deployment went, by the transport its inputs name:
 * CFN_SIGNAL (a POST to heat-api-cfn's pre-signed URL), TEMP_URL_SIGNAL (a
 * PUT to a Swift temp URL Heat polls), HEAT_SIGNAL (keystone v3 password
 * auth with the deployment's own user, then Heat's resource-signal API),
 * NO_SIGNAL. The body is heat-config's: deploy_stdout, deploy_stderr,
 * deploy_status_code and the outputs, trimmed to fit Heat's request limit.
 */
import { CfnError } from '../../shared/errors';
import type { HttpClient, RetryPolicy } from '../../shared/http';
import { registerSecret } from '../../shared/redact';
import { inputValue, type Deployment } from './deployments';
import type { DeploymentResult } from './state';

/** heat-api refuses JSON bodies over 1 MiB (max_json_body_size); heat-config keeps signals under this. */
export const MAX_SIGNAL_BYTES = 950_000;

export class SignalError extends CfnError {}

/**
 * A signal's own retries, not the polls': a deployment that ran must reach
 * Heat if Heat can be reached at all within a couple of minutes (the
 * result is kept and sent again at the next check after that).
 */
export const SIGNAL_RETRY: Readonly<Partial<RetryPolicy>> = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 10_000, deadlineMs: 120_000 };

export type Transport = 'CFN_SIGNAL' | 'TEMP_URL_SIGNAL' | 'HEAT_SIGNAL' | 'NO_SIGNAL' | 'ZAQAR_SIGNAL';
const TRANSPORTS: readonly Transport[] = ['CFN_SIGNAL', 'TEMP_URL_SIGNAL', 'HEAT_SIGNAL', 'NO_SIGNAL', 'ZAQAR_SIGNAL'];

export function transportOf(d: Deployment): Transport {
  const t = inputValue(d, 'deploy_signal_transport') ?? (inputValue(d, 'deploy_signal_id') ? 'CFN_SIGNAL' : 'NO_SIGNAL');
  if (!(TRANSPORTS as readonly string[]).includes(t)) throw new SignalError(`deployment ${d.name}: unknown deploy_signal_transport ${JSON.stringify(t)}`);
  return t as Transport;
}

/**
 * The body, within `max` bytes: when too large, the start of deploy_stdout
 * and deploy_stderr gives way (the end of a log says why it failed), and
 * what was cut is said in place. Outputs are never cut.
 */
export function signalBody(result: DeploymentResult, max = MAX_SIGNAL_BYTES): string {
  let body = JSON.stringify(result);
  const size = () => Buffer.byteLength(body);
  if (size() <= max) return body;
  const streams = ['deploy_stdout', 'deploy_stderr'].filter((k) => typeof result[k] === 'string');
  const trimmed = { ...result };
  let over = size() - max;
  for (const k of streams.sort((a, b) => (result[b] as string).length - (result[a] as string).length)) {
    if (over <= 0) break;
    const s = result[k] as string;
    // JSON escapes can make a character take up to 6 bytes; cut generously and measure again.
    const cut = Math.min(s.length, over + 64);
    trimmed[k] = `[${cut} characters trimmed to fit Heat's limit]\n${s.slice(cut)}`;
    body = JSON.stringify(trimmed);
    over = size() - max;
  }
  if (size() > max) throw new SignalError(`the deployment's outputs alone take ${size()} bytes, more than Heat accepts (${max})`);
  return body;
}

interface KeystoneToken {
  token: string;
  /** The orchestration endpoint of the token's catalog. */
  heatUrl: string;
}

async function keystoneToken(http: HttpClient, d: Deployment, retry: Partial<RetryPolicy>): Promise<KeystoneToken> {
  const need = (name: string) => {
    const v = inputValue(d, name);
    if (!v) throw new SignalError(`deployment ${d.name}: HEAT_SIGNAL without ${name}`);
    return v;
  };
  const authUrl = need('deploy_auth_url').replace(/\/+$/, '');
  const password = need('deploy_password');
  const body = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { id: need('deploy_user_id'), password } } },
      scope: { project: { id: need('deploy_project_id') } },
    },
  });
  const res = await http.request({ method: 'POST', url: `${authUrl}/auth/tokens`, headers: { 'Content-Type': 'application/json' }, body }, { retry });
  const token = res.headers['x-subject-token'];
  if (!token) throw new SignalError(`keystone at ${authUrl} gave no X-Subject-Token`);
  registerSecret(token);
  let catalog: unknown;
  try {
    catalog = (JSON.parse(res.body.toString('utf8')) as { token?: { catalog?: unknown } }).token?.catalog;
  } catch {
    throw new SignalError(`keystone at ${authUrl}: the token answer is not JSON`);
  }
  const services = Array.isArray(catalog) ? (catalog as Array<{ type?: string; endpoints?: Array<{ interface?: string; url?: string; region?: string; region_id?: string }> }>) : [];
  const region = inputValue(d, 'deploy_region_name');
  const inRegion = (services.find((s) => s.type === 'orchestration')?.endpoints ?? []).filter((e) => !region || e.region === region || e.region_id === region);
  const endpoint = inRegion.find((e) => e.interface === 'public') ?? inRegion[0];
  if (!endpoint?.url) throw new SignalError(`keystone at ${authUrl}: no orchestration endpoint${region ? ` in region ${region}` : ''} in the token's catalog`);
  return { token, heatUrl: endpoint.url.replace(/\/+$/, '') };
}

/** Sends the result; resolves once Heat accepted it. Nothing is sent for NO_SIGNAL. */
export async function sendSignal(http: HttpClient, d: Deployment, result: DeploymentResult, retry: Partial<RetryPolicy> = SIGNAL_RETRY): Promise<Transport> {
  const transport = transportOf(d);
  if (transport === 'NO_SIGNAL') return transport;
  if (transport === 'ZAQAR_SIGNAL') throw new SignalError(`deployment ${d.name}: ZAQAR_SIGNAL is not supported (no Zaqar client here): use CFN_SIGNAL, TEMP_URL_SIGNAL or HEAT_SIGNAL`);
  const body = signalBody(result);
  const headers = { 'Content-Type': 'application/json' };
  if (transport === 'HEAT_SIGNAL') {
    const { token, heatUrl } = await keystoneToken(http, d, retry);
    const stack = inputValue(d, 'deploy_stack_id');
    const resource = inputValue(d, 'deploy_resource_name');
    if (!stack || !resource) throw new SignalError(`deployment ${d.name}: HEAT_SIGNAL without deploy_stack_id or deploy_resource_name`);
    const url = `${heatUrl}/stacks/${stack.split('/').map(encodeURIComponent).join('/')}/resources/${encodeURIComponent(resource)}/signal`;
    await http.request({ method: 'POST', url, headers: { ...headers, 'X-Auth-Token': token }, body }, { retry });
    return transport;
  }
  const url = inputValue(d, 'deploy_signal_id');
  if (!url) throw new SignalError(`deployment ${d.name}: ${transport} without deploy_signal_id`);
  const verb = (inputValue(d, 'deploy_signal_verb') ?? (transport === 'TEMP_URL_SIGNAL' ? 'PUT' : 'POST')).toUpperCase();
  if (verb !== 'POST' && verb !== 'PUT') throw new SignalError(`deployment ${d.name}: deploy_signal_verb ${verb}: expected POST or PUT`);
  await http.request({ method: verb, url, headers, body }, { retry });
  return transport;
}
