import { Writable, type Readable } from 'node:stream';
import { FifoSet } from './cio';
import { randomHex } from './lazy-node';
import { isFailedPrecondition, isNotFound } from '@berth/errdefs';
import { Label, normalizeReference, type Platform, type Spec } from '@berth/spec';
import type { Connection } from './connection';
import { ContainersClient, type ContainerRecord } from './containers-client';
import { ContentClient } from './content-client';
import { readSnapshotFiles } from './image-files';
import { ImagesClient, type ImageRecord } from './images-client';
import { resolveImage, type BlobCache, type ResolvedImage } from './image-content';
import { expiringLeaseLabels, LeasesClient, newLeaseId } from './leases-client';
import { specFromImage, resolveUser, type SpecOptions } from './oci-spec';
import { SnapshotsClient } from './snapshots-client';
import type { SnapshotMount } from './snapshots-types';
import { TasksClient } from './tasks-client';
import { unpackImage } from './unpack';

/** The label berth keeps a container's name in (unique per namespace, enforced by the CLI). */
export const CONTAINER_NAME_LABEL = 'berth/name';
/** The label holding the image reference a container was created from, as the user wrote it. */
export const CONTAINER_IMAGE_LABEL = 'berth/image';

/** Options of `createContainer`. */
export interface CreateContainerOptions extends Omit<SpecOptions, 'id' | 'namespace' | 'user'> {
  /** The image reference (normalized: `busybox` is `docker.io/library/busybox:latest`). */
  image: string;
  /** Default: 64 random hex digits. */
  id?: string;
  /** Docker's `--user`: `uid[:gid]` or `name[:group]`, resolved against the image's files. */
  user?: string;
  labels?: Record<string, string>;
  /** Default `overlayfs`. */
  snapshotter?: string;
  platform?: Platform;
  /** Changes the generated spec before the container is created. */
  editSpec?: (spec: Spec) => void;
  /** The image's record, when the caller has just read it (saves looking it up again). */
  imageRecord?: ImageRecord;
  /** Where the image's manifest and config may already be (see `BlobCache`). */
  blobCache?: BlobCache;
}

/** A random 64-hex container id, as Docker makes them. */
export function newContainerId(): string {
  return randomHex(32);
}

/** What `createContainer` made. */
export interface CreatedContainer {
  container: ContainerRecord;
  image: ResolvedImage;
  /** The mounts of the container's new snapshot (what Tasks.Create takes as its rootfs). */
  mounts: SnapshotMount[];
}

/**
 * Creates a container as `ctr run` does before its task: Images.Get, unpack if needed, under a
 * lease: Snapshots.Prepare(key = id, parent = top chain ID), the OCI spec from the image config
 * (Docker's Entrypoint/Cmd/Env/WorkingDir/User semantics), Containers.Create with labels
 * (`io.containerd.image.config.stop-signal` from the image). NotFound for an unknown image;
 * the snapshot is removed again when the create fails.
 *
 * The lease: when `conn` carries one (`conn.with({ lease })`), that one, and the caller deletes
 * it (as containerd's client does with a lease in the context); otherwise one made for the call
 * and deleted before it returns. In as few round trips as the calls' order allows: the image
 * lookup and the lease go out together, manifest and config are one Read each (none with a
 * `blobCache` that has them), and the snapshot is prepared without a Stat first (its parent
 * missing, NotFound, is what sends it to unpack) and together with the record.
 */
export async function createContainer(conn: Connection, opts: CreateContainerOptions): Promise<CreatedContainer> {
  const snapshotter = opts.snapshotter ?? 'overlayfs';
  const name = normalizeReference(opts.image);
  const id = opts.id ?? newContainerId();
  const leases = new LeasesClient(conn);
  const ownLease = conn.lease === undefined ? newLeaseId() : undefined;
  const leasing = ownLease === undefined ? undefined : leases.create({ id: ownLease, labels: expiringLeaseLabels() });
  leasing?.catch(() => {});
  const leased = ownLease === undefined ? conn : conn.with({ lease: ownLease });
  try {
    const record = opts.imageRecord?.name === name ? opts.imageRecord : await new ImagesClient(conn).get(name);
    const image = await resolveImage(new ContentClient(conn), record.target, opts.platform, opts.blobCache);
    await leasing;
    const snapshots = new SnapshotsClient(leased, snapshotter);
    const top = image.chainIds.at(-1);
    // The snapshot, and (below) the record, go out together: a container's record does not
    // need its snapshot to exist. A missing parent (NotFound) means the image is not unpacked.
    const preparing = snapshots.prepare(id, top).catch(async (err: unknown) => {
      if (!isNotFound(err) || top === undefined) throw err;
      await unpackImage(leased, record.target, { snapshotter, platform: opts.platform });
      return snapshots.prepare(id, top);
    });
    preparing.catch(() => {});
    let creating: Promise<ContainerRecord> | undefined;
    try {
      const userSpec = opts.user ?? image.config.config?.User ?? '';
      let user = { uid: 0, gid: 0 } as ReturnType<typeof resolveUser>;
      if (userSpec && !/^\d+:\d+$/.test(userSpec) && top) {
        await preparing; // the image's files are there once its snapshot could be prepared
        const [passwd, group] = await readSnapshotFiles(leased, snapshotter, top, ['etc/passwd', 'etc/group']);
        user = resolveUser(userSpec, passwd!, group!);
      } else if (userSpec) user = resolveUser(userSpec, '', '');
      const spec = specFromImage(image.config, { ...opts, id, namespace: conn.namespace, user });
      opts.editSpec?.(spec);
      const labels: Record<string, string> = { ...opts.labels };
      const stop = image.config.config?.StopSignal;
      if (stop) labels[Label.ImageStopSignal] = stop;
      creating = new ContainersClient(leased).create({ id, spec, image: name, labels, snapshotter, snapshotKey: id });
    } catch (err) {
      creating = Promise.reject(err);
    }
    const [mounts, container] = await Promise.allSettled([preparing, creating]);
    if (mounts.status === 'fulfilled' && container.status === 'fulfilled') return { container: container.value, image, mounts: mounts.value };
    // Undo only what this call made.
    if (mounts.status === 'fulfilled') await snapshots.remove(id).catch(() => {});
    if (container.status === 'fulfilled') await new ContainersClient(leased).delete(id).catch(() => {});
    throw mounts.status === 'rejected' ? mounts.reason : (container as PromiseRejectedResult).reason;
  } finally {
    if (ownLease !== undefined) await leasing?.then(() => leases.delete(ownLease)).catch(() => {});
  }
}

