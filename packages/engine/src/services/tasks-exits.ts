import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNotFound, notFound } from '@berth/errdefs';
import type { Logger } from '../daemon/log';
import type { ProcessExit, TaskEvents } from './tasks-events';
import type { TaskShims } from './tasks-shims';

/** What `ExitWatchers` needs from the task manager around it. */
export interface ExitWatchersDeps {
  shims: TaskShims;
  events: TaskEvents;
  log: Logger;
  /** The bundle of a task (`<state>/shims/<ns>/<id>`). */
  bundleDir(ns: string, id: string): string;
  /** Called when a watcher lost its shim (nothing listens on its socket any more). */
  onShimDead(ns: string): void;
}

interface Watch {
  readonly ns: string;
  readonly id: string;
  readonly execId: string;
  pid: number;
  readonly abort: AbortController;
}

/** How long a probe of a shim whose Wait failed may take. */
const PROBE_MS = 2000;

/**
 * One background Wait per started process (init and execs), publishing `/tasks/exit` when it
 * returns, so the exit event comes when the process exits, whether or not anyone calls Wait.
 *
 * Exactly once: each process's exit is published by whichever comes first, its watcher or
 * `settle` (Delete/DeleteProcess, a dead shim's cleanup, which have the exit from the shim), and
 * never for a process deleted without having been started. The record survives berthd: the
 * bundle's `watch/` dir holds `init` / `exec-<id>` (content: the pid) from just before the start
 * until the exit is published, when `init` is renamed `init.exited` and an exec's file removed.
 * A restarted berthd calls `restore` to watch what is recorded there again; an exit that
 * happened while it was down is then published at once. (A crash between publishing and
 * updating the record publishes that exit again after the restart.)
 *
 * A Wait that fails because the shim is gone (nothing listens on its socket) hands the
 * namespace to `onShimDead`; one cut by a connection drop while the shim lives is made again.
 */
export class ExitWatchers {
  private readonly watches = new Map<string, Watch>();
  private closed = false;

  constructor(private readonly deps: ExitWatchersDeps) {}

