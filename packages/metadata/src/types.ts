/**
 * The records berthd keeps in `<root>/metadata.db` and the role interfaces over them, with
 * containerd's semantics (its `metadata` package over bolt). No I/O here; the SQLite
 * implementation is `sqlite-store.ts`.
 *
 * Conventions, once for every method below:
 * - `ns` is a containerd namespace. An empty `ns` is FailedPrecondition (`namespace is
 *   required`), a malformed one InvalidArgument. A namespace is created implicitly by the first
 *   write into it (as in containerd); reads of an unknown namespace find nothing.
 * - Every method is synchronous (better-sqlite3). Every mutating method is one transaction: it
 *   either commits completely or changes nothing. Inside `MetadataStore.transaction` the calls
 *   join the caller's transaction instead (each as a savepoint).
 * - Timestamps are `Date`s with millisecond precision (stored as integer milliseconds since the
 *   epoch). `createdAt` is set at creation and never changes; `updatedAt` moves strictly
 *   forward on every update (by 1 ms if the clock has not).
 * - Labels: keys non-empty, key + value at most 4096 bytes (InvalidArgument otherwise). A label
 *   whose value is `''` is never stored: setting one to `''` deletes it.
 * - `filters` are containerd filter strings (`name==busybox`, `labels."a.b"~=^x`, `labels.k`):
 *   comma = AND inside one string, several strings = OR, none or `''` = everything. A bad
 *   filter is InvalidArgument. Lists are sorted by name, id, digest or key (byte order).
 * - Errors are `@berth/errdefs` kinds with containerd's messages: `image "x": not found`,
 *   `container "x": already exists`.
 */

import type { Digest } from '@berth/spec';

/** A label map. */
export type Labels = Record<string, string>;

/**
 * A `google.protobuf.Any` as containerd stores it: a bare type URL (no `type.googleapis.com/`
 * prefix, e.g. `types.containerd.io/opencontainers/runtime-spec/1/Spec`) and opaque bytes,
 * returned unchanged.
 */
export interface Any {
  typeUrl: string;
  value: Uint8Array;
}

/** A containerd namespace. It has no timestamps, as in containerd. */
export interface Namespace {
  name: string;
  labels: Labels;
}

/**
 * An image's target: the fields of a descriptor containerd stores (a `Descriptor` from
 * `@berth/spec` is one; its other fields are not kept).
 */
export interface ImageTarget {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Labels;
}

/** An image record: a name pointing at a root descriptor, per namespace. */
export interface Image {
  name: string;
  labels: Labels;
  target: ImageTarget;
  createdAt: Date;
  updatedAt: Date;
}

/** What `ImageStore.create` takes. */
export interface NewImage {
  name: string;
  labels?: Labels;
  target: ImageTarget;
}

/** What `ImageStore.update` takes: the fields named by the field mask are read from it. */
export type ImageUpdate = { name: string } & Partial<Omit<NewImage, 'name'>>;

/** A container's runtime: the shim name (`io.containerd.runc.v2`) and its options. */
export interface ContainerRuntime {
  name: string;
  options?: Any;
}

/**
 * A container record, per namespace. `image`, `snapshotter` and `snapshotKey` are `''` when
 * unset (containerd's strings). `spec` is always present on a stored container (create and
 * update require it); it is optional in the type because the wire message is.
 */
export interface Container {
  id: string;
  labels: Labels;
  image: string;
  runtime: ContainerRuntime;
  spec?: Any;
  snapshotter: string;
  snapshotKey: string;
  createdAt: Date;
  updatedAt: Date;
  extensions: Record<string, Any>;
  /** The sandbox (pod) the container belongs to (containerd 1.7 `sandbox`); set at creation only. */
  sandboxId?: string;
}

/** What `ContainerStore.create` takes. */
export interface NewContainer {
  id: string;
  labels?: Labels;
  image?: string;
  runtime: ContainerRuntime;
  spec?: Any;
  snapshotter?: string;
  snapshotKey?: string;
  extensions?: Record<string, Any>;
  sandboxId?: string;
}

/** What `ContainerStore.update` takes: the fields named by the field mask are read from it. */
export type ContainerUpdate = { id: string } & Partial<Omit<NewContainer, 'id'>>;

/**
 * A lease: holds the resources added to it against garbage collection until it is deleted or
 * expires. The expiry is just the label `containerd.io/gc.expire` (RFC 3339); `gcRoots` reads it.
 */
export interface Lease {
  id: string;
  labels: Labels;
  createdAt: Date;
}

