import { existsSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, isDeadlineExceeded, isNotFound } from '@berth/errdefs';
import { bundleAddress, cleanupTask, type CleanupResult } from '@berth/shim';
import { unmountAll } from '@berth/snapshots/mount';
import type { EngineContext } from '../context';
import { timestampOf } from '../grpc/convert';
import { ExitWatchers } from './tasks-exits';
import { TaskEvents, type ProcessExit } from './tasks-events';
import { TaskShims } from './tasks-shims';

/** Options of a `TaskManager`. */
export interface TaskManagerOptions {
  /** The OCI runtime of the shims: 'crun', 'runc' or a path; default: the detected one. */
  runtime?: string;
  /** How long an idle shim lives (berth-shim's default 60 s). */
  idleExitMs?: number;
  /** The shims to use (a test shuts them down with `shutdownAll`); default: new ones. */
  shims?: TaskShims;
}

/** How long `restore` waits for one shim to answer before leaving it be (alive but slow). */
const PROBE_MS = 2000;

/**
 * berthd's side of its tasks, under the Tasks service: the shims (`TaskShims`), the task events
 * (`TaskEvents`), one exit watcher per started process (`ExitWatchers`), and what containerd's
 * runtime v2 manager does around its shims:
 *
 * - `restore()` at startup (containerd's loadExistingTasks): every bundle under
 *   `<state>/shims/<ns>/` whose shim answers is live again (its exit watchers restarted); a
 *   bundle whose shim is dead, or that its live shim does not know, is cleaned up; one left by
 *   an interrupted Create (no `config.json`) is removed.
 * - `cleanupDeadTask` (containerd's cleanupAfterDeadShim): `berth-shim delete`'s work
 *   (`cleanupTask`: force-delete in the runtime, unmount the rootfs, the recorded exit or 137),
 *   `/tasks/exit` (unless published already) and `/tasks/delete`, then the bundle is removed,
 *   so the container can get a new task.
 * - a shim that dies while berthd runs is found by its exit watchers, and its tasks cleaned up
 *   the same way.
 *
 * Cleanups of one task are serialized, so a task's exit and delete events are published once
 * even when Delete and a dead shim's cleanup race; tasks being created are left alone.
 */
