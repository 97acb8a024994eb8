import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { invalidArgument, unavailable } from '@berth/errdefs';
import { hostName, isLoopback } from './hosts';

/**
 * HTTP proxies for registry requests, as Go's `http.ProxyFromEnvironment` (which containerd and
 * Docker use) applies them:
 * - `HTTP_PROXY` for `http://` requests and `HTTPS_PROXY` for `https://` ones (upper case first,
 *   then lower case); a value without a scheme is `http://`. Only `http://` proxies are
 *   supported; `https://` requests go through them with CONNECT.
 * - `NO_PROXY`: comma-separated; `*` for all; an IP address or a CIDR range; a domain name,
 *   which matches itself and its subdomains (`.example.com` or `*.example.com`: subdomains
 *   only); each optionally with `:port`.
 * - `localhost` and loopback addresses are never proxied (`isLoopback`).
 * Credentials in the proxy URL (`http://user:pass@proxy:3128`) are sent as
 * `Proxy-Authorization: Basic`.
 */
export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
}

/** The proxy settings in `env` (default: this process's environment). */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv = process.env): ProxySettings {
  const pick = (...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const out: ProxySettings = {};
  const httpProxy = pick('HTTP_PROXY', 'http_proxy');
  const httpsProxy = pick('HTTPS_PROXY', 'https_proxy');
  const noProxy = pick('NO_PROXY', 'no_proxy');
  if (httpProxy) out.httpProxy = httpProxy;
  if (httpsProxy) out.httpsProxy = httpsProxy;
  if (noProxy) out.noProxy = noProxy;
  return out;
}

/** Decides, per request URL, which proxy (if any) to go through. */
export class ProxyRules {
  private readonly http?: URL;
  private readonly https?: URL;
  private readonly all: boolean;
  private readonly exceptions: Exception[];

  /** InvalidArgument for a proxy URL that cannot be parsed or has a scheme other than http. */
  constructor(settings: ProxySettings) {
    if (settings.httpProxy) this.http = proxyUrl(settings.httpProxy);
    if (settings.httpsProxy) this.https = proxyUrl(settings.httpsProxy);
    const entries = (settings.noProxy ?? '')
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter(Boolean);
    this.all = entries.includes('*');
    this.exceptions = entries.map(exception);
  }

  /** The proxy for `url`, or undefined to connect directly. */
  proxyFor(url: URL): URL | undefined {
    const proxy = url.protocol === 'https:' ? this.https : url.protocol === 'http:' ? this.http : undefined;
    if (!proxy || this.all) return undefined;
    if (isLoopback(url.host)) return undefined;
    const host = hostName(url.host).toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return this.exceptions.some((e) => e(host, port)) ? undefined : proxy;
  }
}

type Exception = (host: string, port: string) => boolean;

function proxyUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch (err) {
    throw invalidArgument(`proxy ${JSON.stringify(value)}: not a URL`, { cause: err });
  }
  if (url.protocol !== 'http:') throw invalidArgument(`proxy ${JSON.stringify(value)}: only http:// proxies are supported`);
  return url;
}

function exception(entry: string): Exception {
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  if (cidr && isIP(cidr[1]!)) {
    const range = new BlockList();
    try {
      range.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4');
    } catch {
      return () => false; // a prefix longer than the address: matches nothing
    }
    return (host) => isIP(host) !== 0 && range.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
  }
  const [name, port] = splitPort(entry);
  if (isIP(name)) return (host, p) => host === name && (!port || p === port);
  const subdomainsOnly = name.startsWith('.') || name.startsWith('*.');
  const domain = name.replace(/^\*?\./, '');
  return (host, p) => (!port || p === port) && (host.endsWith(`.${domain}`) || (!subdomainsOnly && host === domain));
}

function splitPort(entry: string): [string, string | undefined] {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return [bracketed[1]!, bracketed[2]];
  const m = /^([^:]+):(\d+)$/.exec(entry);
  return m ? [m[1]!, m[2]] : [entry, undefined];
}

/** `Proxy-Authorization` for a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username && !proxy.password) return {};
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(user).toString('base64')}` };
}

/**
 * An https.Agent that reaches every server through `proxy` with CONNECT, then speaks TLS over
 * the tunnel with the agent's TLS options (CA, client certificate, verification), keeping
 * connections alive as any https.Agent.
 */
export class TunnelingAgent extends https.Agent {
  constructor(
    private readonly proxy: URL,
    options: https.AgentOptions,
    private readonly timeout: number,
  ) {
    super({ keepAlive: true, ...options });
  }

  // https.Agent calls this for each new connection; the callback form lets it wait for CONNECT.
  override createConnection(options: http.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const tlsOptions = options as tls.ConnectionOptions & { host?: string; port?: number };
    const host = tlsOptions.host ?? 'localhost';
    const port = Number(tlsOptions.port ?? 443);
    connectTunnel(this.proxy, host, port, this.timeout).then(
      (socket) => {
        const secure = tls.connect({ ...tlsOptions, socket, servername: tlsOptions.servername ?? (isIP(host) ? '' : host) });
        callback?.(null, secure);
      },
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** A TCP connection to `host:port` through `proxy` (HTTP CONNECT). Unavailable when the proxy refuses. */
export function connectTunnel(proxy: URL, host: string, port: number, timeout: number): Promise<Socket> {
  const target = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: hostName(proxy.host),
      port: proxy.port || 80,
      method: 'CONNECT',
      path: target,
      headers: { Host: target, ...proxyAuthorization(proxy) },
      agent: false,
    });
    req.setTimeout(timeout, () => req.destroy(unavailable(`proxy ${proxy.host}: CONNECT ${target}: no answer in ${timeout} ms`)));
    req.once('connect', (res, socket, head) => {
      req.setTimeout(0);
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(unavailable(`proxy ${proxy.host}: CONNECT ${target}: ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('error', (err) => reject(unavailable(`proxy ${proxy.host}: CONNECT ${target}: ${err.message}`, { cause: err })));
    req.end();
  });
}
