import type { Descriptor } from '@berth/spec';

/**
 * Image records, after containerd's `images.Image` and `images.Store`. No I/O here.
 *
 * An image record is a *name* pointing at a *target*: the descriptor of a manifest or an index
 * in the content store. The record owns nothing else; the blobs it reaches are kept alive by
 * the `containerd.io/gc.ref.*` labels set on them when they were imported or pulled.
 *
 * Errors carry an `@berth/errdefs` kind: `NotFound` (no record of that name), `AlreadyExists`
 * (create of an existing name), `InvalidArgument` (empty name, a target without a valid digest
 * or media type, an oversized label, an unknown update fieldpath or a bad filter).
 */

/** One image record. */
export interface Image {
  /**
   * A normalized reference (`docker.io/library/busybox:latest`) or any free-form, non-empty
   * name, as containerd allows (`import-2024-01-01:latest`, `sha256:…`).
   */
  name: string;
  /** The root of the image: a manifest or an index descriptor. */
  target: Descriptor;
  /** Free-form labels; key + value ≤ 4096 bytes each. */
  labels: Record<string, string>;
  /** Set by the store at create; never changes. */
  createdAt: Date;
  /** Set by the store at create and at every update. */
  updatedAt: Date;
}

/** What `ImageStore.create` takes: the store sets the times. */
export type NewImage = Pick<Image, 'name' | 'target'> & Partial<Pick<Image, 'labels'>>;

/**
 * Where image records live. The in-memory store (`createMemoryImageStore`) implements it for
 * embedded use and tests; the engine's SQLite metadata implements it per namespace.
 *
 * Every method returns copies: mutating a returned record changes nothing in the store.
 */
export interface ImageStore {
  /** The record named `name`; `NotFound` when there is none. */
  get(name: string): Promise<Image>;
  /**
   * Every record matching any of the containerd filters, sorted by name. Fieldpaths: `name`,
   * `target.digest`, `target.mediatype`, `labels.<key>` (quote keys with dots:
   * `labels."a.b"==c`). No filter, or an empty string, matches everything.
   */
  list(...filters: string[]): Promise<Image[]>;
  /**
   * Creates a record; `AlreadyExists` when the name is taken. The name must not be empty and
   * the target needs a valid digest and a non-empty media type (`InvalidArgument`).
   */
  create(image: NewImage): Promise<Image>;
  /**
   * Changes the record named `image.name` and returns it. `fieldpaths` select what changes:
   * `target`, `labels` (replace all), `labels.<key>` (set one; an empty or absent value deletes
   * it). None means `target` and `labels` both. Any other fieldpath is `InvalidArgument`;
   * `NotFound` when there is no such record. `updatedAt` moves forward.
   */
  update(image: Pick<Image, 'name'> & Partial<Pick<Image, 'target' | 'labels'>>, fieldpaths?: string[]): Promise<Image>;
  /** Deletes the record; `NotFound` when there is none. The content stays until GC. */
  delete(name: string): Promise<void>;
}
