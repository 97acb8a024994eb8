import { parseReference } from '@berth/spec';
import { Authorizer } from './auth';
import { createFetcher } from './fetcher';
import { endpointsFor, type Endpoint } from './hosts';
import { ProxyRules, proxyFromEnvironment } from './proxy';
import { createPusher } from './pusher';
import { Repository, combineSignals, type ClientContext } from './repository';
import { resolveReference } from './resolver';
import { Transport } from './transport';
import type { RegistryClient, RegistryClientOptions } from './types';

/**
 * A client for OCI distribution registries (see `RegistryClient`). Endpoints, their TLS
 * settings and the challenges and tokens of each host are shared by every resolver, fetcher and
 * pusher it makes; `close()` ends its keep-alive connections. InvalidArgument for a proxy URL
 * (given or from HTTP_PROXY/HTTPS_PROXY) that is not an http:// URL.
 */
export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  const proxy = opts.proxy === false ? undefined : new ProxyRules(opts.proxy ?? proxyFromEnvironment());
  const transport = new Transport({
    userAgent: opts.userAgent ?? 'berth/0.1',
    timeout: opts.timeout ?? 30_000,
    retries: opts.retries ?? 3,
    retryDelay: opts.retryDelay ?? 200,
    ...(proxy && { proxy }),
  });
  const ctx: ClientContext = {
    transport,
    authorizer: new Authorizer(transport, opts.credentials),
    timeout: transport.opts.timeout,
    retries: transport.opts.retries,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  // One endpoint list per domain, so a learned HTTP fallback sticks.
  const endpoints = new Map<string, Endpoint[]>();
  const repository = (ref: string): [Repository, ReturnType<typeof parseReference>] => {
    const parsed = parseReference(ref);
    let eps = endpoints.get(parsed.domain);
    if (!eps) {
      eps = endpointsFor(parsed.domain, opts.hosts);
      endpoints.set(parsed.domain, eps);
    }
    return [new Repository(ctx, parsed.domain, parsed.path, eps), parsed];
  };

  return {
    async resolve(ref, o = {}) {
      const [repo, parsed] = repository(ref);
      return resolveReference(repo, parsed, combineSignals(opts.signal, o.signal));
    },
    fetcher: (ref) => createFetcher(repository(ref)[0]),
    pusher: (ref) => createPusher(repository(ref)[0]),
    close: () => transport.close(),
  };
}
