import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalStore, type ContentStore } from '@berth/content';
import { openMetadataStore, type MetadataStore } from '@berth/metadata';
import { createNativeSnapshotter, createOverlaySnapshotter, type Snapshotter } from '@berth/snapshots';
import { notFound } from '@berth/errdefs';
import type { Logger } from './daemon/log';
import { createEventExchange, type EventExchange } from './events';
import { collectGarbage, createGarbageCollector, type GarbageCollector, type GcSchedulerOptions } from './gc';

/**
 * What the services of one berthd share: its directories, the metadata store
 * (`<root>/metadata.db`), the content store (`<root>/content`), and its log. Services take the
 * parts they need; tests build one over a temp dir with `openEngineContext`.
 */
export interface EngineContext {
  readonly root: string;
  readonly state: string;
  readonly metadata: MetadataStore;
  readonly content: ContentStore;
  readonly log: Logger;
  /** The event bus: services publish on it, Events.Subscribe streams read from it. */
  readonly events: EventExchange;
  /** The snapshotters berthd offers, by containerd's names. */
  readonly snapshotterNames: readonly string[];
  /**
   * The snapshotter `name` (`overlayfs`, `native`), opened on first use under
   * `<root>/snapshots/<name>`. NotFound for any other name (containerd: `snapshotter not loaded`).
   */
  snapshotter(name: string): Promise<Snapshotter>;
  /**
   * The garbage collector: services call `markDirty()` after a deletion, `collect()` for a
   * `sync` delete, and run mutations that create an object and then record it (or adopt an
   * existing one) inside `gc.gate.shared`.
   */
  readonly gc: GarbageCollector;
  /** Stops the collector (waiting for a running collection), then closes the stores. */
  close(): Promise<void>;
}

const SNAPSHOTTERS: Record<string, (root: string) => Promise<Snapshotter & { close(): Promise<void> | void }>> = {
  overlayfs: (root) => createOverlaySnapshotter({ root }),
  native: (root) => createNativeSnapshotter({ root }),
};

/**
 * Opens the context of `root`. `gc` is the collector's schedule (`startEngine` passes one);
 * without it collections run only when asked (`gc.collect()`, which `sync` deletes call), so a
 * test of one service keeps the objects it made without a lease until it asks.
 */
export function openEngineContext(opts: { root: string; state: string; log: Logger; gc?: Omit<GcSchedulerOptions, 'log'> }): EngineContext {
  const metadata = openMetadataStore({ path: join(opts.root, 'metadata.db') });
  const content = createLocalStore({ root: join(opts.root, 'content') });
  const opened = new Map<string, Promise<Snapshotter & { close(): Promise<void> | void }>>();
  const snapshotter = (name: string): Promise<Snapshotter> => {
    const open = SNAPSHOTTERS[name];
    if (!Object.hasOwn(SNAPSHOTTERS, name) || !open) return Promise.reject(notFound(`snapshotter ${JSON.stringify(name)}: not loaded`));
    let s = opened.get(name);
    if (!s) {
      s = open(join(opts.root, 'snapshots', name));
      opened.set(name, s);
      s.catch(() => opened.delete(name));
    }
    return s;
  };
  const gc = createGarbageCollector(
    () =>
      collectGarbage({
        metadata,
        content,
        log: opts.log,
        snapshotter,
        presentSnapshotters: () => Object.keys(SNAPSHOTTERS).filter((n) => opened.has(n) || existsSync(join(opts.root, 'snapshots', n))),
      }),
    opts.gc ? { ...opts.gc, log: opts.log } : { manual: true, log: opts.log },
  );
  return {
    root: opts.root,
    state: opts.state,
    metadata,
    content,
    log: opts.log,
    events: createEventExchange(),
    snapshotterNames: Object.keys(SNAPSHOTTERS),
    snapshotter,
    gc,
    async close() {
      await gc.close();
      for (const s of opened.values()) await (await s.catch(() => undefined))?.close();
      metadata.close();
    },
  };
}
