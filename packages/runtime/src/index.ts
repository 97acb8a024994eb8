export { generateSpec, GENERATED_OCI_VERSION } from './spec/generate';
export type { BindMount, ContainerMount, ContainerResources, GenerateSpecOptions, NetworkMode, TmpfsMount } from './spec/types';
export { resolveUser, parsePasswd, parseGroup } from './spec/user';
export type { GroupEntry, PasswdEntry } from './spec/user';
export { mergeEnv } from './spec/env';
export { hostNofileHardLimit } from './spec/host-limits';
export {
  DEFAULT_PATH_ENV,
  DEFAULT_NOFILE,
  defaultCapabilities,
  defaultMounts,
  defaultNamespaces,
  defaultMaskedPaths,
  defaultReadonlyPaths,
  defaultDeviceRules,
  defaultRlimits,
} from './spec/defaults';
export { createRuntime, flavorOf } from './runtime/oci-runtime';
export { detectRuntimes } from './runtime/detect';
export type { DetectedRuntime, RuntimeDetection } from './runtime/detect';
export { cgroupMode } from './runtime/cgroup-mode';
export type { CgroupMode } from './runtime/cgroup-mode';
export { crunNeedsWrapper } from './runtime/crun-wrapper';
export { cgroupAttachPrimer, processCgroupAttachPrimer, ownCgroupProcsFile } from './runtime/cgroup-attach-primer';
export type { CgroupAttachPrimer } from './runtime/cgroup-attach-primer';
export { sealedExecutable } from './runtime/sealed-binary';
export type {
  ContainerState,
  ContainerStats,
  CreateOptions,
  ExecOptions,
  OciRuntime,
  RunOptions,
  RuntimeFlavor,
  RuntimeOptions,
  Stdio,
  StdioTarget,
} from './runtime/types';
