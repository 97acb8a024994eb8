import type { Logger } from '../daemon/log';
import type { GcStats } from './collector';
import { Gate } from './gate';

/**
 * berthd's garbage collector as the services see it (`EngineContext.gc`), scheduled like
 * containerd's `gc/scheduler`: a collection runs shortly after deletions, periodically (so that
 * leases expire), and on demand; never two at once.
 */
export interface GarbageCollector {
  /**
   * The gate between collections and the mutations that must not be cut in half (see `Gate`):
   * a collection holds it exclusively from its first read to its last removal.
   */
  readonly gate: Gate;
  /**
   * Notes a deletion that may have freed content or snapshots (an image, container, lease,
   * content or snapshot record): a collection starts `delayMs` after the last call, or at most
   * `maxDelayMs` after the first one since the previous collection began. Never throws; a
   * no-op once closed.
   */
  markDirty(): void;
  /**
   * Runs a collection that starts after this call and resolves with its stats: waits for a
   * running one to end first (it may have read the roots before the caller's deletion), and
   * joins one already waiting to start. Rejects with the collection's error (the metadata
   * transaction failed; nothing was removed). After `close`, resolves `undefined` and runs
   * nothing.
   */
  collect(): Promise<GcStats | undefined>;
  /** Stops the timers and waits for the collection in progress; idempotent. */
  close(): Promise<void>;
}

/** Options of `createGarbageCollector` (times in ms). */
export interface GcSchedulerOptions {
  /**
   * Collect only when asked (`collect()`): no timers, and `markDirty` does nothing. For
   * libraries and single-service tests; berthd schedules (default false).
   */
  manual?: boolean;
  /** Debounce after the last `markDirty` (default 5; containerd's `schedule_delay` is 0). */
  delayMs?: number;
  /** Upper bound of that debounce under a stream of deletions (default 100). */
  maxDelayMs?: number;
  /** Period of the background collection; 0 disables it (default 60 000). */
  intervalMs?: number;
  /** The first collection after start, for leftovers of a crash; undefined skips it (default 100, containerd's `startup_delay`). */
  startupDelayMs?: number | undefined;
  log: Logger;
}

/**
 * The scheduler around `run` (one collection, e.g. `() => collectGarbage(stores)`), which it
 * calls inside `gate.exclusive`. Timers are unref'd: they never keep the process alive.
 * Collections the timers start log their failures (warn) instead of rejecting.
 */
export function createGarbageCollector(run: () => Promise<GcStats>, opts: GcSchedulerOptions): GarbageCollector {
  const { log } = opts;
  const delayMs = opts.delayMs ?? 5;
  const maxDelayMs = opts.maxDelayMs ?? 100;
  const gate = new Gate();
  let closed = false;
  let firstDirty: number | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let running: Promise<GcStats | undefined> | undefined;
  let waiting: Promise<GcStats | undefined> | undefined;

  const background = () => {
    collect().catch((err: unknown) => log.warn(`gc: collection failed: ${err instanceof Error ? err.message : String(err)}`));
  };

  async function once(): Promise<GcStats | undefined> {
    if (closed) return undefined;
    firstDirty = undefined;
    clearTimeout(debounce);
    debounce = undefined;
    const stats = await gate.exclusive(run);
    const removed = stats.contentRecords + stats.blobs + stats.snapshotRecords + stats.snapshots + stats.leases;
    if (removed > 0 || stats.errors > 0) {
      log.debug(
        `gc: removed ${stats.contentRecords} content records, ${stats.blobs} blobs, ${stats.snapshotRecords} snapshot records, ` +
          `${stats.snapshots} snapshots, ${stats.leases} expired leases; ${stats.errors} errors`,
      );
    }
    return stats;
  }

  /** Tracks `p` as the running collection until it settles. */
  function track(p: Promise<GcStats | undefined>): Promise<GcStats | undefined> {
    running = p;
    const clear = () => {
      if (running === p) running = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  function collect(): Promise<GcStats | undefined> {
    if (closed) return Promise.resolve(undefined);
    if (waiting) return waiting;
    if (!running) return track(once());
    const next: Promise<GcStats | undefined> = running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        waiting = undefined;
        return track(once());
      });
    waiting = next;
    return next;
  }

  const timers: NodeJS.Timeout[] = [];
  const manual = opts.manual === true;
  if (!manual && (opts.intervalMs ?? 60_000) > 0) timers.push(setInterval(background, opts.intervalMs ?? 60_000).unref());
  const startup = 'startupDelayMs' in opts ? opts.startupDelayMs : 100;
  if (!manual && startup !== undefined) timers.push(setTimeout(background, startup).unref());

  return {
    gate,
    markDirty() {
      if (closed || manual) return;
      const now = Date.now();
      firstDirty ??= now;
      clearTimeout(debounce);
      const wait = Math.max(0, Math.min(delayMs, firstDirty + maxDelayMs - now));
      debounce = setTimeout(background, wait).unref();
    },
    collect,
    async close() {
      closed = true;
      clearTimeout(debounce);
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([running, waiting]);
    },
  };
}
