import { join } from 'node:path';
import { createLocalStore, type ContentStore } from '@berth/content';
import { openMetadataStore, type MetadataStore } from '@berth/metadata';
import { createNativeSnapshotter, createOverlaySnapshotter, type Snapshotter } from '@berth/snapshots';
import { notFound } from '@berth/errdefs';
import type { Logger } from './daemon/log';
import { createEventExchange, type EventExchange } from './events';

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
  close(): Promise<void>;
}

const SNAPSHOTTERS: Record<string, (root: string) => Promise<Snapshotter & { close(): Promise<void> | void }>> = {
  overlayfs: (root) => createOverlaySnapshotter({ root }),
  native: (root) => createNativeSnapshotter({ root }),
};

export function openEngineContext(opts: { root: string; state: string; log: Logger }): EngineContext {
  const metadata = openMetadataStore({ path: join(opts.root, 'metadata.db') });
  const content = createLocalStore({ root: join(opts.root, 'content') });
  const opened = new Map<string, Promise<Snapshotter & { close(): Promise<void> | void }>>();
  return {
    root: opts.root,
    state: opts.state,
    metadata,
    content,
    log: opts.log,
    events: createEventExchange(),
    snapshotterNames: Object.keys(SNAPSHOTTERS),
    snapshotter(name) {
      const open = SNAPSHOTTERS[name];
      if (!Object.hasOwn(SNAPSHOTTERS, name) || !open) return Promise.reject(notFound(`snapshotter ${JSON.stringify(name)}: not loaded`));
      let s = opened.get(name);
      if (!s) {
        s = open(join(opts.root, 'snapshots', name));
        opened.set(name, s);
        s.catch(() => opened.delete(name));
      }
      return s;
    },
    async close() {
      for (const s of opened.values()) await (await s.catch(() => undefined))?.close();
      metadata.close();
    },
  };
}
