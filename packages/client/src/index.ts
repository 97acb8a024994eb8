export { connect, Connection, toBerthError, DEFAULT_NAMESPACE, LEASE_HEADER, MAX_MESSAGE_BYTES, NAMESPACE_HEADER } from './connection';
export type { CallOptions, ConnectOptions } from './connection';
export { ContentClient } from './content-client';
export { RemoteReaderAt } from './content-reader';
export { RemoteWriter, WRITE_MESSAGE_BYTES, WRITE_WINDOW_BYTES } from './content-writer';
export type {
  ContentBlobRef,
  ContentCommitOptions,
  ContentInfo,
  ContentReadStream,
  ContentReadStreamOptions,
  ContentReaderAt,
  ContentStatus,
  ContentWalkFunc,
  ContentWriter,
  ContentWriterOptions,
} from './content-types';
export { SnapshotsClient } from './snapshots-client';
export type {
  SnapshotCommitOptions,
  SnapshotInfo,
  SnapshotKind,
  SnapshotMount,
  SnapshotPrepareOptions,
  SnapshotUsage,
  SnapshotWalkFunc,
} from './snapshots-types';
export { LeasesClient } from './leases-client';
export type { CreateLeaseOptions, Lease } from './leases-client';
