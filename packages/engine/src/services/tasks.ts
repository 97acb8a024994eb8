import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tasksService, type protobuf, type taskTypes } from '@berth/api';
import { alreadyExists, invalidArgument, isAlreadyExists, isNotFound, isUnavailable, notImplemented, unknown } from '@berth/errdefs';
import type { Container } from '@berth/metadata';
import type { ShimClient } from '@berth/shim';
import { parseFilters } from '@berth/spec';
import type { EngineContext } from '../context';
import { unary, type GrpcServiceImpl } from '../grpc/service';
import { timestampOf } from '../grpc/convert';
import { backendKey } from './snapshots';
import { TaskManager } from './tasks-manager';
import type { TaskShims } from './tasks-shims';

export { TaskShims } from './tasks-shims';
export { TaskManager } from './tasks-manager';
export type { TaskManagerOptions } from './tasks-manager';
export { TASK_TOPICS } from './tasks-events';

/** The type of a container's `spec` Any: an OCI runtime spec as JSON. */
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';

type Methods = (typeof tasksService.Tasks)['methods'];

/** Options of `tasksImpl`. */
export interface TasksOptions {
  /** The OCI runtime of the shims: 'crun', 'runc' or a path; default: the detected one. */
  runtime?: string;
  /** How long an idle shim lives (berth-shim's default 60 s). */
  idleExitMs?: number;
  /** The shims to use (a test shuts them down with `shutdownAll`); default: new ones. */
  shims?: TaskShims;
  /** The task manager (shims, events, exit watchers, restore); default: a new one over the options above. */
  manager?: TaskManager;
}

/** The bundle directory of a task: `<state>/shims/<ns>/<id>`. */
export function bundleDir(ctx: EngineContext, ns: string, id: string): string {
  return join(ctx.state, 'shims', ns, id);
}

/**
 * containerd.services.tasks.v1.Tasks over berth-shim: one shim per namespace runs every task
 * of that namespace (`TaskShims`), each task in a bundle `<state>/shims/<ns>/<id>/` holding
 * `config.json` (the container's spec, `root.path` = `rootfs`) and the shim's files.
 *
 * - Create: the container record (NotFound), AlreadyExists when the task exists; rootfs = the
 *   request's mounts (ctr sends its snapshot's), else the mounts of the container's snapshot;
 *   the runtime options = the request's, else the container's `runtime.options`; stdio paths go
 *   to the shim unchanged.
 * - Delete: the shim's Delete, then the bundle is removed. When the namespace's shim is gone
 *   but the bundle is there, the task is cleaned up as containerd does (`cleanupTask`: kill,
 *   unmount, the recorded exit or 137).
 * - Get/Start/Wait/Kill/Exec/DeleteProcess/Pids/Pause/Resume/CloseIO/ResizePty/Update pass
 *   through; without a task they are NotFound (`ctr containers rm` relies on Get's).
 * - List: the namespace's bundles, each with its state. Metrics: the shim's Stats Any passed on
 *   unchanged (`io.containerd.cgroups.v1.Metrics`, on pure v2 hosts `…v2.Metrics`, as
 *   `ctr tasks metrics` decodes them). Checkpoint: NotImplemented.
 */
