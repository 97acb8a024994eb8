import { transferTypes } from '@berth/api';
import {
  createRegistryClient,
  dockerConfigCredentials,
  hostsFromDir,
  type CredentialStore,
  type Credentials,
  type HostsConfig,
  type RegistryClient,
  type RegistryHostConfig,
} from '@berth/registry';
import { invalidArgument } from '@berth/errdefs';
import { parseReference } from '@berth/spec';
import { anyTypeName, toAny } from './any';
import type { StreamManager } from './streams';

/** Where berthd finds registry credentials and settings (options of `startEngine`). */
export interface RegistrySettings {
  /** A Docker `config.json` to read credentials from (default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). */
  dockerConfig?: string;
  /** Per-registry settings (mirrors, CAs, ...), merged under what a request's resolver asks for. */
  hosts?: HostsConfig;
  /**
   * containerd's `config_path`: directories of `<host>/hosts.toml` (colon-separated, the first
   * with a directory for the host wins), read at each transfer. A host found there replaces its
   * entry in `hosts`.
   */
  configPath?: string;
  /** Attempts after the first on a dropped connection, 429 or 5xx (the registry client's default: 3). */
  retries?: number;
}

/**
 * A registry client for one transfer's `OCIRegistry`: `resolver.default_scheme` "http" makes the
 * reference's registry plain HTTP (loopback registries fall back to it anyway), `headers` go
 * with every request. Credentials: first the client's `auth_stream`, if named (an AuthRequest
 * Any sent on it, an AuthResponse Any awaited: CREDENTIALS → user and password, REFRESH → an
 * identity token, NONE → none), then the engine host's docker config, read afresh for each
 * transfer. Host settings: the resolver's `host_dir` (`ctr --hosts-dir`), else berthd's
 * `configPath`, else its `hosts` (see `RegistrySettings`). HEADER answers are ignored.
 */
export function registryClientFor(
  reg: transferTypes.OCIRegistry,
  opts: { namespace: string; streams: StreamManager; settings: RegistrySettings; signal: AbortSignal },
): RegistryClient {
  const ref = parseReference(reg.reference);
  const resolver = reg.resolver;
  const scheme = resolver?.defaultScheme || '';
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') throw invalidArgument(`registry resolver: unknown default_scheme ${JSON.stringify(scheme)}`);
  const hosts: HostsConfig = { ...opts.settings.hosts };
  const fromDir = [resolver?.hostDir, ...(opts.settings.configPath ?? '').split(':')]
    .filter((d): d is string => !!d)
    .reduce<RegistryHostConfig | undefined>((found, dir) => found ?? hostsFromDir(dir, ref.domain), undefined);
  if (fromDir) hosts[ref.domain] = fromDir;
  const headers = resolver?.headers ?? {};
  if (scheme || Object.keys(headers).length > 0) {
    const base = hosts[ref.domain] ?? {};
    hosts[ref.domain] = {
      ...base,
      ...(scheme && !base.server ? { server: `${scheme}://${ref.domain}` } : {}),
      ...(Object.keys(headers).length > 0 ? { header: { ...base.header, ...headers } } : {}),
    };
  }
  const fromConfig = dockerConfigCredentials(opts.settings.dockerConfig);
  const authStream = resolver?.authStream;
  const credentials: CredentialStore = {
    async get(host) {
      if (authStream) {
        const got = await askStream(opts.streams.get(opts.namespace, authStream), host, reg.reference, opts.signal);
        if (got) return got;
      }
      return fromConfig.get(host);
    },
  };
  return createRegistryClient({
    hosts,
    credentials,
    signal: opts.signal,
    ...(opts.settings.retries !== undefined ? { retries: opts.settings.retries } : {}),
  });
}

const AUTH_RESPONSE = 'containerd.types.transfer.AuthResponse';

async function askStream(stream: import('./streams').ClientStream, host: string, reference: string, signal: AbortSignal): Promise<Credentials | undefined> {
  await stream.send(toAny('containerd.types.transfer.AuthRequest', transferTypes.AuthRequest, { host, reference, wwwauthenticate: [] }));
  const answer = await stream.recv(signal);
  if (!answer || anyTypeName(answer.typeUrl) !== AUTH_RESPONSE) return undefined;
  const r = transferTypes.AuthResponse.decode(answer.value);
  switch (r.authType) {
    case transferTypes.AuthType.CREDENTIALS:
      return { username: r.username, password: r.secret };
    case transferTypes.AuthType.REFRESH:
      return { username: r.username, password: '', identityToken: r.secret };
    default:
      return undefined;
  }
}