/**
 * Removes a container (by id, or its record when the caller has it) as `ctr containers rm`
 * does: its task if it has a stopped or created one (FailedPrecondition while it runs, unless
 * `force`, which SIGKILLs it first), its snapshot, its record. NotFound if there is no such
 * container.
 */
export async function removeContainer(conn: Connection, container: string | ContainerRecord, opts: { force?: boolean } = {}): Promise<void> {
  const containers = new ContainersClient(conn);
  const c = typeof container === 'string' ? await containers.get(container) : container;
  const tasks = new TasksClient(conn);
  // Delete first: a stopped task (the common case) goes in one call; a running one is
  // FailedPrecondition, and only then, with `force`, killed and waited for.
  try {
    await tasks.delete(c.id);
  } catch (err) {
    if (isFailedPrecondition(err) && opts.force) {
      const wait = tasks.wait({ containerId: c.id });
      await tasks.kill({ containerId: c.id }, 9, { all: true });
      await wait;
      await tasks.delete(c.id);
    } else if (!isNotFound(err)) throw err;
  }
  // The snapshot and the record together (one round trip): with the record gone, a snapshot
  // that failed to go is garbage the collector takes.
  const removeSnapshot = c.snapshotKey
    ? new SnapshotsClient(conn, c.snapshotter || 'overlayfs').remove(c.snapshotKey).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      })
    : undefined;
  const [snapshot, record] = await Promise.allSettled([removeSnapshot, containers.delete(c.id)]);
  if (record.status === 'rejected') throw record.reason;
  if (snapshot.status === 'rejected') throw snapshot.reason;
}

/** Options of `runContainer`. */
export interface RunContainerOptions extends CreateContainerOptions {
  /** Where the stdio FIFOs are made (a fresh subdirectory each run; removed after). Default /run/berth/fifo. */
  fifoDir?: string;
  /** Where the container's output goes (default: nowhere). stderr defaults to stdout. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Fed to the container's stdin, which then reads EOF. Without it the container has no stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Remove the container after it exits (default true), as `ctr run --rm`. */
  remove?: boolean;
  /** Killing the container: aborting sends SIGKILL; the run then resolves with its exit status. */
  signal?: AbortSignal;
}

/**
 * Runs a container to completion as `ctr run --rm` does: `createContainer`, FIFOs, Tasks.Create
 * on the snapshot's mounts, Wait, Start, the output copied until the FIFOs drain, Tasks.Delete,
 * then (unless `remove: false`) the snapshot and the record. Resolves with the id and exit status.
 */
export async function runContainer(conn: Connection, opts: RunContainerOptions): Promise<{ id: string; exitStatus: number }> {
  const { container, mounts } = await createContainer(conn, opts);
  const id = container.id;
  const tasks = new TasksClient(conn);
  const fifos = await FifoSet.make(opts.fifoDir ?? '/run/berth/fifo', id, { stdin: opts.stdin !== undefined });
  try {
    await tasks.create(id, mounts, fifos.stdio);
    const sink = (s: NodeJS.WritableStream | undefined) => (s ?? new Writable({ write: (_c, _e, cb) => cb() })) as Writable;
    fifos.attach({
      stdout: sink(opts.stdout),
      stderr: sink(opts.stderr ?? opts.stdout),
      ...(opts.stdin ? { stdin: opts.stdin as Readable, onStdinEnd: () => void tasks.closeIO({ containerId: id }).catch(() => {}) } : {}),
    });
    const waited = tasks.wait({ containerId: id });
    waited.catch(() => {});
    await tasks.start({ containerId: id });
    const onAbort = () => void tasks.kill({ containerId: id }, 9, { all: true }).catch(() => {});
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    try {
      const { exitStatus } = await waited;
      await fifos.drain();
      return { id, exitStatus };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    fifos.close();
    if (opts.remove ?? true) await removeContainer(conn, id, { force: true }).catch(() => {});
    else await tasks.delete(id).catch(() => {});
  }
}
