import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalSnapshotter } from './local-snapshotter';
import type { MetadataStore, SnapshotRecord } from './metadata-store';
import { probeOverlay } from './overlay-check';
import type { Mount } from './types';

/** Options of `createOverlaySnapshotter`. */
export interface OverlaySnapshotterOptions {
  /** The snapshotter's root: `metadata.db` and `snapshots/<id>/{fs,work}` live here. */
  root: string;
}

/**
 * The overlayfs snapshotter, with containerd's semantics. Each snapshot is
 * `<root>/snapshots/<id>/fs` (its own changes: the overlay upper dir) plus, while active,
 * `…/<id>/work` (overlay's work dir, removed at commit). Mounts:
 *
 * | snapshot                 | mount                                                               |
 * |--------------------------|---------------------------------------------------------------------|
 * | active, no parent        | `bind` of its `fs`, `rw`, `rbind`                                   |
 * | active, with parents     | `overlay`: `workdir=`, `upperdir=` (its `fs`), `lowerdir=` (parents' `fs`, nearest first) |
 * | view, no parent          | `bind` of its (empty) `fs`, `ro`, `rbind`                           |
 * | view, one parent         | `bind` of the parent's `fs`, `ro`, `rbind`                          |
 * | view, deeper             | `overlay` with `lowerdir=` only (read-only by construction)         |
 *
 * Overlay mounts start with the host-specific options found at creation (`index=off`,
 * `userxattr`). `lowerdir=` may be longer than mount(2)'s one-page limit for deep chains;
 * `mountAll` mounts it through `@berth/sys`'s `mountOverlay`, which has no such limit.
 * Usage of a committed snapshot is that of its `fs` (its own changes only).
 */
export class OverlaySnapshotter extends LocalSnapshotter {
  private constructor(
    root: string,
    store: MetadataStore,
    /** Overlay options this host needs (`index=off`, `userxattr`). */
    readonly overlayOptions: readonly string[],
  ) {
    super(root, store);
  }

  /**
   * Opens (or creates) an overlay snapshotter at `opts.root`. Probes the host first: throws
   * NotImplemented (no overlayfs in the kernel) or FailedPrecondition (overlay cannot be
   * mounted on this file system or without privilege), so an engine can skip the plugin;
   * Unavailable when another snapshotter holds the root.
   */
  static async open(opts: OverlaySnapshotterOptions): Promise<OverlaySnapshotter> {
    await mkdir(join(opts.root, 'snapshots'), { recursive: true, mode: 0o700 });
    const overlayOptions = await probeOverlay(join(opts.root, 'snapshots'));
    const store = await LocalSnapshotter.openRoot(opts.root);
    return new OverlaySnapshotter(opts.root, store, overlayOptions);
  }

  // A few metadata calls of microseconds each: synchronous, since a trip through libuv's pool per
  // call would cost a prepare more than the calls themselves.
  protected override async populate(dir: string, kind: 'active' | 'view', parents: number[]): Promise<void> {
    const fs = join(dir, 'fs');
    mkdirSync(fs, { mode: 0o755 });
    if (kind !== 'active') return;
    mkdirSync(join(dir, 'work'), { mode: 0o711 });
    if (parents.length > 0) {
      // The merged root takes the upper dir's owner and mode; start from the parent's.
      const st = statSync(this.fsDir(parents[0]!));
      chownSync(fs, st.uid, st.gid);
      chmodSync(fs, st.mode & 0o7777);
    }
  }

  protected override mountsOf(r: SnapshotRecord, parents: number[]): Mount[] {
    const lowerdir = `lowerdir=${parents.map((id) => this.fsDir(id)).join(':')}`;
    if (r.kind === 'active') {
      if (parents.length === 0) return [bind(this.fsDir(r.id), 'rw')];
      const work = join(this.snapshotDir(r.id), 'work');
      return [
        {
          type: 'overlay',
          source: 'overlay',
          options: [...this.overlayOptions, `workdir=${work}`, `upperdir=${this.fsDir(r.id)}`, lowerdir],
        },
      ];
    }
    if (parents.length === 0) return [bind(this.fsDir(r.id), 'ro')];
    if (parents.length === 1) return [bind(this.fsDir(parents[0]!), 'ro')];
    return [{ type: 'overlay', source: 'overlay', options: [...this.overlayOptions, lowerdir] }];
  }

  protected override async afterCommit(id: number): Promise<void> {
    // Only a mounted upper needs a work dir; a committed snapshot is only ever a lower.
    await rm(join(this.snapshotDir(id), 'work'), { recursive: true, force: true });
  }
}

function bind(source: string, mode: 'ro' | 'rw'): Mount {
  return { type: 'bind', source, options: [mode, 'rbind'] };
}

/** Opens an overlay snapshotter; see `OverlaySnapshotter.open` for the host checks and errors. */
export function createOverlaySnapshotter(opts: OverlaySnapshotterOptions): Promise<OverlaySnapshotter> {
  return OverlaySnapshotter.open(opts);
}