/** What `LeaseManager.create` takes. */
export interface NewLease {
  id: string;
  labels?: Labels;
}

/**
 * A resource held by a lease, with containerd's types: `content` (id = digest), `ingests`
 * (id = ingest ref), `snapshots/<snapshotter>` (id = snapshot key).
 */
export interface LeaseResource {
  id: string;
  type: string;
}

/** A content blob owned by a namespace, with that namespace's labels and times. */
export interface ContentRecord {
  digest: Digest;
  labels: Labels;
  createdAt: Date;
  updatedAt: Date;
}

/** A snapshot owned by a namespace, with that namespace's labels and times. */
export interface SnapshotRecord {
  snapshotter: string;
  key: string;
  labels: Labels;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Namespaces: a name and labels. Update follows containerd's Namespaces service.
 */
export interface NamespaceStore {
  /** Creates `name` (an identifier; InvalidArgument otherwise). AlreadyExists if it exists. */
  create(name: string, labels?: Labels): Namespace;
  /**
   * The namespace; NotFound (`namespace "x": not found`) if it does not exist. (containerd's
   * Namespaces.Get answers empty labels for an unknown namespace; that is the gRPC layer's job.)
   */
  get(name: string): Namespace;
  /** Every namespace; filter fields `name`, `labels.<key>`. */
  list(filters?: string[]): Namespace[];
  /**
   * Updates the labels of `namespace.name`, creating the namespace if it does not exist (as
   * containerd's namespace store does). Paths: `labels.<key>` sets that label from
   * `namespace.labels` (absent or `''` deletes it); `labels` replaces them all. No paths
   * replaces all labels. Any other path is InvalidArgument.
   */
  update(namespace: { name: string; labels?: Labels }, fieldpaths?: string[]): Namespace;
  /**
   * Deletes an empty namespace. NotFound if it does not exist; FailedPrecondition
   * (`namespace "x" must be empty, but it still has images, leases`) while it owns images,
   * containers, leases, content or snapshots.
   */
  delete(name: string): void;
}

/** Images per namespace, as containerd's image store. */
export interface ImageStore {
  /**
   * Creates an image. Validation (InvalidArgument): name non-empty, labels valid, target digest
   * valid, size > 0, media type non-empty. AlreadyExists (`image "x": already exists`).
   */
  create(ns: string, image: NewImage): Image;
  /** The image; NotFound (`image "x": not found`). */
  get(ns: string, name: string): Image;
  /**
   * The images of `ns`; filter fields `name`, `target.digest`, `target.mediatype`,
   * `labels.<key>`, `annotations.<key>` (the target's).
   */
  list(ns: string, filters?: string[]): Image[];
  /**
   * Updates `image.name` (NotFound if absent, which `ctr import` relies on). Paths: `labels`
   * and `target` replace them; `annotations` replaces the target's annotations; `labels.<key>`
   * and `annotations.<key>` set one entry from `image` (absent or `''` deletes it). No paths
   * replaces labels and target. Any other path is InvalidArgument. The result is validated as
   * in `create`; on any error nothing changes. `createdAt` is kept.
   */
  update(ns: string, image: ImageUpdate, fieldpaths?: string[]): Image;
  /** Deletes the image; NotFound if absent. Its content is left to the garbage collector. */
  delete(ns: string, name: string): void;
}

/** Containers per namespace, as containerd's container store. */
export interface ContainerStore {
  /**
   * Creates a container. Validation (InvalidArgument): id an identifier, labels valid,
   * extension names non-empty, `runtime.name` non-empty, `spec` set, `snapshotKey` only with
   * `snapshotter`. AlreadyExists (`container "x": already exists`).
   */
  create(ns: string, container: NewContainer): Container;
  /** The container; NotFound (`container "x": not found`). */
  get(ns: string, id: string): Container;
  /** The containers of `ns`; filter fields `id`, `image`, `runtime.name`, `snapshotter`, `labels.<key>`. */
  list(ns: string, filters?: string[]): Container[];
  /**
   * Updates `container.id` (NotFound if absent). Paths: `labels`, `spec`, `extensions`, `image`,
   * `snapshotkey` replace that field; `labels.<key>` and `extensions.<name>` set one entry from
   * `container` (absent, or a `''` label, deletes it). No paths means all five, and then
   * `snapshotter` and `runtime.name` must equal the stored ones (they are immutable:
   * InvalidArgument). Any other path is InvalidArgument. The result is validated as in
   * `create`; on any error nothing changes.
   */
  update(ns: string, container: ContainerUpdate, fieldpaths?: string[]): Container;
  /** Deletes the container; NotFound if absent. Its snapshot is left to the garbage collector. */
  delete(ns: string, id: string): void;
}

/** Leases per namespace, as containerd's lease manager. */
export interface LeaseManager {
  /**
   * Creates a lease. The id must be non-empty (InvalidArgument) but is not held to the
   * identifier grammar: containerd's own random lease ids (`<nanos>-<base64url>`) can break it.
   * The gRPC layer generates an id when the request has none. AlreadyExists (`lease "x": already exists`).
   */
  create(ns: string, lease: NewLease): Lease;
  /** The lease; NotFound (`lease "x": not found`). */
  get(ns: string, id: string): Lease;
  /** The leases of `ns`; filter fields `id`, `labels.<key>`. */
  list(ns: string, filters?: string[]): Lease[];
  /**
   * Deletes the lease and its resource list; NotFound if absent. What it held is left to the
   * garbage collector. containerd's `sync` flag belongs to the caller: delete here, then run
   * the collector and wait for it.
   */
  delete(ns: string, id: string): void;
  /**
   * Adds `resource` to the lease (idempotent). NotFound for an unknown lease; InvalidArgument
   * for a malformed resource (a `content` id that is not a digest, an empty id,
   * `snapshots` without a snapshotter); NotImplemented for an unknown type.
   */
  addResource(ns: string, id: string, resource: LeaseResource): void;
  /** Removes `resource` from the lease (idempotent: absent is fine). NotFound for an unknown lease. */
  deleteResource(ns: string, id: string, resource: LeaseResource): void;
  /** The lease's resources, by type then id. NotFound for an unknown lease. */
  listResources(ns: string, id: string): LeaseResource[];
}

/**
 * Which content blobs each namespace owns, with that namespace's labels (a blob is stored
 * once; each namespace that committed it has its own record). The labels carry the GC edges
 * (`containerd.io/gc.ref.*`) and `containerd.io/gc.root`.
 */
export interface ContentOwnership {
  /** Records that `ns` owns `digest` (InvalidArgument if not a digest). AlreadyExists if it does. */
  add(ns: string, digest: Digest | string, labels?: Labels): ContentRecord;
  /** The record; NotFound (`content sha256:…: not found`). */
  get(ns: string, digest: Digest | string): ContentRecord;
  /** The blobs `ns` owns; filter fields `digest`, `labels.<key>`. */
  list(ns: string, filters?: string[]): ContentRecord[];
  /**
   * Updates the labels with containerd's content Update mask: `labels` replaces them,
   * `labels.<key>` sets one (absent or `''` deletes it), no paths replaces them. Any other
   * path is InvalidArgument; NotFound if `ns` does not own `digest`.
   */
  updateLabels(ns: string, digest: Digest | string, labels: Labels, fieldpaths?: string[]): ContentRecord;
  /** Removes `ns`'s record of `digest`; NotFound if there is none. The blob itself is the caller's. */
  remove(ns: string, digest: Digest | string): void;
  /** True when any namespace owns `digest`: false means the blob may be deleted from the store. */
  isReferenced(digest: Digest | string): boolean;
}

/**
 * Which snapshots each namespace owns, by snapshotter and key, with labels. Parents and kinds
 * are the snapshotter's business; this is ownership only.
 */
export interface SnapshotOwnership {
  /**
   * Records that `ns` owns `key` in `snapshotter` (an identifier; key non-empty; InvalidArgument
   * otherwise). AlreadyExists if it does.
   */
  add(ns: string, snapshotter: string, key: string, labels?: Labels): SnapshotRecord;
  /** The record; NotFound (`snapshot "key" (overlayfs): not found`). */
  get(ns: string, snapshotter: string, key: string): SnapshotRecord;
  /** The snapshots `ns` owns, by snapshotter then key; filter fields `snapshotter`, `key` (or `name`), `labels.<key>`. */
  list(ns: string, filters?: string[]): SnapshotRecord[];
  /** As `ContentOwnership.updateLabels`. */
  updateLabels(ns: string, snapshotter: string, key: string, labels: Labels, fieldpaths?: string[]): SnapshotRecord;
  /** Removes `ns`'s record; NotFound if there is none. */
  remove(ns: string, snapshotter: string, key: string): void;
  /** True when any namespace owns `key` in `snapshotter`. */
  isReferenced(snapshotter: string, key: string): boolean;
}

/** A node of the garbage-collection graph; every node lives in one namespace. */
export type GcNode =
  | { type: 'content'; namespace: string; digest: Digest }
  | { type: 'snapshot'; namespace: string; snapshotter: string; key: string }
  | { type: 'ingest'; namespace: string; ref: string };

/** Why a root is a root. `label` means the object itself carries `containerd.io/gc.root`. */
export type GcHolder =
  | { type: 'image'; name: string }
  | { type: 'container'; id: string }
  | { type: 'lease'; id: string }
  | { type: 'label' };

/** One root: a node that must stay, and what holds it. */
export interface GcRoot {
  node: GcNode;
  holder: GcHolder;
  /**
   * Held by a flat lease (`containerd.io/gc.flat`): keep the node itself but do not follow its
   * references from this root.
   */
  flat?: true;
}

/** A lease as the collector sees it: every lease is listed, expired or not. */
export interface GcLease {
  id: string;
  labels: Labels;
  createdAt: Date;
  /** From `containerd.io/gc.expire`; absent when the label is absent or not RFC 3339 (then the lease never expires, as in containerd). */
  expiresAt?: Date;
  /** `expiresAt` is before `now`: its resources are not roots, and the caller may delete it. */
  expired: boolean;
  /** Carries `containerd.io/gc.flat`. */
  flat: boolean;
  resources: LeaseResource[];
}

/** The roots of one namespace. */
export interface NamespaceGcRoots {
  namespace: string;
  roots: GcRoot[];
  leases: GcLease[];
}

/**
 * The start of a mark-and-sweep collection, read in one consistent snapshot. The collector
 * marks from `gcRoots()`, follows `references()` (and the snapshotter's parents), then
 * removes the content and snapshot records nothing marked, and the expired leases.
 */
export interface GcSource {
  /**
   * Per namespace (sorted), containerd's roots:
   * - each image's target digest (content), and the `gc.ref.*` label references on the image;
   * - each container's snapshot (`snapshotter`/`snapshotKey`, when both are set), and the
   *   `gc.ref.*` label references on the container (a container does not hold its image: the
   *   image record does, as in containerd);
   * - each unexpired lease's resources (content, snapshots, ingests), `flat` for a flat lease;
   * - content and snapshots whose own labels carry `containerd.io/gc.root`.
   * `now` (default: the current time) decides which leases have expired.
   */
  gcRoots(opts?: { now?: Date }): NamespaceGcRoots[];
  /**
   * The edges out of `node`, from its record's labels in its namespace:
   * `containerd.io/gc.ref.content`, `….content.<name>` and `….content/<name>` → content (the
   * value, when it is a digest); `containerd.io/gc.ref.snapshot.<snapshotter>[/<name>]` → that
   * snapshotter's snapshot (the value). A node with no record (a dead edge) or an ingest has none.
   * Snapshot parents are the snapshotter's and are not included.
   */
  references(node: GcNode): GcNode[];
}

/** All the stores, as seen inside or outside a transaction. */
export interface MetadataView extends GcSource {
  readonly namespaces: NamespaceStore;
  readonly images: ImageStore;
  readonly containers: ContainerStore;
  readonly leases: LeaseManager;
  readonly content: ContentOwnership;
  readonly snapshots: SnapshotOwnership;
}

/** The metadata store of one berthd root: `<root>/metadata.db`. */
export interface MetadataStore extends MetadataView {
  /** The database file. */
  readonly path: string;
  /**
   * Runs `fn` in one write transaction and returns its result: everything `fn` does through
   * `tx` commits together, or, if `fn` throws, nothing does (the error is rethrown). `fn` must be
   * synchronous; returning a promise is InvalidArgument and rolls back. A call inside `fn` that
   * throws and is caught by `fn` is undone alone (each call is a savepoint); nested
   * `transaction` calls are savepoints too. Other connections see all of it or none of it.
   */
  transaction<T>(fn: (tx: MetadataView) => T): T;
  /**
   * How many deletions that may free content or snapshots (image, container, lease, content or
   * snapshot record, namespace) this instance has committed since it opened: containerd's
   * "dirty" count, for a collector that runs after deletions.
   */
  readonly deletions: number;
  /** Closes the database; idempotent. Every later call is FailedPrecondition. */
  close(): void;
}

/** Options of `openMetadataStore`. */
export interface OpenOptions {
  /** The database file; created (with its schema) if absent. Its directory must exist. */
  path: string;
  /** How long a write waits for another connection's write lock, in ms (default 5000), before Unavailable. */
  busyTimeout?: number;
}
