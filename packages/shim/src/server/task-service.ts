import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { protobuf, task } from '@berth/api';
import { runcOptions, taskTypes } from '@berth/api';
import { alreadyExists, failedPrecondition, invalidArgument, isNotFound, notFound, notImplemented } from '@berth/errdefs';
import { cgroupMode, createRuntime, type OciRuntime } from '@berth/runtime';
import { validateIdentifier, type LinuxResources, type Process } from '@berth/spec';
import { mountAll, unmountAll } from '@berth/snapshots/mount';
import { ShimContainer } from './container';
import { CGROUPS_V1_METRICS_TYPE_URL, metricsAny } from './metrics';
import { removeExit, writeExit, type ExitRecord } from './exit-file';
import { ShimProcess, type ProcessStatus } from './process';
import type { Reaper } from './reaper';
import { ProcessIO } from './stdio';

/** The type URLs containerd uses for OCI JSON values in an Any. */
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
export const RESOURCES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';
export const RUNC_OPTIONS_TYPE_URL = 'containerd.runc.v1.Options';
/**
 * Type URL of Stats' payload on cgroup v1 and hybrid hosts: containerd's cgroups v1 `Metrics`
 * (on pure v2 hosts `CGROUPS_V2_METRICS_TYPE_URL`; see `metrics.ts`).
 */
export const STATS_TYPE_URL = CGROUPS_V1_METRICS_TYPE_URL;

export const SHIM_VERSION = 'berth-shim 0.1.0';

/** What the task service needs from the shim process around it. */
export interface TaskServiceOptions {
  reaper: Reaper;
  /** The runtime binary for tasks whose options name none: 'crun', 'runc' or a path. */
  runtime: string;
  /** The runtime's state dir for tasks whose options name none. */
  runtimeRoot: string;
  /** This shim's socket path, written to each bundle's `address` file. */
  address: string;
  /** Where console sockets are made (short: a unix socket path must fit in 108 bytes). */
  consoleDir: string;
  /** Called whenever the number of containers changes (for the idle exit). */
  onCountChange?: (count: number) => void;
  /** Called by Shutdown when the shim should exit. */
  onShutdown?: () => void;
}

const STATUS: Record<ProcessStatus, number> = {
  created: taskTypes.Status.CREATED,
  running: taskTypes.Status.RUNNING,
  paused: taskTypes.Status.PAUSED,
  stopped: taskTypes.Status.STOPPED,
};

/**
 * containerd's shim task API (containerd.task.v2.Task) over the containers of this shim. The
 * contract per method is containerd's: Create mounts the rootfs, opens stdio and runs the
 * runtime's create; Start runs the init or an exec; Wait resolves after the exit (and output);
 * Delete needs a stopped (or never started) process and releases everything; exit statuses are
 * on disk (`<bundle>/exits/`) from the exit until Delete.
 */
export class TaskService {
  private readonly containers = new Map<string, ShimContainer>();
  private readonly runtimes = new Map<string, OciRuntime>();

  constructor(private readonly opts: TaskServiceOptions) {}

  get size(): number {
    return this.containers.size;
  }

