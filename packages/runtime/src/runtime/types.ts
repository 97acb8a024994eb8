import type { LinuxResources, Process } from '@berth/spec';
import type { CgroupAttachPrimer } from './cgroup-attach-primer';

/** Which OCI runtime implementation a binary is; decides the few places they differ. */
export type RuntimeFlavor = 'runc' | 'crun';

/**
 * What a child's fd 0/1/2 are: an open fd number (inherited by the runtime and, without a
 * terminal, by the container's process), `'ignore'` (/dev/null) or `'inherit'` (this process's).
 */
export type StdioTarget = number | 'ignore' | 'inherit';

/** The stdin, stdout and stderr of a container process. */
export type Stdio = [StdioTarget, StdioTarget, StdioTarget];

/** Options of `OciRuntime.create`. */
export interface CreateOptions {
  /** Where the runtime writes the init's host pid. */
  pidFile?: string;
  /** Unix socket that receives the pty master when `process.terminal` is true. */
  consoleSocket?: string;
  /** The init's stdio when not using a terminal; default all `'ignore'`. */
  stdio?: Stdio;
  /** Do not create a new session keyring (`--no-new-keyring`). */
  noNewKeyring?: boolean;
}

/** Options of `OciRuntime.exec`. */
export interface ExecOptions {
  pidFile?: string;
  /** Return once the process started (its pid in `pidFile`) instead of when it exits. */
  detach?: boolean;
  stdio?: Stdio;
  consoleSocket?: string;
}

/** Options of `OciRuntime.run`. */
export interface RunOptions {
  stdio?: Stdio;
  pidFile?: string;
  noNewKeyring?: boolean;
}

/** The runtime's `state` output (OCI runtime-spec state, plus the runtime's extras). */
export interface ContainerState {
  ociVersion: string;
  id: string;
  /** Host pid of the init; 0 once stopped. */
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  bundle: string;
  rootfs?: string;
  created?: string;
  owner?: string;
  annotations?: Record<string, string>;
}

/** One memory counter of runc's stats: bytes used, its limit, the peak, how often the limit was hit. */
export interface MemoryEntry {
  usage?: number;
  max?: number;
  limit?: number;
  failcnt?: number;
}

/** One `events --stats` sample: the runtime's `data` member, as it reports it. */
export interface ContainerStats {
  cpu?: { usage?: { total?: number; user?: number; kernel?: number; percpu?: number[] }; throttling?: Record<string, number> };
  memory?: {
    usage?: MemoryEntry;
    swap?: MemoryEntry;
    kernel?: MemoryEntry;
    kernelTCP?: MemoryEntry;
    cache?: number;
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
  [key: string]: unknown;
}

/**
 * The OCI runtime command line as a typed interface: one method per runtime subcommand, each
 * a single invocation of the binary with `--root` as the state dir.
 *
 * Errors: a failing invocation throws a BerthError carrying the runtime's own last error message
 * (from its JSON log): NotFound when the container does not exist, AlreadyExists when the ID is
 * taken, Unavailable when the binary cannot be run, NotImplemented for a subcommand this runtime
 * lacks, FailedPrecondition otherwise (wrong state, bad spec, kernel refusal).
 *
 * Lifecycle: `create` → `start` → (process exits | `kill`) → `delete`. The caller owns reaping:
 * the init is not a child of this process (the runtime forks and exits), except under `run`.
 */
export interface OciRuntime {
  /** `runc`, `crun`, or the path given. */
  readonly binary: string;
  readonly flavor: RuntimeFlavor;
  /** The state dir (`--root`). */
  readonly root: string;

  /**
   * Creates container `id` from the bundle dir (holding `config.json`): namespaces, cgroups,
   * mounts set up, the init waiting to exec the user process. Resolves once the runtime exits.
   * Without a terminal the init inherits `stdio`, so the caller may close its copies afterwards.
   */
  create(id: string, bundle: string, opts?: CreateOptions): Promise<void>;
  /** Starts the user process of a created container. FailedPrecondition unless `created`. */
  start(id: string): Promise<void>;
  /** The container's state. NotFound when it does not exist. */
  state(id: string): Promise<ContainerState>;
  /** Every container under `root`. */
  list(): Promise<ContainerState[]>;
  /** Sends `signal` to the init, or with `all` to every process of the container. */
  kill(id: string, signal: NodeJS.Signals | number, opts?: { all?: boolean }): Promise<void>;
  /**
   * Deletes the container's state and cgroups. Must be stopped (or created) unless `force`,
   * which kills it first. NotFound when it does not exist.
   */
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  /**
   * Runs `process` in the running container. With `detach`, resolves once it started and
   * returns 0; otherwise resolves with its exit code when it ends.
   */
  exec(id: string, process: Process, opts?: ExecOptions): Promise<number>;
  /** Freezes every process of the container (state `paused`). */
  pause(id: string): Promise<void>;
  /** Thaws a paused container (state `running`). */
  resume(id: string): Promise<void>;
  /** Applies new cgroup limits to a live container. */
  update(id: string, resources: LinuxResources): Promise<void>;
  /** Host pids of every process of the container. */
  ps(id: string): Promise<number[]>;
  /** One stats sample: runc's `events --stats`; for crun (no `events`), read from the container's cgroup files. */
  stats(id: string): Promise<ContainerStats>;
  /**
   * Create + start + wait in the foreground; resolves with the container's exit code (128+n when
   * killed by signal n). The runtime deletes the container when it ends. For one-shot runs
   * and benchmarks; a supervisor should use create/start and reap the init itself.
   */
  run(id: string, bundle: string, opts?: RunOptions): Promise<number>;
}

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  /** `'runc'`, `'crun'` (looked up on PATH) or a path to a binary. */
  binary: string;
  /** The state dir passed as `--root`, e.g. `/run/berth/runc`. */
  root: string;
  /** When set, every invocation's JSON log lines are appended to this file as well. */
  log?: string;
  /** Overrides the flavor guessed from the binary's name. */
  flavor?: RuntimeFlavor;
  /**
   * Whether to run crun with the cgroup2 mount of a hybrid host hidden (see `crun-wrapper.ts`).
   * Default: detected (crun on a hybrid host).
   */
  hideUnifiedCgroup?: boolean;
  /**
   * Started alongside every call that attaches a process to a cgroup (create, run, exec), so
   * the kernel's wait for the attach overlaps the runtime's start-up (see
   * `cgroup-attach-primer.ts`). Default: one primer shared by the whole process; null for none.
   */
  cgroupAttachPrimer?: CgroupAttachPrimer | null;
  /**
   * Run the binary from a sealed copy this process holds (see `sealed-binary.ts`), which runc
   * and crun recognise and then do not copy themselves at every call. Default true.
   */
  sealedCopy?: boolean;
}
