import { tasksService } from '@berth/api';
import type { Process as OciProcess } from '@berth/spec';
import type { CallOptions, Connection } from './connection';
import { PROCESS_TYPE_URL } from './containers-client';
import type { SnapshotMount } from './snapshots-types';
import { dateOf } from './wire';

const Tasks = tasksService.Tasks.methods;

/** Where a process is in its life (containerd's `Status` enum, lower-case). */
export type ProcessStatus = 'unknown' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing';
const STATUS: readonly ProcessStatus[] = ['unknown', 'created', 'running', 'stopped', 'paused', 'pausing'];

/** A task's init process or one of its exec processes. */
export interface ProcessState {
  containerId: string;
  /** The container id for the init process, the exec id otherwise. */
  id: string;
  pid: number;
  status: ProcessStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  /** The Unix epoch while the process has not exited. */
  exitedAt: Date;
}

/** A process's exit. */
export interface ExitStatus {
  exitStatus: number;
  exitedAt: Date;
}

/** The stdio of a new process: FIFO paths (or `file://` URIs for stdout/stderr), '' for none. */
export interface ProcessStdio {
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal?: boolean;
}

/** Which process of a task a call is about: the init process when `execId` is absent. */
export interface ProcessRef {
  containerId: string;
  execId?: string;
}

/**
 * berthd's tasks over gRPC (`containerd.services.tasks.v1.Tasks`), in the connection's namespace.
 * A task is a container's running (or stopped, not yet deleted) init process plus its exec
 * processes. Contract, as containerd's: Create then Start; Wait resolves once the process has
 * exited and Get reports it stopped; Delete removes a stopped or never-started task and returns
 * its exit; Get is NotFound when the container has no task.
 */
export class TasksClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** Creates the container's task on `rootfs` (its snapshot's mounts); AlreadyExists if it has one. Returns the init pid. */
  async create(containerId: string, rootfs: SnapshotMount[], stdio: ProcessStdio = {}, opts?: CallOptions): Promise<number> {
    const res = await this.#conn.unary(
      Tasks.create,
      {
        containerId,
        rootfs: rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options })),
        stdin: stdio.stdin ?? '',
        stdout: stdio.stdout ?? '',
        stderr: stdio.stderr ?? '',
        terminal: stdio.terminal ?? false,
        runtimePath: '',
      },
      opts,
    );
    return res.pid;
  }

  /** Starts the init process or an exec'd one; returns its pid. */
  async start(p: ProcessRef, opts?: CallOptions): Promise<number> {
    const res = await this.#conn.unary(Tasks.start, { containerId: p.containerId, execId: p.execId ?? '' }, opts);
    return res.pid;
  }

  /** Waits for the process to exit (a long unary call; cancel it with `signal`). */
  async wait(p: ProcessRef, opts?: CallOptions): Promise<ExitStatus> {
    const res = await this.#conn.unary(Tasks.wait, { containerId: p.containerId, execId: p.execId ?? '' }, opts);
    return { exitStatus: res.exitStatus, exitedAt: dateOf(res.exitedAt) };
  }

  /** Sends `signal` (a number) to the process, or with `all` to every process of the task. */
  async kill(p: ProcessRef, signal: number, opts: CallOptions & { all?: boolean } = {}): Promise<void> {
    await this.#conn.unary(Tasks.kill, { containerId: p.containerId, execId: p.execId ?? '', signal, all: opts.all ?? false }, opts);
  }

  /** Deletes a stopped or created task; FailedPrecondition while it runs. */
  async delete(containerId: string, opts?: CallOptions): Promise<ExitStatus & { pid: number }> {
    const res = await this.#conn.unary(Tasks.delete, { containerId }, opts);
    return { pid: res.pid, exitStatus: res.exitStatus, exitedAt: dateOf(res.exitedAt) };
  }

  /** Deletes an exec process that has exited (or never started). */
  async deleteProcess(containerId: string, execId: string, opts?: CallOptions): Promise<ExitStatus> {
    const res = await this.#conn.unary(Tasks.deleteProcess, { containerId, execId }, opts);
    return { exitStatus: res.exitStatus, exitedAt: dateOf(res.exitedAt) };
  }

  /** The process's state; NotFound when the container has no task (or no such exec). */
  async get(p: ProcessRef, opts?: CallOptions): Promise<ProcessState> {
    const res = await this.#conn.unary(Tasks.get, { containerId: p.containerId, execId: p.execId ?? '' }, opts);
    return processOf(res.process);
  }

  /** Every task's init process in the namespace. */
  async list(opts?: CallOptions): Promise<ProcessState[]> {
    const res = await this.#conn.unary(Tasks.list, { filter: '' }, opts);
    return res.tasks.map(processOf);
  }

  /** Adds exec process `execId` running `process` (an OCI process); `start` runs it. */
  async exec(containerId: string, execId: string, process: OciProcess, stdio: ProcessStdio = {}, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(
      Tasks.exec,
      {
        containerId,
        execId,
        stdin: stdio.stdin ?? '',
        stdout: stdio.stdout ?? '',
        stderr: stdio.stderr ?? '',
        terminal: stdio.terminal ?? false,
        spec: { typeUrl: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(process)) },
      },
      opts,
    );
  }

  /** The host pids of the task's processes. */
  async pids(containerId: string, opts?: CallOptions): Promise<number[]> {
    const res = await this.#conn.unary(Tasks.listPids, { containerId }, opts);
    return res.processes.map((p) => p.pid);
  }

  /** Resizes the process's pseudo-terminal. */
  async resize(p: ProcessRef, width: number, height: number, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Tasks.resizePty, { containerId: p.containerId, execId: p.execId ?? '', width, height }, opts);
  }

  /** Closes the process's stdin (it reads EOF). */
  async closeIO(p: ProcessRef, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Tasks.closeIO, { containerId: p.containerId, execId: p.execId ?? '', stdin: true }, opts);
  }

  /** The cgroup metrics of the tasks matching the filters (`id==<container>`), as `type_url` + protobuf bytes. */
  async metrics(filters: string[] = [], opts?: CallOptions): Promise<{ id: string; timestamp: Date; typeUrl: string; value: Uint8Array }[]> {
    const res = await this.#conn.unary(Tasks.metrics, { filters }, opts);
    return res.metrics.map((m) => ({ id: m.id, timestamp: dateOf(m.timestamp), typeUrl: m.data?.typeUrl ?? '', value: m.data?.value ?? new Uint8Array() }));
  }
}

function processOf(p: tasksService.GetResponse['process']): ProcessState {
  return {
    containerId: p?.containerId ?? '',
    id: p?.id ?? '',
    pid: p?.pid ?? 0,
    status: STATUS[p?.status ?? 0] ?? 'unknown',
    stdin: p?.stdin ?? '',
    stdout: p?.stdout ?? '',
    stderr: p?.stderr ?? '',
    terminal: p?.terminal ?? false,
    exitStatus: p?.exitStatus ?? 0,
    exitedAt: dateOf(p?.exitedAt),
  };
}
