/**
 * Proxy selection and the agents that carry requests. Selection is a pure
 * function of the URL and the transport options so the rules (flags over
 * environment, NO_PROXY, metadata service never proxied) can be tested
 * without sockets.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { ConfigError } from './errors';
import { registerUrlSecrets } from './redact';
import type { TransportOptions } from './transport-options';
import { createSecureContext, tlsConnectOptions, type TlsSettings } from './tls';

/**
 * Never proxied: the instance metadata services (EC2 and OpenStack at
 * 169.254.169.254, EC2 IPv6 at fd00:ec2::254) and link-local addresses in
 * general, which a proxy cannot reach on our behalf. A proxied IMDS token
 * request is a known failure of aws-cfn-bootstrap.
 */
const ALWAYS_DIRECT = new net.BlockList();
ALWAYS_DIRECT.addSubnet('169.254.0.0', 16, 'ipv4');
ALWAYS_DIRECT.addSubnet('fe80::', 10, 'ipv6');
ALWAYS_DIRECT.addAddress('fd00:ec2::254', 'ipv6');

/** Host as compared with NO_PROXY entries: no IPv6 brackets, no trailing dot, lower case. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

function ipFamily(host: string): 'ipv4' | 'ipv6' | undefined {
  const v = net.isIP(host);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

export function isAlwaysDirect(hostname: string): boolean {
  const host = bareHost(hostname);
  const family = ipFamily(host);
  return family !== undefined && ALWAYS_DIRECT.check(host, family);
}

/**
 * The proxy URL to use for `url`, or undefined to connect directly.
 * `--http-proxy`/`--https-proxy` win over the environment (an explicit empty
 * string means "no proxy"); lower-case variables win over upper-case, as in
 * curl. NO_PROXY applies to both.
 */
export function selectProxy(url: string | URL, transport: TransportOptions = {}): string | undefined {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (isAlwaysDirect(u.hostname)) return undefined;
  const env = transport.env ?? process.env;
  const secure = u.protocol === 'https:';
  const proxy = secure
    ? (transport.httpsProxy ?? (env.https_proxy || env.HTTPS_PROXY))
    : (transport.httpProxy ?? (env.http_proxy || env.HTTP_PROXY));
  if (!proxy) return undefined;
  const noProxy = env.no_proxy || env.NO_PROXY;
  const port = u.port || (secure ? '443' : '80');
  if (noProxy && matchesNoProxy(u.hostname, port, noProxy)) return undefined;
  return proxy;
}

/**
 * NO_PROXY as curl and requests read it: comma- or space-separated; `*`
 * matches everything; `example.com`, `.example.com` and `*.example.com` match
 * the domain and its subdomains; `host:port` matches that port only; IP
 * addresses match exactly; `10.0.0.0/8` style CIDR blocks (IPv4 and IPv6).
 */
export function matchesNoProxy(hostname: string, port: string, noProxy: string): boolean {
  const host = bareHost(hostname);
  const family = ipFamily(host);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (family && inCidr(host, family, entry)) return true;
      continue;
    }
    let name = entry;
    let entryPort: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      name = bracketed[1];
      entryPort = bracketed[2];
    } else if (/^[^:]+:\d+$/.test(entry)) {
      [name, entryPort] = entry.split(':');
    }
    if (entryPort && entryPort !== port) continue;
    name = bareHost(name.replace(/^\*?\./, ''));
    if (host === name) return true;
    // Suffix matching is for names only: 10.0.0.1 must not match an entry "0.0.1".
    if (!family && host.endsWith(`.${name}`)) return true;
  }
  return false;
}

function inCidr(host: string, family: 'ipv4' | 'ipv6', cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const baseHost = bareHost(base);
  const prefix = Number(bits);
  if (ipFamily(baseHost) !== family || !Number.isInteger(prefix)) return false;
  const list = new net.BlockList();
  try {
    list.addSubnet(baseHost, prefix, family);
  } catch {
    // A malformed prefix (e.g. /40 for IPv4) matches nothing, as in curl.
    return false;
  }
  return list.check(host, family);
}

/** A proxy URL safe to log: the password replaced. */
export function redactProxyUrl(proxy: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)?([^/?#]*)([\s\S]*)$/i.exec(proxy);
  if (!m) return proxy;
  const [, scheme = '', authority, rest] = m;
  const at = authority.lastIndexOf('@');
  if (at < 0) return proxy;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:<redacted>`;
  return `${scheme}${user}@${authority.slice(at + 1)}${rest}`;
}

/** Parse a proxy setting; `host:port` without a scheme means http://. Throws ConfigError. */
export function parseProxyUrl(proxy: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new ConfigError(`invalid proxy URL ${redactProxyUrl(proxy)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`unsupported proxy scheme ${u.protocol} in ${redactProxyUrl(proxy)} (http:// and https:// proxies are supported)`);
  }
  registerUrlSecrets(u.href);
  return u;
}

export interface AgentChoice {
  agent: http.Agent;
  /** The proxy used, password redacted; undefined for a direct connection. */
  proxy?: string;
}

/**
 * One agent per (scheme, proxy) for the life of a client. keepAlive is off
 * so a finished tool exits at once and a daemon holds no idle sockets that a
 * server or proxy will have dropped by the next poll.
 */
export class AgentPool {
  private httpAgent?: http.Agent;
  private httpsAgent?: https.Agent;
  private readonly proxied = new Map<string, http.Agent>();
  private tlsOptions?: tls.ConnectionOptions;

  constructor(
    private readonly transport: TransportOptions,
    private readonly tlsSettings: TlsSettings,
  ) {
    // Report a bad --http-proxy/--https-proxy now, not at the first request.
    for (const p of [transport.httpProxy, transport.httpsProxy]) if (p) parseProxyUrl(p);
  }

  agentFor(url: URL): AgentChoice {
    const secure = url.protocol === 'https:';
    const proxy = selectProxy(url, this.transport);
    if (!proxy) {
      if (secure) return { agent: (this.httpsAgent ??= new https.Agent({ keepAlive: false, ...this.tls() })) };
      return { agent: (this.httpAgent ??= new http.Agent({ keepAlive: false })) };
    }
    const key = `${url.protocol} ${proxy}`;
    let agent = this.proxied.get(key);
    if (!agent) {
      agent = this.createProxyAgent(parseProxyUrl(proxy), secure);
      this.proxied.set(key, agent);
    }
    return { agent, proxy: redactProxyUrl(proxy) };
  }

  private createProxyAgent(proxy: URL, secure: boolean): http.Agent {
    // Options given to the constructor apply to the connection to the proxy itself (an https:// proxy).
    const toProxy = proxy.protocol === 'https:' ? this.tls() : {};
    if (!secure) return new HttpProxyAgent(proxy, { keepAlive: false, ...toProxy });
    const agent = new HttpsProxyAgent(proxy, { keepAlive: false, ...toProxy });
    // The TLS handshake through the CONNECT tunnel takes its options from
    // agent.options, not from the constructor's: set them there too.
    Object.assign(agent.options, this.tls());
    return agent;
  }

  private tls(): tls.ConnectionOptions {
    return (this.tlsOptions ??= tlsConnectOptions(this.tlsSettings, createSecureContext(this.tlsSettings)));
  }

  /** Close idle sockets (there should be none with keepAlive off). */
  destroy(): void {
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
    for (const a of this.proxied.values()) a.destroy();
  }
}
