import type { ImageConfig } from '@berth/spec';

/** A host directory or file bind-mounted into the container. */
export interface BindMount {
  type: 'bind';
  /** Absolute host path. */
  source: string;
  /** Absolute path in the container. */
  destination: string;
  readonly?: boolean;
  /** Extra mount options appended as is (`rprivate`, `nosuid`, …). */
  options?: string[];
}

/** A fresh tmpfs in the container. */
export interface TmpfsMount {
  type: 'tmpfs';
  /** Absolute path in the container. */
  destination: string;
  /** Bytes; omitted means the kernel default (half of RAM). */
  size?: number;
  /** Permission bits of the tmpfs root; default 0o1777. */
  mode?: number;
  readonly?: boolean;
  options?: string[];
}

/** Extra mounts a caller can ask for; one at a destination a default mount uses replaces it. */
export type ContainerMount = BindMount | TmpfsMount;

/** cgroup limits a caller can set; all optional, all positive integers. */
export interface ContainerResources {
  /** Memory limit in bytes. */
  memory?: number;
  /** Relative CPU weight (cgroup v1 `cpu.shares`, 2–262144). */
  cpuShares?: number;
  /** CFS quota in microseconds per `cpuPeriod`. */
  cpuQuota?: number;
  /** CFS period in microseconds (1000–1000000); default 100000 when `cpuQuota` is set. */
  cpuPeriod?: number;
  /** Maximum number of tasks. */
  pids?: number;
}

/**
 * The network namespace of a container: `none` (its own, empty, the default), `host` (the
 * host's; no network namespace in the spec) or `{ path }` (join an existing one, e.g. a pod's).
 */
export type NetworkMode = 'none' | 'host' | { path: string };

/** Input of `generateSpec`. Everything but `image`, `rootfs` and `id` is optional. */
export interface GenerateSpecOptions {
  /** The image's config (its `config` member supplies Entrypoint, Cmd, Env, WorkingDir, User). */
  image: ImageConfig;
  /** The rootfs directory: written to `root.path` as given, and read for /etc/passwd and /etc/group. */
  rootfs: string;
  /** The container ID, used for the default cgroups path. */
  id: string;
  /** Replaces the image's Cmd. */
  args?: string[];
  /** Replaces the image's Entrypoint and clears its Cmd (Docker's `--entrypoint`); `[]` clears both. */
  entrypoint?: string[];
  /** `KEY=value` entries merged over the image's Env by key; a bare `KEY` removes it. */
  env?: string[];
  /** Replaces the image's WorkingDir; must be absolute. */
  cwd?: string;
  /** Replaces the image's User (`name`, `uid`, `name:group`, `uid:gid`). */
  user?: string;
  hostname?: string;
  terminal?: boolean;
  readonlyRootfs?: boolean;
  mounts?: ContainerMount[];
  resources?: ContainerResources;
  /** Default `/berth/<id>` (cgroupfs driver). */
  cgroupsPath?: string;
  noNewPrivileges?: boolean;
  network?: NetworkMode;
  /**
   * The hard RLIMIT_NOFILE the runtime will run under; default this process's, read from
   * /proc/self/limits. Default rlimits are clamped to it.
   */
  hostNofileHard?: number;
  /** Default `GENERATED_OCI_VERSION` (1.1.0, the newest crun 1.8 accepts). */
  ociVersion?: string;
}