export function tasksImpl(ctx: EngineContext, opts: TasksOptions = {}): GrpcServiceImpl<Methods> {
  const manager = opts.manager ?? new TaskManager(ctx, opts);
  const { shims, events, exits } = manager;

  const taskWhat = (id: string): string => `task ${id}`;

  /** Runs `fn` against the task's shim; NotFound when the namespace has no shim. */
  function onTask<T>(ns: string, id: string, fn: (c: ShimClient) => Promise<T>): Promise<T> {
    if (!id) throw invalidArgument('container_id must not be empty');
    return shims.with(ns, taskWhat(id), false, fn);
  }

  async function rootfsOf(ns: string, container: Container, requested: tasksService.CreateTaskRequest['rootfs']) {
    if (requested.length > 0) return requested.map((m) => ({ type: m.type, source: m.source, target: m.target, options: m.options }));
    if (!container.snapshotKey) return [];
    const sn = await ctx.snapshotter(container.snapshotter);
    return (await sn.mounts(backendKey(ns, container.snapshotKey))).map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options ?? [] }));
  }

  async function writeBundle(bundle: string, container: Container): Promise<void> {
    if (!container.spec || container.spec.typeUrl !== SPEC_TYPE_URL) {
      throw invalidArgument(`container "${container.id}": spec must be a ${SPEC_TYPE_URL}`);
    }
    let spec: { root?: { path?: string; readonly?: boolean } };
    try {
      spec = JSON.parse(Buffer.from(container.spec.value).toString('utf8')) as typeof spec;
    } catch (err) {
      // Unknown, not InvalidArgument: containerd stores the spec opaquely and its task create fails
      // with the runtime's JSON error, which reaches clients as Unknown (bad-input.test.ts checks both).
      throw unknown(`container "${container.id}": spec is not JSON: ${(err as Error).message}`);
    }
    spec.root = { ...(spec.root ?? {}), path: 'rootfs' };
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
  }

  const removeBundle = (bundle: string) => manager.removeBundle(bundle);

  /** Whether the shim knows task `id` (false for NotFound or no shim). */
  async function taskExists(ns: string, id: string): Promise<boolean> {
    try {
      await onTask(ns, id, (c) => c.state({ id }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  function processOf(containerId: string, s: { id: string; execId: string; pid: number; status: number; stdin: string; stdout: string; stderr: string; terminal: boolean; exitStatus: number; exitedAt?: protobuf.Timestamp }): taskTypes.Process {
    const p: taskTypes.Process = {
      containerId,
      id: s.execId || containerId,
      pid: s.pid,
      status: s.status as taskTypes.Status,
      stdin: s.stdin,
      stdout: s.stdout,
      stderr: s.stderr,
      terminal: s.terminal,
      exitStatus: s.exitStatus,
    };
    if (s.exitedAt) p.exitedAt = s.exitedAt;
    return p;
  }

  /** The namespace's tasks with their init's state (bundles whose task is gone are skipped). */
  async function listTasks(ns: string): Promise<taskTypes.Process[]> {
    const out: taskTypes.Process[] = [];
    for (const id of await manager.bundleIds(ns)) {
      try {
        out.push(processOf(id, await onTask(ns, id, (c) => c.state({ id }))));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  return {
    create: unary(async (req, call) => {
      const ns = call.namespace();
      const id = req.containerId;
      if (req.checkpoint) throw notImplemented(`task ${id}: restoring from a checkpoint is not supported`);
      const container = ctx.metadata.containers.get(ns, id);
      return manager.creatingTask(ns, id, async () => {
        const bundle = bundleDir(ctx, ns, id);
        // The bundle's few small files and dirs are made synchronously (microseconds each; a trip
        // through libuv's pool per call would cost more than the calls).
        mkdirSync(join(ctx.state, 'shims', ns), { recursive: true, mode: 0o711 });
        try {
          mkdirSync(bundle, { mode: 0o711 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          if (await taskExists(ns, id)) throw alreadyExists(`task ${id}: already exists`);
          await manager.cleanupDeadTask(ns, id);
          mkdirSync(bundle, { mode: 0o711 });
        }
        try {
          await writeBundle(bundle, container);
          const rootfs = await rootfsOf(ns, container, req.rootfs);
          const options = req.options ?? container.runtime.options;
          const { pid } = await shims.with(ns, taskWhat(id), true, (c) =>
            c.create({
              id,
              bundle,
              rootfs,
              terminal: req.terminal,
              stdin: req.stdin,
              stdout: req.stdout,
              stderr: req.stderr,
              ...(options && options.typeUrl ? { options: { typeUrl: options.typeUrl, value: options.value } } : {}),
            }),
          );
          events.created(ns, {
            containerId: id,
            bundle,
            rootfs,
            io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
            checkpoint: '',
            pid,
          });
          return { containerId: id, pid };
        } catch (err) {
          // The shim undid its own part (mounts, runtime state); the bundle is ours to remove.
          // (An AlreadyExists from the shim means another Create won the race: its bundle is not ours.)
          if (!isAlreadyExists(err)) await removeBundle(bundle).catch(() => {});
          throw err;
        }
      });
    }),

    start: unary(async (req, call) => {
      const ns = call.namespace();
      const { containerId: id, execId } = req;
      if (!id) throw invalidArgument('container_id must not be empty');
      // Recorded before the start, so that a berthd that crashes meanwhile still watches the process after its restart.
      const recorded = exits.prepare(ns, id, execId);
      let pid: number;
      try {
        ({ pid } = await onTask(ns, id, (c) => c.start({ id, execId })));
      } catch (err) {
        if (recorded) exits.unprepare(ns, id, execId);
        throw err;
      }
      if (execId) events.execStarted(ns, id, execId, pid);
      else events.started(ns, id, pid);
      exits.watch(ns, id, execId, pid);
      return { pid };
    }),

    delete: unary(async (req, call) => {
      const ns = call.namespace();
      const id = req.containerId;
      const bundle = bundleDir(ctx, ns, id);
      try {
        const r = await onTask(ns, id, (c) => c.delete({ id }));
        // The exit first (if its watcher has not published it yet), then the delete.
        exits.settle(ns, id, '', r);
        exits.forget(ns, id);
        await removeBundle(bundle);
        events.deleted(ns, id, r);
        return { id, pid: r.pid, exitStatus: r.exitStatus, ...(r.exitedAt ? { exitedAt: r.exitedAt } : {}) };
      } catch (err) {
        // A bundle whose shim is gone (or that the shim does not know): clean it up.
        if (!isNotFound(err) || !existsSync(join(bundle, 'config.json'))) throw err;
        const r = await manager.cleanupDeadTask(ns, id);
        if (!r) throw err;
        return { id, pid: r.pid, exitStatus: r.exitStatus, exitedAt: timestampOf(new Date(r.exitedAt)) };
      }
    }),

    deleteProcess: unary(async (req, call) => {
      const ns = call.namespace();
      if (!req.execId) throw invalidArgument('exec_id must not be empty (Delete deletes the task)');
      const r = await onTask(ns, req.containerId, (c) => c.delete({ id: req.containerId, execId: req.execId }));
      exits.settle(ns, req.containerId, req.execId, r);
      return { id: req.execId, pid: r.pid, exitStatus: r.exitStatus, ...(r.exitedAt ? { exitedAt: r.exitedAt } : {}) };
    }),

    get: unary(async (req, call) => {
      const ns = call.namespace();
      const s = await onTask(ns, req.containerId, (c) => c.state({ id: req.containerId, execId: req.execId }));
      return { process: processOf(req.containerId, s) };
    }),

    list: unary(async (_req, call) => ({ tasks: await listTasks(call.namespace()) })),

    kill: unary(async (req, call) => {
      const ns = call.namespace();
      await onTask(ns, req.containerId, (c) => c.kill({ id: req.containerId, execId: req.execId, signal: req.signal, all: req.all }));
      return {};
    }),

    exec: unary(async (req, call) => {
      const ns = call.namespace();
      if (!req.execId) throw invalidArgument('exec_id must not be empty');
      await onTask(ns, req.containerId, (c) =>
        c.exec({
          id: req.containerId,
          execId: req.execId,
          terminal: req.terminal,
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
          ...(req.spec ? { spec: { typeUrl: req.spec.typeUrl, value: req.spec.value } } : {}),
        }),
      );
      events.execAdded(ns, req.containerId, req.execId);
      return {};
    }),

    resizePty: unary(async (req, call) => {
      const ns = call.namespace();
      await onTask(ns, req.containerId, (c) => c.resizePty({ id: req.containerId, execId: req.execId, width: req.width, height: req.height }));
      return {};
    }),

    closeIO: unary(async (req, call) => {
      const ns = call.namespace();
      await onTask(ns, req.containerId, (c) => c.closeIO({ id: req.containerId, execId: req.execId, stdin: req.stdin }));
      return {};
    }),

    pause: unary(async (req, call) => {
      await onTask(call.namespace(), req.containerId, (c) => c.pause({ id: req.containerId }));
      events.paused(call.namespace(), req.containerId);
      return {};
    }),

    resume: unary(async (req, call) => {
      await onTask(call.namespace(), req.containerId, (c) => c.resume({ id: req.containerId }));
      events.resumed(call.namespace(), req.containerId);
      return {};
    }),

    listPids: unary(async (req, call) => {
      const { processes } = await onTask(call.namespace(), req.containerId, (c) => c.pids({ id: req.containerId }));
      return { processes };
    }),

    checkpoint: unary(async (req) => {
      throw notImplemented(`task ${req.containerId}: checkpoint is not supported`);
    }),

    update: unary(async (req, call) => {
      await onTask(call.namespace(), req.containerId, (c) =>
        c.update({
          id: req.containerId,
          annotations: req.annotations,
          ...(req.resources ? { resources: { typeUrl: req.resources.typeUrl, value: req.resources.value } } : {}),
        }),
      );
      return {};
    }),

    metrics: unary(async (req, call) => {
      const ns = call.namespace();
      const filter = parseFilters(...req.filters);
      const metrics = [];
      for (const t of await listTasks(ns)) {
        if (!filter.match({ field: (p) => (p.length === 1 && p[0] === 'id' ? t.containerId : undefined) })) continue;
        try {
          const { stats } = await onTask(ns, t.containerId, (c) => c.stats({ id: t.containerId }));
          metrics.push({ timestamp: timestampOf(new Date()), id: t.containerId, ...(stats ? { data: stats } : {}) });
        } catch (err) {
          if (!isNotFound(err) && !isUnavailable(err)) throw err;
        }
      }
      return { metrics };
    }),

    wait: unary(async (req, call) => {
      const ns = call.namespace();
      const r = await onTask(ns, req.containerId, (c) => c.wait({ id: req.containerId, execId: req.execId }, { signal: call.signal }));
      return { exitStatus: r.exitStatus, ...(r.exitedAt ? { exitedAt: r.exitedAt } : {}) };
    }),
  };
}
