// The shapes of @berth/snapshots' types (src/types.ts), declared here because @berth/client
// depends on no library package, not even for types: TypeScript is structural, so a
// `SnapshotsClient` is a `Snapshotter` wherever one is expected. Keep the two in step; the
// conformance tests (tests/conformance) assign one to the other and run the snapshotter suite.

/** What a snapshot is. Only `committed` snapshots can be parents. */
export type SnapshotKind = 'view' | 'active' | 'committed';

/** What the snapshotter knows about one snapshot (@berth/snapshots `Info`). */
export interface SnapshotInfo {
  kind: SnapshotKind;
  /** The key (active, view) or name (committed). */
  name: string;
  /** The parent's name; absent for a snapshot with no parent. */
  parent?: string;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** The disk a snapshot uses by itself (@berth/snapshots `Usage`). */
export interface SnapshotUsage {
  size: number;
  inodes: number;
}

/** A kernel-mountable description, `mount -t <type> <source> <target> -o <options>` (@berth/snapshots `Mount`). */
export interface SnapshotMount {
  type: string;
  source: string;
  /** Sub-path within the mount target; absent for the rootfs itself. */
  target?: string;
  options: string[];
}

/** Options of prepare and view. */
export interface SnapshotPrepareOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

/** Options of commit. */
export interface SnapshotCommitOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

/** Visits a snapshot during `walk`; awaited before the next. */
export type SnapshotWalkFunc = (info: SnapshotInfo) => void | Promise<void>;
