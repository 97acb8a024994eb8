// Digests and descriptors
export {
  parseDigest,
  isDigest,
  isSupportedAlgorithm,
  digestAlgorithm,
  digestEncoded,
  createDigester,
  digestOf,
  canonicalAlgorithm,
} from './digest';
export type { Digest, DigestAlgorithm, Digester } from './digest';
export type { Descriptor, Platform } from './descriptor';

// Media types
export {
  MediaType,
  isIndexMediaType,
  isManifestMediaType,
  isConfigMediaType,
  isLayerMediaType,
  compressionOf,
} from './media-types';
export type { Compression } from './media-types';

// Filters (containerd syntax)
export { parseFilters, parseFilter } from './filters';
export type { Adaptor, Filter } from './filters';

// Image-spec documents and their validation
export type { Index, Manifest, ImageConfig, ImageRuntimeConfig, HealthConfig, RootFS, History } from './image';
export { parseDescriptor } from './validate-descriptor';
export { parseIndex, parseManifest } from './validate-manifest';
export { parseImageConfig } from './validate-config';
export { chainId, chainIds } from './chain-id';

// Runtime-spec
export { ociRuntimeVersion } from './runtime-spec';
export type {
  Spec,
  Process,
  Box,
  User,
  LinuxCapabilities,
  POSIXRlimit,
  Scheduler,
  LinuxIOPriority,
  CPUAffinity,
  Root,
  Mount,
  Hook,
  Hooks,
  Linux,
  LinuxNamespaceType,
  LinuxNamespace,
  LinuxIDMapping,
  LinuxDevice,
  LinuxResources,
  LinuxDeviceCgroup,
  LinuxMemory,
  LinuxCPU,
  LinuxBlockIODevice,
  LinuxBlockIO,
  LinuxSeccomp,
  LinuxSyscall,
  LinuxIntelRdt,
  LinuxPersonality,
} from './runtime-spec';

// References
export {
  parseReference,
  formatReference,
  normalizeReference,
  familiarName,
  familiarString,
  defaultDomain,
  defaultTag,
  maxPathLength,
} from './reference';
export type { Reference } from './reference';

// Platforms
export { parsePlatform, formatPlatform, normalizePlatform, defaultPlatform } from './platform';
export {
  platformMatcher,
  orderedPlatforms,
  compatiblePlatforms,
  onlyPlatform,
  onlyPlatformStrict,
  comparePlatforms,
} from './platform-matcher';
export type { PlatformMatcher, PlatformMatchComparer } from './platform-matcher';

// containerd labels and identifiers
export {
  Label,
  maxLabelSize,
  gcRefContent,
  gcRefContentManifest,
  gcRefContentLayer,
  gcRefSnapshot,
  distributionSource,
  isReservedLabel,
  validateLabel,
  validateLabels,
} from './labels';
export { validateIdentifier, isIdentifier, maxIdentifierLength } from './identifiers';
