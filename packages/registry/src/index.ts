export { createRegistryClient } from './client';
export { dockerConfigCredentials, staticCredentials, runHelper, dockerHubAuthKey } from './credentials';
export type { DockerConfigOptions } from './credentials';
export { parseChallenges } from './challenge';
export type { Challenge } from './challenge';
export { endpointsFor, isLoopback, dockerHubHost } from './hosts';
export { proxyFromEnvironment, ProxyRules } from './proxy';
export { hostsFromDir, parseHostsToml } from './hosts-dir';
export type { ProxySettings } from './proxy';
export type { Endpoint } from './hosts';
export { manifestAccept } from './fetcher';
export { maxManifestSize } from './resolver';
export { readStream, pushTree } from './helpers';
export type { ContentSource, PushTreeOptions } from './helpers';
export type {
  Capability,
  EndpointSettings,
  MirrorConfig,
  RegistryHostConfig,
  HostsConfig,
  Credentials,
  CredentialStore,
  RegistryClientOptions,
  Resolved,
  FetchOptions,
  Fetcher,
  PushContent,
  PushResult,
  PushOptions,
  Pusher,
  RegistryClient,
} from './types';
