import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { dataLoss, deadlineExceeded, unavailable } from '@berth/errdefs';
import { hostName, type Endpoint } from './hosts';
import { proxyAuthorization, TunnelingAgent, type ProxyRules } from './proxy';

/** A request to an endpoint. `url` is a path below the endpoint's origin or an absolute URL. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Bytes (resent as they are on a retry), or a factory opening a fresh stream per attempt. */
  body?: Uint8Array | (() => Readable | Promise<Readable>);
  signal?: AbortSignal;
  /** Allow retries on 429/5xx/dropped connections. Default true. */
  retry?: boolean;
}

export interface TransportOptions {
  userAgent: string;
  timeout: number;
  retries: number;
  retryDelay: number;
  /** The HTTP proxies to go through (see proxy.ts); none when absent. */
  proxy?: ProxyRules;
}

const retryStatus = new Set([429, 500, 502, 503, 504]);
const certErrors = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;
const maxRedirects = 10;

/** The origin (`scheme://host`) an endpoint is reached at now. */
export function originOf(ep: Endpoint): string {
  return `${ep.scheme}://${ep.host}`;
}

/**
 * Sends HTTP requests to registry endpoints: one keep-alive agent per endpoint TLS setting,
 * redirects followed (Authorization is dropped when the origin changes, as blob storage must
 * not see registry credentials), retries with exponential backoff on 429, 5xx and dropped
 * connections, a timeout until the response headers arrive, and the HTTPS-to-HTTP fallback of
 * loopback endpoints when the server does not speak TLS. Through a proxy where `opts.proxy`
 * says so: plain HTTP as absolute-form requests to it, HTTPS through a CONNECT tunnel.
 */
export class Transport {
  private readonly agents = new Map<Endpoint['tls'], https.Agent>();
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  /** By proxy URL, then by the endpoint's TLS settings (undefined: the defaults). */
  private readonly tunnels = new Map<string, Map<Endpoint['tls'] | undefined, TunnelingAgent>>();

  constructor(readonly opts: TransportOptions) {}

  close(): void {
    this.httpAgent.destroy();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    for (const byTls of this.tunnels.values()) for (const a of byTls.values()) a.destroy();
    this.tunnels.clear();
  }

  private tunnel(proxy: URL, tlsSettings: Endpoint['tls'] | undefined): TunnelingAgent {
    let byTls = this.tunnels.get(proxy.href);
    if (!byTls) this.tunnels.set(proxy.href, (byTls = new Map()));
    let agent = byTls.get(tlsSettings);
    if (!agent) byTls.set(tlsSettings, (agent = new TunnelingAgent(proxy, { ...tlsSettings }, this.opts.timeout)));
    return agent;
  }

  private httpsAgent(ep: Endpoint): https.Agent {
    let agent = this.agents.get(ep.tls);
    if (!agent) {
      agent = new https.Agent({ keepAlive: true, ...ep.tls });
      this.agents.set(ep.tls, agent);
    }
    return agent;
  }

