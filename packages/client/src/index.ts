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
  ContentStore,
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
  Snapshotter,
} from './snapshots-types';
export { expiringLeaseLabels, LeasesClient, newLeaseId } from './leases-client';
export type { CreateLeaseOptions, Lease } from './leases-client';
export { ImagesClient } from './images-client';
export type { ImageRecord } from './images-client';
export { ContainersClient, DEFAULT_RUNTIME, PROCESS_TYPE_URL, SPEC_TYPE_URL } from './containers-client';
export type { ContainerRecord, NewContainer } from './containers-client';
export { TasksClient } from './tasks-client';
export type { ExitStatus, ProcessRef, ProcessState, ProcessStatus, ProcessStdio } from './tasks-client';
export { NamespacesClient, VersionClient } from './namespaces-client';
export type { NamespaceRecord } from './namespaces-client';
export { EventsClient } from './events-client';
export type { EventEnvelope } from './events-client';
export { FifoSet } from './cio';
export type { FifoOptions } from './cio';
export { digestFile, readBlob, resolveImage, writeBlob } from './image-content';
export type { BlobCache } from './image-content';
export type { ResolvedImage } from './image-content';
export { importArchive } from './import-archive';
export type { ImportOptions, ImportProgress } from './import-archive';
export { exportArchive } from './export-archive';
export type { ExportArchiveOptions } from './export-archive';
export { importRootfs } from './import-rootfs';
export type { ImportRootfsOptions, ImportedRootfs } from './import-rootfs';
export { exportContainer } from './container-export';
export type { ExportContainerOptions } from './container-export';
export { DiffClient, readOnlyView } from './diff-client';
export type { DiffOptions } from './diff-client';
export { isUnpacked, unpackImage } from './unpack';
export type { UnpackOptions } from './unpack';
export { indexTar } from './tar-index';
export type { TarFile } from './tar-index';
export { DEFAULT_PATH_ENV, SPEC_OCI_VERSION, mergeEnv, resolveUser, specFromImage } from './oci-spec';
export type { BindMount, ResourceLimits, SpecOptions, TmpfsMount } from './oci-spec';
export { readSnapshotFiles } from './image-files';
export { CONTAINER_IMAGE_LABEL, CONTAINER_NAME_LABEL, createContainer, newContainerId, removeContainer, runContainer } from './container-ops';
export type { CreateContainerOptions, CreatedContainer, RunContainerOptions } from './container-ops';
// Image references with Docker's normalization, for commands that take and print image names.
export { familiarName, familiarString, normalizeReference, parseReference, parsePlatform } from '@berth/spec';
export type { Reference } from '@berth/spec';
export { TransferClient, pullRequest, pushRequest } from './transfer-client';
export type { PullRequestOptions, TransferOptions } from './transfer-client';
export { decodeTaskStats } from './task-metrics';
export type { TaskStats } from './task-metrics';
export { lazy, randomHex } from './lazy-node';
