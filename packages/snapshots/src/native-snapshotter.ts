import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { copyTree } from './copy-tree';
import { LocalSnapshotter } from './local-snapshotter';
import type { MetadataStore, SnapshotRecord } from './metadata-store';
import type { Mount } from './types';

/** Options of `createNativeSnapshotter`. */
export interface NativeSnapshotterOptions {
  /** The snapshotter's root: `metadata.db` and `snapshots/<id>/fs` live here. */
  root: string;
}

/**
 * The native snapshotter: no overlay, every snapshot is a full copy. `prepare` and `view` copy
 * the parent's whole tree into the new snapshot's `<root>/snapshots/<id>/fs` (see `copyTree`
 * for what is preserved); mounts are always one `bind` of that dir, `rw` for active snapshots
 * and `ro` for views. Works on any file system and needs privilege only to mount. Usage of a
 * committed snapshot is its whole tree, since it shares nothing with its parent. Deletions in
 * a child are plain deletions of its copy; no whiteouts are involved.
 */
export class NativeSnapshotter extends LocalSnapshotter {
  private constructor(root: string, store: MetadataStore) {
    super(root, store);
  }

  /** Opens (or creates) a native snapshotter at `opts.root`; Unavailable when another holds the root. */
  static async open(opts: NativeSnapshotterOptions): Promise<NativeSnapshotter> {
    return new NativeSnapshotter(opts.root, await LocalSnapshotter.openRoot(opts.root));
  }

  protected override async populate(dir: string, _kind: 'active' | 'view', parents: number[], signal?: AbortSignal): Promise<void> {
    const fs = join(dir, 'fs');
    if (parents.length === 0) await mkdir(fs, { mode: 0o755 });
    else await copyTree(this.fsDir(parents[0]!), fs, signal);
  }

  protected override mountsOf(r: SnapshotRecord): Mount[] {
    return [{ type: 'bind', source: this.fsDir(r.id), options: [r.kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  }
}

/** Opens a native snapshotter; see `NativeSnapshotter.open`. */
export function createNativeSnapshotter(opts: NativeSnapshotterOptions): Promise<NativeSnapshotter> {
  return NativeSnapshotter.open(opts);
}