  /** Sends `req`, following redirects and retrying. Resolves with the final response, any status. */
  async send(ep: Endpoint, req: HttpRequest): Promise<IncomingMessage> {
    const attempts = req.retry === false ? 1 : this.opts.retries + 1;
    for (let attempt = 1; ; attempt++) {
      let res: IncomingMessage;
      try {
        res = await this.follow(ep, req);
      } catch (err) {
        if (attempt >= attempts || !retryable(err) || req.signal?.aborted) throw err;
        await sleep(this.backoff(attempt), undefined, { signal: req.signal });
        continue;
      }
      if (attempt >= attempts || !retryStatus.has(res.statusCode ?? 0)) return res;
      const after = Number(res.headers['retry-after']);
      res.resume();
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30_000) : this.backoff(attempt), undefined, {
        signal: req.signal,
      });
    }
  }

  private backoff(attempt: number): number {
    return this.opts.retryDelay * 2 ** (attempt - 1);
  }

  private async follow(ep: Endpoint, req: HttpRequest): Promise<IncomingMessage> {
    let url = new URL(req.url, originOf(ep));
    let method = req.method;
    let headers = { ...req.headers };
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const res = await this.once(ep, method, url, headers, body, req.signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (![301, 302, 303, 307, 308].includes(status) || location === undefined || method === 'POST' || method === 'PATCH') {
        return res;
      }
      if (hop >= maxRedirects) {
        res.resume();
        throw unavailable(`registry ${ep.host}: ${req.method} ${req.url}: more than ${maxRedirects} redirects`);
      }
      res.resume();
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        const { authorization: _, Authorization: __, ...rest } = headers;
        headers = rest;
      }
      if (status === 303) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  /** One HTTP exchange; the endpoint's agent is used only for URLs on its own origin. */
  private async once(
    ep: Endpoint,
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: HttpRequest['body'],
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const own = url.host === ep.host && (url.protocol === `${ep.scheme}:` || ep.httpFallback);
    if (own && url.protocol !== `${ep.scheme}:`) url = new URL(url.href.replace(/^https?:/, `${ep.scheme}:`));
    const source = typeof body === 'function' ? await body() : undefined;
    const length = body instanceof Uint8Array ? body.length : undefined;
    try {
      return await this.exchange(ep, own, method, url, headers, body instanceof Uint8Array ? body : source, length, signal);
    } catch (err) {
      source?.destroy();
      if (own && ep.httpFallback && url.protocol === 'https:' && notTls(err)) {
        ep.scheme = 'http';
        return this.once(ep, method, new URL(url.href.replace(/^https:/, 'http:')), headers, body, signal);
      }
      throw err;
    }
  }

  /** The request for `url`: directly, or through its proxy (absolute form for http, a CONNECT tunnel for https). */
  private request(
    ep: Endpoint,
    own: boolean,
    method: string,
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): http.ClientRequest {
    const secure = url.protocol === 'https:';
    const proxy = this.opts.proxy?.proxyFor(url);
    if (proxy && !secure) {
      const target = { host: hostName(proxy.host), port: proxy.port || 80, path: url.href };
      return http.request({ ...target, method, agent: this.httpAgent, signal, headers: { ...headers, Host: url.host, ...proxyAuthorization(proxy) } });
    }
    return (secure ? https : http).request(url, { method, headers, agent: this.agentFor(ep, own, secure, proxy), signal });
  }

  /** The endpoint's own agents serve only its origin; other origins (blob storage) get Node's defaults. */
  private agentFor(ep: Endpoint, own: boolean, secure: boolean, proxy: URL | undefined): http.Agent {
    if (proxy) return this.tunnel(proxy, own ? ep.tls : undefined);
    if (secure) return own ? this.httpsAgent(ep) : https.globalAgent;
    return own ? this.httpAgent : http.globalAgent;
  }

  private exchange(
    ep: Endpoint,
    own: boolean,
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Uint8Array | Readable | undefined,
    length: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const h: Record<string, string> = { 'User-Agent': this.opts.userAgent, ...(own ? ep.header : {}), ...headers };
    if (length !== undefined) h['Content-Length'] = String(length);
    const what = `registry ${url.host}: ${method} ${url.pathname}`;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.request(ep, own, method, url, h, signal);
      req.setTimeout(this.opts.timeout, () => req.destroy(deadlineExceeded(`${what}: no response in ${this.opts.timeout} ms`)));
      req.on('response', (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      req.on('error', (err) => reject(describe(err, what)));
      if (body === undefined) req.end();
      else if (body instanceof Uint8Array) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }
}

function notTls(err: unknown): boolean {
  const e = (err as { cause?: { code?: string; message?: string } }).cause ?? (err as { code?: string; message?: string });
  return e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(e.message ?? '');
}

function retryable(err: unknown): boolean {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === 'AbortError') return false;
  const code = e.cause?.code ?? '';
  if (certErrors.test(code) || code.startsWith('ERR_SSL') || code === 'EPROTO') return false;
  return true;
}

/** Turns a socket or TLS error into an Unavailable naming the request; an abort stays as it is. */
function describe(err: unknown, what: string): unknown {
  const e = err as Error & { code?: string };
  if (e.name === 'AbortError' || (e as { kind?: string }).kind !== undefined) return err;
  if (certErrors.test(e.code ?? '')) {
    return unavailable(`${what}: TLS certificate not trusted (${e.message}); configure the registry's CA in its host settings`, {
      cause: err,
    });
  }
  return unavailable(`${what}: ${e.message}`, { cause: err });
}

/** Reads a whole body of at most `limit` bytes; a longer one is refused with DataLoss. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.destroy();
      throw dataLoss(`${what}: body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
