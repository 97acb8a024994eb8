import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument } from '@berth/errdefs';
import type { Capability, EndpointSettings, MirrorConfig, RegistryHostConfig } from './types';

/**
 * containerd's registry configuration directory (`config_path`, `ctr --hosts-dir`), e.g.
 * `/etc/containerd/certs.d`: one directory per registry host, `<dir>/<host>/hosts.toml`, found as
 * `<host>_<port>_`, then `<host>:<port>`, then `_default`. Read when asked, so edits apply to the
 * next pull without a restart.
 *
 * hosts.toml, as containerd reads it:
 * ```toml
 * server = "https://registry.example.com"       # default: the host itself
 * ca = "ca.crt"                                 # or a list; relative to the host's directory
 * [host."https://mirror.example.com"]           # mirrors, tried in the order written
 *   capabilities = ["pull", "resolve"]
 *   skip_verify = false
 *   override_path = false                       # true: the URL's path is the API root, no /v2
 *   client = [["client.cert", "client.key"]]    # or "both.pem", one file holding both
 *   [host."https://mirror.example.com".header]
 *     x-custom = "value"                        # or a list of values
 * ```
 * Without hosts.toml, Docker's certificate files in the directory are used for the server:
 * `*.crt` as CAs, `*.cert` with the `*.key` of the same name as the client key pair.
 * `dial_timeout` is accepted and not used. Only one client key pair per host is supported.
 */

/**
 * The settings for `domain` (`docker.io`, `localhost:5000`) from the configuration directory
 * `root`, or undefined when it has none for it (not even `_default`). InvalidArgument naming
 * the file for a hosts.toml that cannot be parsed or holds a wrong value.
 */
export function hostsFromDir(root: string, domain: string): RegistryHostConfig | undefined {
  const dir = hostDirFor(root, domain);
  if (dir === undefined) return undefined;
  const file = join(dir, 'hosts.toml');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw invalidArgument(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return text === undefined || text.trim() === '' ? certFiles(dir) : parseHostsToml(text, dir, file);
}

function hostDirFor(root: string, domain: string): string | undefined {
  const colon = domain.lastIndexOf(':');
  const candidates = colon > 0 && !domain.endsWith(']') ? [`${domain.slice(0, colon)}_${domain.slice(colon + 1)}_`, domain] : [domain];
  for (const name of [...candidates, '_default']) {
    const dir = join(root, name);
    try {
      if (statSync(dir).isDirectory()) return dir;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/** One hosts.toml (text) of the host directory `dir` as berth's settings. `file` names it in errors. */
export function parseHostsToml(text: string, dir: string, file = join(dir, 'hosts.toml')): RegistryHostConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const fail = (what: string): never => {
    throw invalidArgument(`${file}: ${what}`);
  };
  const out: RegistryHostConfig = settingsOf(doc, dir, 'the server', fail);
  if (doc.server !== undefined) {
    if (typeof doc.server !== 'string') fail('server must be a string');
    const { url, overridePath } = apiUrl(doc.server as string, doc.override_path === true);
    out.server = url.replace('://docker.io', '://registry-1.docker.io');
    if (overridePath) out.overridePath = true;
  }
  const hosts = doc.host ?? {};
  if (typeof hosts !== 'object' || Array.isArray(hosts)) fail('host must be a table of [host."URL"] tables');
  const mirrors: MirrorConfig[] = [];
  for (const [url, value] of Object.entries(hosts as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`host.${JSON.stringify(url)} must be a table`);
    const table = value as Record<string, unknown>;
    const api = apiUrl(url, table.override_path === true);
    mirrors.push({ url: api.url, ...settingsOf(table, dir, `host ${JSON.stringify(url)}`, fail), ...(api.overridePath ? { overridePath: true } : {}) });
  }
  if (mirrors.length > 0) out.mirrors = mirrors;
  return out;
}

/** A server or mirror URL as containerd reads it: https:// by default; a trailing /v2 is the API root. */
function apiUrl(value: string, overridePath: boolean): { url: string; overridePath: boolean } {
  const url = value.startsWith('http') ? value : `https://${value}`;
  const v2 = /\/v2\/?$/.exec(url);
  // berth appends /v2 itself unless told the path is the API root.
  return v2 && !overridePath ? { url: url.slice(0, v2.index), overridePath: false } : { url, overridePath };
}

function settingsOf(t: Record<string, unknown>, dir: string, where: string, fail: (what: string) => never): EndpointSettings {
  const out: EndpointSettings = {};
  const path = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  const strings = (v: unknown, name: string): string[] => {
    const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : fail(`${where}: ${name} must be a string or a list of strings`);
    if (!list.every((s) => typeof s === 'string')) fail(`${where}: ${name} must be a string or a list of strings`);
    return list as string[];
  };
  if (t.ca !== undefined) out.ca = strings(t.ca, 'ca').map(path);
  if (t.client !== undefined) {
    const pairs: [string, string][] = [];
    for (const entry of typeof t.client === 'string' ? [t.client] : Array.isArray(t.client) ? t.client : fail(`${where}: client must be a file, a list of files or of [cert, key] pairs`)) {
      // A lone file holds the certificate and its key; an empty key means the same.
      if (typeof entry === 'string') pairs.push([path(entry), path(entry)]);
      else if (Array.isArray(entry) && entry.length === 2 && entry.every((s) => typeof s === 'string')) {
        const [cert, key] = entry as [string, string];
        pairs.push([path(cert), path(key || cert)]);
      } else fail(`${where}: client must be a file, a list of files or of [cert, key] pairs`);
    }
    if (pairs.length > 1) fail(`${where}: only one client key pair per host is supported`);
    if (pairs[0]) out.client = { cert: pairs[0][0], key: pairs[0][1] };
  }
  if (t.skip_verify !== undefined) {
    if (typeof t.skip_verify !== 'boolean') fail(`${where}: skip_verify must be true or false`);
    out.skipVerify = t.skip_verify as boolean;
  }
  if (t.capabilities !== undefined) {
    const caps = strings(t.capabilities, 'capabilities').map((c) => c.toLowerCase());
    const unknown = caps.find((c) => c !== 'pull' && c !== 'resolve' && c !== 'push');
    if (unknown !== undefined) fail(`${where}: unknown capability ${JSON.stringify(unknown)}`);
    out.capabilities = caps as Capability[];
  }
  if (t.header !== undefined) {
    if (typeof t.header !== 'object' || t.header === null || Array.isArray(t.header)) fail(`${where}: header must be a table`);
    out.header = Object.fromEntries(Object.entries(t.header as Record<string, unknown>).map(([k, v]) => [k, strings(v, `header ${k}`).join(', ')]));
  }
  return out;
}

/** Docker's certificate files of a host directory without hosts.toml: the server's CAs and client pair. */
function certFiles(dir: string): RegistryHostConfig {
  const names = readdirSync(dir).filter((n) => !statSync(join(dir, n)).isDirectory()).sort();
  const out: RegistryHostConfig = {};
  const cas = names.filter((n) => n.endsWith('.crt')).map((n) => join(dir, n));
  if (cas.length > 0) out.ca = cas;
  const certs = names.filter((n) => n.endsWith('.cert'));
  if (certs.length > 1) throw invalidArgument(`${dir}: only one client key pair (*.cert) per host is supported`);
  if (certs[0]) {
    const key = join(dir, `${certs[0].slice(0, -'.cert'.length)}.key`);
    out.client = { cert: join(dir, certs[0]), key: existsSync(key) ? key : join(dir, certs[0]) };
  }
  return out;
}
