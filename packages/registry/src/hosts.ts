import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { invalidArgument } from '@berth/errdefs';
import type { Capability, EndpointSettings, HostsConfig } from './types';

/** Docker Hub's API host for the `docker.io` domain. */
export const dockerHubHost = 'registry-1.docker.io';

/**
 * One place the client can send requests for a registry domain: the server or a mirror, with
 * its TLS settings. `scheme` may change from https to http once when `httpFallback` is set and
 * the server turns out not to speak TLS.
 */
export interface Endpoint {
  /** The domain of the references this endpoint serves (`docker.io`). */
  domain: string;
  scheme: 'http' | 'https';
  /** `host[:port]`. */
  host: string;
  /** The API root path, `/v2` unless overridden. */
  path: string;
  mirror: boolean;
  capabilities: ReadonlySet<Capability>;
  header: Record<string, string>;
  tls: { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  httpFallback: boolean;
}

/** True for `localhost`, `127.0.0.0/8` and `::1`, with or without a port. */
export function isLoopback(host: string): boolean {
  const name = hostName(host);
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}

/** The host part of `host[:port]` (brackets removed from an IPv6 literal). */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 || host.indexOf(':') !== colon ? host : host.slice(0, colon);
}

function pem(value: string): Buffer {
  return value.trimStart().startsWith('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

function tlsOf(s: EndpointSettings, where: string): Endpoint['tls'] {
  try {
    const tls: Endpoint['tls'] = { rejectUnauthorized: s.skipVerify !== true };
    if (s.ca !== undefined) tls.ca = [...rootCertificates, ...(Array.isArray(s.ca) ? s.ca : [s.ca]).map(pem)];
    if (s.client !== undefined) {
      tls.cert = pem(s.client.cert);
      tls.key = pem(s.client.key);
    }
    return tls;
  } catch (err) {
    throw invalidArgument(`hosts config ${where}: reading TLS files: ${(err as Error).message}`, { cause: err });
  }
}

function parseUrl(url: string, where: string): URL {
  try {
    const u = new URL(url.includes('://') ? url : `https://${url}`);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`scheme ${u.protocol} is not http or https`);
    return u;
  } catch (err) {
    throw invalidArgument(`hosts config ${where}: invalid url ${JSON.stringify(url)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The endpoints for `domain`, mirrors first then the server, from `config[domain]` (or
 * `config._default`). With no configuration: `https://<domain>`, Docker Hub's API host for
 * `docker.io`, and an HTTPS-then-HTTP fallback for loopback hosts. Throws InvalidArgument for a
 * malformed URL or an unreadable CA file.
 */
export function endpointsFor(domain: string, config: HostsConfig = {}): Endpoint[] {
  const hc = config[domain] ?? config['_default'] ?? {};
  const out: Endpoint[] = [];
  for (const [i, m] of (hc.mirrors ?? []).entries()) {
    const where = `${domain} mirrors[${i}]`;
    const u = parseUrl(m.url, where);
    const path = u.pathname.replace(/\/+$/, '');
    out.push({
      domain,
      scheme: u.protocol === 'http:' ? 'http' : 'https',
      host: u.host,
      path: m.overridePath ? path : `${path}/v2`,
      mirror: true,
      capabilities: new Set(m.capabilities ?? ['pull', 'resolve']),
      header: { ...hc.header, ...m.header },
      tls: tlsOf({ ...hc, ...m }, where),
      httpFallback: !m.url.includes('://') && isLoopback(u.host),
    });
  }
  const server = hc.server ?? (domain === 'docker.io' ? `https://${dockerHubHost}` : domain);
  const u = parseUrl(server, `${domain} server`);
  out.push({
    domain,
    scheme: u.protocol === 'http:' ? 'http' : 'https',
    host: u.host,
    path: hc.overridePath ? u.pathname.replace(/\/+$/, '') : `${u.pathname.replace(/\/+$/, '')}/v2`,
    mirror: false,
    capabilities: new Set(hc.capabilities ?? ['pull', 'resolve', 'push']),
    header: { ...hc.header },
    tls: tlsOf(hc, `${domain} server`),
    // An explicit scheme is obeyed; a bare loopback host may be plain HTTP, as in Docker.
    httpFallback: !server.includes('://') && isLoopback(u.host),
  });
  return out;
}