  async create(req: task.CreateTaskRequest): Promise<{ pid: number }> {
    validateIdentifier(req.id);
    if (this.containers.has(req.id)) throw alreadyExists(`task ${req.id}: already exists`);
    if (!isAbsolute(req.bundle)) throw invalidArgument(`task ${req.id}: bundle "${req.bundle}" is not an absolute path`);
    if (!existsSync(join(req.bundle, 'config.json'))) throw invalidArgument(`task ${req.id}: no config.json in bundle ${req.bundle}`);
    if (req.checkpoint) throw notImplemented(`task ${req.id}: restoring from a checkpoint is not supported`);
    const runtime = this.runtimeFor(req.options);
    const io = ProcessIO.open({ stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }, this.opts.consoleDir);
    const init = new ShimProcess(req.id, '', io);
    const container = new ShimContainer(req.id, req.bundle, runtime, init);
    this.containers.set(req.id, container);
    this.opts.onCountChange?.(this.containers.size);
    const rootfs = join(req.bundle, 'rootfs');
    const pidFile = join(req.bundle, 'init.pid');
    try {
      writeFileSync(join(req.bundle, 'address'), this.opts.address);
      writeFileSync(join(req.bundle, 'runtime.json'), JSON.stringify({ binary: runtime.binary, root: runtime.root }));
      removeExit(req.bundle);
      if (req.rootfs.length > 0) {
        mkdirSync(rootfs, { recursive: true });
        await mountAll(req.rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target, options: m.options })), rootfs);
        container.rootfsMounted = true;
      }
      await this.opts.reaper.track(async () => {
        await runtime.create(req.id, req.bundle, { pidFile, consoleSocket: io.consoleSocket, stdio: io.stdio });
        this.supervise(container, init, readPid(pidFile));
      });
      io.afterSpawn();
      await io.attachConsole();
      return { pid: init.pid };
    } catch (err) {
      await this.discard(container);
      throw err;
    }
  }

  async start(req: task.StartRequest): Promise<{ pid: number }> {
    const container = this.container(req.id);
    const proc = this.process(container, req.execId);
    if (proc.status !== 'created') throw failedPrecondition(`${describe(proc)}: cannot start, it is ${proc.status}`);
    if (proc.isInit) {
      await container.runtime.start(container.id);
      proc.markRunning();
      return { pid: proc.pid };
    }
    if (container.init.status !== 'running') throw failedPrecondition(`${describe(proc)}: the container is ${container.init.status}`);
    const pidFile = join(container.bundle, `exec-${proc.execId}.pid`);
    try {
      await this.opts.reaper.track(async () => {
        await container.runtime.exec(container.id, proc.spec!, { detach: true, pidFile, consoleSocket: proc.io.consoleSocket, stdio: proc.io.stdio });
        this.supervise(container, proc, readPid(pidFile));
      });
      proc.io.afterSpawn();
      await proc.io.attachConsole();
    } catch (err) {
      proc.io.close();
      container.execs.delete(proc.execId);
      throw err;
    } finally {
      rmSync(pidFile, { force: true });
    }
    proc.markRunning();
    return { pid: proc.pid };
  }

  async delete(req: task.DeleteRequest): Promise<task.DeleteResponse> {
    const container = this.container(req.id);
    const proc = this.process(container, req.execId);
    if (proc.status === 'running' || proc.status === 'paused') {
      throw failedPrecondition(`${describe(proc)}: cannot delete, it is ${proc.status}`);
    }
    if (!proc.isInit) {
      const exit = proc.exit ?? { pid: proc.pid, exitStatus: 0, exitedAt: 0 };
      proc.io.close();
      container.execs.delete(proc.execId);
      removeExit(container.bundle, proc.execId);
      return deleteResponse(exit);
    }
    if (proc.status === 'created') {
      // Never started: the runtime kills the waiting init; the reaper records it (137).
      await this.deleteInRuntime(container);
      await proc.exited;
    }
    const exit = proc.exit!;
    for (const exec of container.execs.values()) exec.io.close();
    await this.discard(container);
    return deleteResponse(exit);
  }

  state(req: task.StateRequest): task.StateResponse {
    const container = this.container(req.id);
    const proc = this.process(container, req.execId);
    const r = proc.io.request;
    return {
      id: container.id,
      bundle: container.bundle,
      pid: proc.pid,
      status: STATUS[proc.status] as task.StateResponse['status'],
      stdin: r.stdin,
      stdout: r.stdout,
      stderr: r.stderr,
      terminal: r.terminal,
      exitStatus: proc.exit?.exitStatus ?? 0,
      exitedAt: proc.exit ? timestamp(proc.exit.exitedAt) : undefined,
      execId: proc.execId,
    };
  }

  async kill(req: task.KillRequest): Promise<void> {
    const container = this.container(req.id);
    const proc = this.process(container, req.execId);
    if (proc.isInit) {
      if (proc.status === 'stopped') throw notFound(`${describe(proc)}: process already finished`);
      await container.runtime.kill(container.id, req.signal, { all: req.all });
      return;
    }
    if (proc.status !== 'running' && proc.status !== 'paused') throw notFound(`${describe(proc)}: process already finished`);
    try {
      process.kill(proc.pid, req.signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw notFound(`${describe(proc)}: process already finished`);
      throw invalidArgument(`${describe(proc)}: kill ${req.signal}: ${(err as Error).message}`);
    }
  }

  exec(req: task.ExecProcessRequest): void {
    const container = this.container(req.id);
    validateIdentifier(req.execId);
    if (container.execs.has(req.execId)) throw alreadyExists(`exec ${req.execId} in task ${req.id}: already exists`);
    if (container.init.status === 'stopped') throw failedPrecondition(`task ${req.id}: cannot exec, it has stopped`);
    const spec = parseJsonAny<Process>(req.spec, PROCESS_TYPE_URL, `exec ${req.execId}`);
    if (!Array.isArray(spec.args) || spec.args.length === 0) throw invalidArgument(`exec ${req.execId}: process.args is empty`);
    spec.terminal = req.terminal;
    const io = ProcessIO.open({ stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }, this.opts.consoleDir);
    container.execs.set(req.execId, new ShimProcess(req.id, req.execId, io, spec));
  }

  resizePty(req: task.ResizePtyRequest): void {
    this.process(this.container(req.id), req.execId).io.resize(req.width, req.height);
  }

  closeIO(req: task.CloseIORequest): void {
    const proc = this.process(this.container(req.id), req.execId);
    if (req.stdin) proc.io.closeStdin();
  }

  async pids(req: task.PidsRequest): Promise<task.PidsResponse> {
    const container = this.container(req.id);
    // Its init gone, the container is being deleted from the runtime: no process is left.
    if (container.runtimeDeleted) return { processes: [] };
    const pids = await container.runtime.ps(container.id);
    return { processes: pids.map((pid) => ({ pid })) };
  }

  async pause(req: task.PauseRequest): Promise<void> {
    const container = this.container(req.id);
    if (container.init.status !== 'running') throw failedPrecondition(`task ${req.id}: cannot pause, it is ${container.init.status}`);
    await container.runtime.pause(container.id);
    container.init.status = 'paused';
  }

  async resume(req: task.ResumeRequest): Promise<void> {
    const container = this.container(req.id);
    if (container.init.status !== 'paused') throw failedPrecondition(`task ${req.id}: cannot resume, it is ${container.init.status}`);
    await container.runtime.resume(container.id);
    if (container.init.status === 'paused') container.init.status = 'running';
  }

  checkpoint(req: task.CheckpointTaskRequest): never {
    throw notImplemented(`task ${req.id}: checkpoint is not supported`);
  }

  async update(req: task.UpdateTaskRequest): Promise<void> {
    const container = this.container(req.id);
    const resources = parseJsonAny<LinuxResources>(req.resources, RESOURCES_TYPE_URL, `update ${req.id}`);
    await container.runtime.update(container.id, resources);
  }

  async wait(req: task.WaitRequest): Promise<task.WaitResponse> {
    const proc = this.process(this.container(req.id), req.execId);
    const exit = await proc.exited;
    return { exitStatus: exit.exitStatus, exitedAt: timestamp(exit.exitedAt) };
  }

  async stats(req: task.StatsRequest): Promise<task.StatsResponse> {
    const container = this.container(req.id);
    if (container.runtimeDeleted) throw failedPrecondition(`task ${req.id}: no metrics, it has stopped`);
    const stats = await container.runtime.stats(container.id);
    return { stats: metricsAny(stats, cgroupMode()) };
  }

  connect(req: task.ConnectRequest): task.ConnectResponse {
    const container = req.id ? this.containers.get(req.id) : undefined;
    if (req.id && !container) throw notFound(`task ${req.id}: not found`);
    return { shimPid: process.pid, taskPid: container?.init.pid ?? 0, version: SHIM_VERSION };
  }

  shutdown(req: task.ShutdownRequest): void {
    if (req.now || this.containers.size === 0) this.opts.onShutdown?.();
  }

  /** Starts waiting for a process the runtime just started (called while the runtime call is tracked). */
  private supervise(container: ShimContainer, proc: ShimProcess, pid: number): void {
    proc.pid = pid;
    this.opts.reaper.watch(pid).then(
      (status) => this.recordExit(container, proc, { pid, exitStatus: status.exitCode, exitedAt: Date.now() }),
      (err: unknown) => {
        // Not our child (cannot happen while we are the subreaper): report it as lost.
        process.stderr.write(`berth-shim: wait for ${describe(proc)} (pid ${pid}): ${(err as Error).message}\n`);
        this.recordExit(container, proc, { pid, exitStatus: 255, exitedAt: Date.now() });
      },
    );
  }

  private recordExit(container: ShimContainer, proc: ShimProcess, record: ExitRecord): void {
    // The runtime's delete first: Delete waits for it, and it runs while the exit is recorded.
    if (proc.isInit && this.containers.get(container.id) === container) {
      this.deleteInRuntime(container).catch((err: unknown) => {
        process.stderr.write(`berth-shim: delete task ${container.id} in the runtime: ${(err as Error).message}\n`);
      });
    }
    try {
      writeExit(container.bundle, proc.execId, record);
    } catch (err) {
      process.stderr.write(`berth-shim: cannot record the exit of ${describe(proc)}: ${(err as Error).message}\n`);
    }
    proc.markExited(record);
  }

  /**
   * The runtime's `delete --force`, once per container (`runtimeDeleted`): its cgroups and state
   * go, and any process left in it (a container sharing the host's pid namespace) is killed, as
   * containerd's shim kills them all when the init exits. Started at the init's exit rather than
   * at the client's Delete, so that Delete only waits for what is left of it. Rejects with the
   * runtime's error (NotFound is fine).
   */
  private deleteInRuntime(container: ShimContainer): Promise<void> {
    return (container.runtimeDeleted ??= container.runtime.delete(container.id, { force: true }).catch(ignoreNotFound));
  }

  /** Removes a container: runtime state, rootfs mount, stdio, files the shim wrote. */
  private async discard(container: ShimContainer): Promise<void> {
    const { bundle, id } = container;
    try {
      // A delete that failed at the exit is tried once more, and its error is Delete's.
      await this.deleteInRuntime(container).catch(() => container.runtime.delete(id, { force: true }).catch(ignoreNotFound));
      if (container.init.pid > 0 && !container.init.exit) await container.init.exited;
      if (container.rootfsMounted) await unmountAll(join(bundle, 'rootfs'));
    } finally {
      container.init.io.close();
      for (const name of ['address', 'runtime.json', 'init.pid']) rmSync(join(bundle, name), { force: true });
      rmSync(join(bundle, 'exits'), { recursive: true, force: true });
      this.containers.delete(id);
      this.opts.onCountChange?.(this.containers.size);
    }
  }

  private container(id: string): ShimContainer {
    const c = this.containers.get(id);
    if (!c) throw notFound(`task ${id}: not found`);
    return c;
  }

  private process(container: ShimContainer, execId: string): ShimProcess {
    const p = container.process(execId);
    if (!p) throw notFound(`exec ${execId} in task ${container.id}: not found`);
    return p;
  }

  private runtimeFor(options: protobuf.Any | undefined): OciRuntime {
    let binary = this.opts.runtime;
    let root = this.opts.runtimeRoot;
    if (options && options.typeUrl !== '') {
      if (options.typeUrl !== RUNC_OPTIONS_TYPE_URL) throw invalidArgument(`task options: unsupported type "${options.typeUrl}" (${RUNC_OPTIONS_TYPE_URL} is)`);
      const o = runcOptions.Options.decode(options.value);
      if (o.binaryName) binary = o.binaryName;
      if (o.root) root = o.root;
    }
    const key = `${binary}\0${root}`;
    let runtime = this.runtimes.get(key);
    if (!runtime) {
      runtime = this.opts.reaper.tracked(createRuntime({ binary, root }));
      this.runtimes.set(key, runtime);
    }
    return runtime;
  }
}

function describe(proc: ShimProcess): string {
  return proc.isInit ? `task ${proc.containerId}` : `exec ${proc.execId} in task ${proc.containerId}`;
}

function readPid(path: string): number {
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw failedPrecondition(`pid file ${path}: no pid in it`);
  return pid;
}

function parseJsonAny<T>(any: protobuf.Any | undefined, typeUrl: string, what: string): T {
  if (!any) throw invalidArgument(`${what}: missing ${typeUrl}`);
  if (any.typeUrl !== typeUrl) throw invalidArgument(`${what}: expected ${typeUrl}, got "${any.typeUrl}"`);
  try {
    return JSON.parse(Buffer.from(any.value).toString('utf8')) as T;
  } catch (err) {
    throw invalidArgument(`${what}: ${typeUrl} is not valid JSON`, { cause: err });
  }
}

function timestamp(ms: number): protobuf.Timestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function deleteResponse(exit: ExitRecord): task.DeleteResponse {
  return { pid: exit.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt ? timestamp(exit.exitedAt) : undefined };
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