  /**
   * Records, before its start, that a process is about to run (so a crash in between does not
   * lose its exit). False when it was recorded already (a second Start, which the shim refuses:
   * then keep the record and do not `unprepare`). NotFound when the task has no bundle.
   */
  prepare(ns: string, id: string, execId: string): boolean {
    const dir = join(this.deps.bundleDir(ns, id), 'watch');
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notFound(`${describe(id, execId)}: not found`);
      if (code !== 'EEXIST') throw err;
    }
    try {
      writeFileSync(join(dir, markerName(execId)), '0', { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  /** Undoes `prepare` for a start that failed. */
  unprepare(ns: string, id: string, execId: string): void {
    rmSync(this.marker(ns, id, execId), { force: true });
  }

  /** Starts the background Wait of a process that just started with `pid`. */
  watch(ns: string, id: string, execId: string, pid: number): void {
    if (this.closed) return;
    const key = keyOf(ns, id, execId);
    if (this.watches.has(key)) return;
    try {
      writeFileSync(this.marker(ns, id, execId), String(pid));
    } catch (err) {
      this.deps.log.warn(`${describe(id, execId)}: cannot record its start: ${(err as Error).message}`);
    }
    const w: Watch = { ns, id, execId, pid, abort: new AbortController() };
    this.watches.set(key, w);
    void this.run(w);
  }

  /**
   * The process ended and the caller has its exit (Delete, DeleteProcess, a dead shim's
   * cleanup): publishes it unless that happened already, and stops its watcher. A process never
   * started has no exit to publish, unless `unstarted` (a dead shim's init, as containerd).
   */
  settle(ns: string, id: string, execId: string, exit: ProcessExit, opts: { unstarted?: boolean } = {}): void {
    const w = this.watches.get(keyOf(ns, id, execId));
    if (w) {
      this.stop(w);
      this.publish(ns, id, execId, exit);
      return;
    }
    const marker = this.marker(ns, id, execId);
    const started = existsSync(marker);
    const published = !execId && existsSync(`${marker}.exited`);
    if (started || (opts.unstarted && !published)) this.publish(ns, id, execId, exit);
  }

  /** Stops the watchers of a task's processes (all of them, or the one of `execId`) without publishing. */
  forget(ns: string, id: string, execId?: string): void {
    for (const w of [...this.watches.values()]) {
      if (w.ns === ns && w.id === id && (execId === undefined || w.execId === execId)) this.stop(w);
    }
  }

  /**
   * A restarted berthd: watches every process of the task recorded as started whose exit was
   * not published yet. Synchronous file reads only; the Waits run in the background.
   */
  restore(ns: string, id: string): void {
    const dir = join(this.deps.bundleDir(ns, id), 'watch');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const execId = name === 'init' ? '' : name.startsWith('exec-') ? name.slice('exec-'.length) : undefined;
      if (execId === undefined) continue;
      const pid = Number(readFileSync(join(dir, name), 'utf8').trim()) || 0;
      this.watch(ns, id, execId, pid);
    }
  }

  /** Stops every watcher without publishing (berthd stops; its shims and their processes go on). */
  close(): void {
    this.closed = true;
    for (const w of [...this.watches.values()]) this.stop(w);
  }

  private async run(w: Watch): Promise<void> {
    const { ns, id, execId } = w;
    const what = describe(id, execId);
    for (let retry = 0; !w.abort.signal.aborted; retry++) {
      try {
        // Restored from a record made before the start returned: ask the shim for the pid.
        if (w.pid === 0) w.pid = (await this.deps.shims.with(ns, what, false, (c) => c.state({ id, execId }, { signal: w.abort.signal }))).pid;
        const r = await this.deps.shims.with(ns, what, false, (c) => c.wait({ id, execId }, { signal: w.abort.signal }));
        if (w.abort.signal.aborted) return;
        this.stop(w);
        this.publish(ns, id, execId, { pid: w.pid, exitStatus: r.exitStatus, exitedAt: r.exitedAt });
        return;
      } catch (err) {
        if (w.abort.signal.aborted) return;
        const health = await this.deps.shims.probe(ns, PROBE_MS).catch(() => 'unresponsive' as const);
        if (w.abort.signal.aborted) return;
        if (health === 'dead') {
          // The dead shim's cleanup settles this process (the init's exit: recorded or 137).
          this.deps.onShimDead(ns);
          return;
        }
        if (health === 'alive' && isNotFound(err)) {
          // Deleted behind berthd's back (another client of the shim): nothing to publish.
          this.stop(w);
          this.unprepare(ns, id, execId);
          return;
        }
        this.deps.log.warn(`${what}: waiting for its exit: ${(err as Error).message}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** retry)).unref());
      }
    }
  }

  private publish(ns: string, id: string, execId: string, exit: ProcessExit): void {
    this.deps.events.exited(ns, id, execId, exit);
    const marker = this.marker(ns, id, execId);
    try {
      // (A process without a marker was never started: its task's bundle is about to go.)
      if (execId) rmSync(marker, { force: true });
      else if (existsSync(marker)) renameSync(marker, `${marker}.exited`);
    } catch (err) {
      // The bundle is being removed (Delete): nothing left to record.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.log.warn(`${describe(id, execId)}: cannot record its exit: ${(err as Error).message}`);
    }
  }

  private stop(w: Watch): void {
    const key = keyOf(w.ns, w.id, w.execId);
    if (this.watches.get(key) === w) this.watches.delete(key);
    w.abort.abort();
  }

  private marker(ns: string, id: string, execId: string): string {
    return join(this.deps.bundleDir(ns, id), 'watch', markerName(execId));
  }
}

function markerName(execId: string): string {
  return execId ? `exec-${execId}` : 'init';
}

function keyOf(ns: string, id: string, execId: string): string {
  return `${ns}\0${id}\0${execId}`;
}

function describe(id: string, execId: string): string {
  return execId ? `exec ${execId} in task ${id}` : `task ${id}`;
}
