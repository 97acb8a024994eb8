/**
 * OCI runtime-spec `config.json` types (runtime-spec v1.3, the Linux-relevant parts). Field
 * names are the JSON names exactly, so a `Spec` serializes with `JSON.stringify` as runc and
 * crun read it. Go's unsigned 64-bit fields are `number`: values above 2^53 are not expected.
 */

/** The runtime-spec version berth writes into `ociVersion`. */
export const ociRuntimeVersion = '1.3.0';

/** A container's configuration: the bundle's `config.json`. */
export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

/** The container's init process (and the template for `exec`). */
export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user: User;
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  execCPUAffinity?: CPUAffinity;
}

/** A terminal size in characters. */
export interface Box {
  height: number;
  width: number;
}

/** The user the process runs as, numeric on Linux. */
export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

/** Capability sets by name (`CAP_CHOWN`, …). */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** One resource limit; `type` is e.g. `RLIMIT_NOFILE`. */
export interface POSIXRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** `sched_setattr(2)` parameters for the process. */
export interface Scheduler {
  policy: 'SCHED_OTHER' | 'SCHED_FIFO' | 'SCHED_RR' | 'SCHED_BATCH' | 'SCHED_ISO' | 'SCHED_IDLE' | 'SCHED_DEADLINE';
  nice?: number;
  priority?: number;
  flags?: string[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

/** `ioprio_set(2)` class and level for the process. */
export interface LinuxIOPriority {
  class: 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';
  priority: number;
}

/** CPU affinity of exec'd processes, as cpuset lists (`0-3,7`). */
export interface CPUAffinity {
  initial?: string;
  final?: string;
}

/** The container's root file system. `path` is relative to the bundle or absolute. */
export interface Root {
  path: string;
  readonly?: boolean;
}

/** A mount in the container, applied in order after the root. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

/** A program the runtime runs at a lifecycle point. */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

/** Hooks by lifecycle point (`prestart` is deprecated in favour of the create* hooks). */
export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

/** Linux-specific configuration. */
export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  netDevices?: Record<string, { name?: string }>;
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  personality?: LinuxPersonality;
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
}

/** The Linux namespace kinds. */
export type LinuxNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

/** A namespace to create, or to join when `path` is given (`/proc/<pid>/ns/net`). */
export interface LinuxNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

/** A user-namespace ID range mapping. */
export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** A device node to create in the container. `type` is `c`, `b`, `u` or `p`. */
export interface LinuxDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** cgroup limits. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: { limit?: number };
  blockIO?: LinuxBlockIO;
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  network?: { classID?: number; priorities?: Array<{ name: string; priority: number }> };
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  /** cgroup v2 files and values, e.g. `{ 'memory.high': '1G' }`. */
  unified?: Record<string, string>;
}

/** A device cgroup rule; `access` is a subset of `rwm`. */
export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** Memory limits in bytes (`-1` for unlimited). */
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

/** CPU shares, CFS quota/period (microseconds), cpusets. */
export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

/** A block device by number. */
export interface LinuxBlockIODevice {
  major: number;
  minor: number;
}

/** Block IO weights and throttles. */
export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: Array<LinuxBlockIODevice & { weight?: number; leafWeight?: number }>;
  throttleReadBpsDevice?: Array<LinuxBlockIODevice & { rate: number }>;
  throttleWriteBpsDevice?: Array<LinuxBlockIODevice & { rate: number }>;
  throttleReadIOPSDevice?: Array<LinuxBlockIODevice & { rate: number }>;
  throttleWriteIOPSDevice?: Array<LinuxBlockIODevice & { rate: number }>;
}

/** A seccomp filter: a default action plus per-syscall rules. */
export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

/** A seccomp rule for a set of syscalls. */
export interface LinuxSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

/** Intel RDT (resctrl) settings. */
export interface LinuxIntelRdt {
  closID?: string;
  schemata?: string[];
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableMonitoring?: boolean;
}

/** `personality(2)` domain (`LINUX`, `LINUX32`) and flags. */
export interface LinuxPersonality {
  domain: string;
  flags?: string[];
}
