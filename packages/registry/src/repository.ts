import type { IncomingMessage } from 'node:http';
import type { Authorizer } from './auth';
import type { Endpoint } from './hosts';
import type { HttpRequest, Transport } from './transport';
import type { Capability } from './types';

/** What the resolver, fetcher and pusher share: one client's transport, auth and settings. */
export interface ClientContext {
  transport: Transport;
  authorizer: Authorizer;
  signal?: AbortSignal;
  timeout: number;
  retries: number;
}

/** The client's signal and a call's, as one. */
export function combineSignals(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

/**
 * One repository (`library/busybox` of `docker.io`) on its endpoints. `request` sends a request
 * with the Authorization the endpoint asks for and answers one 401 challenge before giving up
 * with Unauthenticated; any other status is returned for the caller to judge.
 */
export class Repository {
  constructor(
    readonly ctx: ClientContext,
    readonly domain: string,
    readonly path: string,
    readonly endpoints: Endpoint[],
  ) {}

  /** The endpoints with `capability`, in the order they are tried. */
  with(capability: Capability): Endpoint[] {
    return this.endpoints.filter((ep) => ep.capabilities.has(capability));
  }

  /**
   * The URL path of `suffix` (`manifests/latest`, `blobs/uploads/`) in this repository on `ep`;
   * a mirror gets `ns=<domain>` so that one mirror can serve several registries.
   */
  url(ep: Endpoint, suffix: string, query?: Record<string, string>): string {
    const q = new URLSearchParams(query);
    if (ep.mirror) q.set('ns', this.domain);
    const qs = q.toString();
    return `${ep.path}/${this.path}/${suffix}${qs ? `?${qs}` : ''}`;
  }

  async request(ep: Endpoint, req: HttpRequest, scopes: string[], what: string): Promise<IncomingMessage> {
    const signal = combineSignals(this.ctx.signal, req.signal);
    const send = async (): Promise<IncomingMessage> => {
      const auth = await this.ctx.authorizer.header(ep, scopes, signal);
      const headers = { ...req.headers, ...(auth ? { Authorization: auth } : {}) };
      return this.ctx.transport.send(ep, { ...req, headers, signal });
    };
    let res = await send();
    if (res.statusCode !== 401) return res;
    res.resume();
    this.ctx.authorizer.unauthorized(ep, res, scopes);
    res = await send();
    if (res.statusCode !== 401) return res;
    throw await this.ctx.authorizer.refused(ep, res, what);
  }
}
