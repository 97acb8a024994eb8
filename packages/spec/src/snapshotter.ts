/**
 * Snapshotters, with containerd's semantics. A snapshotter manages a tree of filesystem
 * snapshots. Vocabulary, fixed here once:
 *
 * - a **key** names an *active* (writable) or *view* (read-only) snapshot;
 * - a **name** names a *committed* snapshot, the only kind that can be a parent;
 * - a **parent** is the committed snapshot a new one starts from ("" or undefined: empty).
 *
 * Keys and names share one namespace per snapshotter: no active snapshot and committed
 * snapshot may have the same string.
 *
 * The life of a layer, as an image unpacker does it:
 *
 * ```ts
 * const mounts = await sn.prepare('extract-1', parentChainId);  // active, on top of the parent
 * await mountAll(mounts, dir);                                   // or hand `mounts` to the applier
 * await applier.apply(layerDesc, mounts);                        // write the layer's changes
 * await unmountAll(dir);
 * await sn.commit(chainId, 'extract-1');                          // now a committed parent
 * ```
 *
 * A container's rootfs is `prepare(containerKey, imageTopChainId)`; a read-only look at a
 * committed snapshot is `view(key, name)`.
 */

/** What a snapshot is. Only `committed` snapshots can be parents. */
export type Kind = 'view' | 'active' | 'committed';

/** What a snapshotter knows about one snapshot. */
export interface Info {
  kind: Kind;
  /** The key (active, view) or name (committed). */
  name: string;
  /** The parent's name; absent for a snapshot with no parent. */
  parent?: string;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** The disk a snapshot uses by itself, not counting its parents. */
export interface Usage {
  /** Bytes. */
  size: number;
  inodes: number;
}

/**
 * A kernel-mountable description: `mount -t <type> <source> <target> -o <options>`.
 * For overlay, `options` hold `lowerdir=`, `upperdir=`, `workdir=`; for bind mounts `type` is
 * `bind` and `options` include `rbind` and `ro` or `rw`.
 */
export interface Mount {
  type: string;
  source: string;
  /** Sub-path within the mount target; usually absent. */
  target?: string;
  options: string[];
}

/** Options for prepare and view. */
export interface PrepareOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

/** Options for commit. */
export interface CommitOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

/** Visits a snapshot during `walk`. */
export type WalkFunc = (info: Info) => void | Promise<void>;

/**
 * The snapshotter contract. Errors use `@berth/errdefs` kinds:
 * - `prepare`/`view` on an existing key: AlreadyExists; a parent that does not exist: NotFound;
 *   a parent that is not committed: InvalidArgument. A failed prepare leaves nothing behind.
 * - `commit` of a key that is not active: FailedPrecondition (a view cannot be committed);
 *   a name that exists: AlreadyExists; the key is gone after a successful commit and its
 *   content is then immutable.
 * - `remove` of a snapshot that has children: FailedPrecondition; a missing key: NotFound.
 * - `stat`, `mounts`, `usage`, `update` of a missing key: NotFound.
 * - `update` changes labels only: field paths `labels` (replace all) or `labels.<k>`; no field
 *   paths means replace all labels; any other path is InvalidArgument. A label set to "" by a
 *   field path is removed.
 * - `mounts` of a committed snapshot: InvalidArgument (mount a view of it instead).
 * - `walk` takes containerd filters (fieldpaths `kind`, `name`, `parent`, `labels.<k>`).
 * Views are mounted read-only; active snapshots read-write.
 */
export interface Snapshotter {
  stat(key: string): Promise<Info>;
  update(info: Pick<Info, 'name'> & Partial<Pick<Info, 'labels'>>, ...fieldpaths: string[]): Promise<Info>;
  usage(key: string): Promise<Usage>;
  mounts(key: string): Promise<Mount[]>;
  prepare(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]>;
  view(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]>;
  commit(name: string, key: string, opts?: CommitOptions): Promise<void>;
  remove(key: string): Promise<void>;
  walk(fn: WalkFunc, ...filters: string[]): Promise<void>;
  /** Releases the snapshotter's resources (the metadata database). Further calls fail. */
  close(): Promise<void>;
}
