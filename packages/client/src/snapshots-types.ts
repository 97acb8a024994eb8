// @berth/snapshots' interface, from @berth/spec where it lives, under the names the client has
// always exported its parts by: `SnapshotsClient` implements the very `Snapshotter` the
// engine's snapshotters do, so the snapshotter conformance suite runs through it.
export type {
  CommitOptions as SnapshotCommitOptions,
  Info as SnapshotInfo,
  Kind as SnapshotKind,
  Mount as SnapshotMount,
  PrepareOptions as SnapshotPrepareOptions,
  Snapshotter,
  Usage as SnapshotUsage,
  WalkFunc as SnapshotWalkFunc,
} from '@berth/spec/snapshots';