export class TaskManager {
  readonly shims: TaskShims;
  readonly events: TaskEvents;
  readonly exits: ExitWatchers;
  private readonly creating = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly dead = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly ctx: EngineContext,
    opts: TaskManagerOptions = {},
  ) {
    this.shims = opts.shims ?? new TaskShims(ctx, opts);
    this.events = new TaskEvents(ctx.events);
    this.exits = new ExitWatchers({
      shims: this.shims,
      events: this.events,
      log: ctx.log,
      bundleDir: (ns, id) => this.bundleDir(ns, id),
      onShimDead: (ns) => void this.shimDied(ns),
    });
  }

  /** The bundle directory of a task: `<state>/shims/<ns>/<id>`. */
  bundleDir(ns: string, id: string): string {
    return join(this.ctx.state, 'shims', ns, id);
  }

  /** The ids of the namespace's bundles (sorted; none when the namespace has none). */
  async bundleIds(ns: string): Promise<string[]> {
    return (await listDirs(join(this.ctx.state, 'shims', ns))).sort();
  }

  /** Runs a Create of task `id`: cleanups leave its bundle alone meanwhile; AlreadyExists while another Create of it runs. */
  async creatingTask<T>(ns: string, id: string, fn: () => Promise<T>): Promise<T> {
    const key = `${ns}\0${id}`;
    if (this.creating.has(key)) throw alreadyExists(`task ${id}: already exists`);
    this.creating.add(key);
    try {
      return await fn();
    } finally {
      this.creating.delete(key);
    }
  }

  /**
   * Removes a bundle: its rootfs unmounted first, so the removal never reaches into a snapshot
   * (a rootfs that cannot be unmounted fails the call and the bundle stays).
   */
  async removeBundle(bundle: string): Promise<void> {
    await unmountAll(join(bundle, 'rootfs'));
    // A handful of small files: synchronously (rm's recursive walk through the pool took ~1 ms).
    rmSync(bundle, { recursive: true, force: true });
  }

  /**
   * Cleans up a task whose shim is gone or does not know it (see the class comment). Undefined
   * when there is no bundle (any more) to clean up.
   */
  cleanupDeadTask(ns: string, id: string): Promise<CleanupResult | undefined> {
    return this.locked(ns, id, async () => {
      const bundle = this.bundleDir(ns, id);
      if (!existsSync(join(bundle, 'config.json'))) return undefined;
      // `address` is there from the shim's Create until its Delete: the shim had the task.
      const hadTask = bundleAddress(bundle) !== undefined;
      const result = await cleanupTask({ bundle, id, runtime: await this.shims.runtimeName(), runtimeRoot: await this.shims.runtimeRoot(ns) });
      const exit: ProcessExit = { pid: result.pid, exitStatus: result.exitStatus, exitedAt: timestampOf(new Date(result.exitedAt)) };
      if (hadTask) this.exits.settle(ns, id, '', exit, { unstarted: true });
      this.exits.forget(ns, id);
      await this.removeBundle(bundle);
      if (hadTask) this.events.deleted(ns, id, exit);
      return result;
    });
  }

  /**
   * Startup: takes up the tasks a previous berthd left (see the class comment). Resolves when
   * every shim answered or was found dead, or after `timeoutMs` (default 10 s), whichever is
   * first; what is left goes on in the background. Never rejects (failures are logged).
   */
  async restore(opts: { timeoutMs?: number } = {}): Promise<void> {
    const all = listDirs(join(this.ctx.state, 'shims'))
      .then((nss) => Promise.all(nss.map((ns) => this.restoreNamespace(ns))))
      .then(
        () => {},
        (err: unknown) => this.ctx.log.error(`tasks: restoring the tasks of the last berthd: ${(err as Error).message}`),
      );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.ctx.log.warn('tasks: restoring the tasks of a slow shim goes on in the background');
        resolve();
      }, opts.timeoutMs ?? 10_000);
    });
    await Promise.race([all, timeout]).finally(() => clearTimeout(timer));
  }

  /** Stops the exit watchers and closes the shim connections; the shims and tasks go on. */
  close(): void {
    this.closed = true;
    this.exits.close();
    this.shims.close();
  }

  private async restoreNamespace(ns: string): Promise<void> {
    const ids = await this.bundleIds(ns);
    if (ids.length === 0) return;
    const health = await this.shims.probe(ns, PROBE_MS).catch(() => 'unresponsive' as const);
    for (const id of ids) {
      try {
        await this.restoreTask(ns, id, health);
      } catch (err) {
        this.ctx.log.warn(`tasks: restoring task ${id} in namespace ${ns}: ${(err as Error).message}`);
      }
    }
    if (health !== 'dead') this.ctx.log.info(`tasks: namespace ${ns}: shim ${health}, ${ids.length} bundle(s) restored`);
  }

  private async restoreTask(ns: string, id: string, health: 'alive' | 'dead' | 'unresponsive'): Promise<void> {
    const bundle = this.bundleDir(ns, id);
    if (!existsSync(join(bundle, 'config.json'))) {
      await this.removeBundle(bundle); // a Create interrupted before it reached the shim
      return;
    }
    const address = bundleAddress(bundle);
    if (address && address !== this.shims.socketPath(ns)) {
      this.ctx.log.warn(`tasks: task ${id} in namespace ${ns}: its shim address ${address} is not this berthd's; left alone`);
      return;
    }
    if (health === 'dead' || !address) {
      await this.cleanupDeadTask(ns, id);
      return;
    }
    if (health === 'alive') {
      try {
        await this.shims.with(ns, `task ${id}`, false, (c) => c.state({ id }, { timeoutMs: PROBE_MS }));
      } catch (err) {
        if (isNotFound(err)) {
          await this.cleanupDeadTask(ns, id);
          return;
        }
        if (!isDeadlineExceeded(err)) throw err;
      }
    }
    this.exits.restore(ns, id);
  }

  /** A watcher found the namespace's shim dead: its tasks are cleaned up (once at a time). */
  private shimDied(ns: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    let p = this.dead.get(ns);
    if (!p) {
      p = (async () => {
        this.ctx.log.warn(`tasks: the shim of namespace ${ns} died; cleaning up its tasks`);
        for (const id of await this.bundleIds(ns)) {
          if (this.closed) return;
          if (this.creating.has(`${ns}\0${id}`)) continue;
          // A Create may have started a new shim meanwhile: its tasks are alive.
          if (await this.known(ns, id)) continue;
          await this.cleanupDeadTask(ns, id).catch((err: unknown) => this.ctx.log.warn(`tasks: cleaning up task ${id} in namespace ${ns}: ${(err as Error).message}`));
        }
      })()
        .catch((err: unknown) => this.ctx.log.warn(`tasks: cleaning up after the shim of namespace ${ns}: ${(err as Error).message}`))
        .finally(() => this.dead.delete(ns));
      this.dead.set(ns, p);
    }
    return p;
  }

  private async known(ns: string, id: string): Promise<boolean> {
    try {
      await this.shims.with(ns, `task ${id}`, false, (c) => c.state({ id }, { timeoutMs: PROBE_MS }));
      return true;
    } catch (err) {
      return !isNotFound(err);
    }
  }

  private locked<T>(ns: string, id: string, fn: () => Promise<T>): Promise<T> {
    const key = `${ns}\0${id}`;
    const run = (this.locks.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
