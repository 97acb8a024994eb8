import { imagesService } from '@berth/api';
import { isNotFound } from '@berth/errdefs';
import type { Descriptor } from '@berth/spec';
import type { CallOptions, Connection } from './connection';
import { dateOf } from './wire';

const Images = imagesService.Images.methods;

/** An image record: a name pointing at a root descriptor (index or manifest) in the content store. */
export interface ImageRecord {
  /** The full normalized name, e.g. `docker.io/library/busybox:latest`. */
  name: string;
  labels: Record<string, string>;
  target: Descriptor;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * berthd's (or containerd's) image records over gRPC (`containerd.services.images.v1.Images`), in
 * the connection's namespace. Records only: the blobs they point at are the ContentClient's, and
 * deleting a record lets the garbage collector take what nothing else references.
 */
export class ImagesClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** The image named `name` (a full name, not normalized here); NotFound if absent. */
  async get(name: string, opts?: CallOptions): Promise<ImageRecord> {
    const res = await this.#conn.unary(Images.get, { name }, opts);
    return imageOf(res.image);
  }

  /** The images matching any of the containerd filters (`name`, `target.digest`, `labels.<k>`); none matches all. */
  async list(filters: string[] = [], opts?: CallOptions): Promise<ImageRecord[]> {
    const res = await this.#conn.unary(Images.list, { filters }, opts);
    return res.images.map(imageOf);
  }

  /** Creates a record; AlreadyExists if the name is taken. */
  async create(image: Pick<ImageRecord, 'name' | 'target'> & Partial<Pick<ImageRecord, 'labels'>>, opts?: CallOptions): Promise<ImageRecord> {
    const res = await this.#conn.unary(Images.create, { image: toWire(image) }, opts);
    return imageOf(res.image);
  }

  /**
   * Updates a record: `fieldpaths` `target`, `labels` or `labels.<k>`; none replaces labels and
   * target. NotFound if absent.
   */
  async update(image: Pick<ImageRecord, 'name'> & Partial<Pick<ImageRecord, 'target' | 'labels'>>, fieldpaths: string[] = [], opts?: CallOptions): Promise<ImageRecord> {
    const res = await this.#conn.unary(
      Images.update,
      { image: toWire(image), ...(fieldpaths.length > 0 ? { updateMask: { paths: fieldpaths } } : {}) },
      opts,
    );
    return imageOf(res.image);
  }

  /** Creates the record, or points an existing one of that name at the new target and labels. */
  async put(image: Pick<ImageRecord, 'name' | 'target'> & Partial<Pick<ImageRecord, 'labels'>>, opts?: CallOptions): Promise<ImageRecord> {
    try {
      return await this.update(image, ['target'], opts);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.create(image, opts);
    }
  }

  /** Deletes the record (NotFound if absent). `sync` waits for the garbage collection it triggers. */
  async delete(name: string, opts: CallOptions & { sync?: boolean } = {}): Promise<void> {
    await this.#conn.unary(Images.delete, { name, sync: opts.sync ?? false }, opts);
  }
}

function toWire(image: Partial<ImageRecord> & { name: string }): imagesService.Image {
  return {
    name: image.name,
    labels: image.labels ?? {},
    ...(image.target ? { target: { mediaType: image.target.mediaType, digest: image.target.digest, size: image.target.size, annotations: image.target.annotations ?? {} } } : {}),
  } as imagesService.Image;
}

function imageOf(image: imagesService.Image | undefined): ImageRecord {
  const t = image?.target;
  return {
    name: image?.name ?? '',
    labels: { ...image?.labels },
    target: { mediaType: t?.mediaType ?? '', digest: (t?.digest ?? '') as Descriptor['digest'], size: Number(t?.size ?? 0), ...(t && Object.keys(t.annotations ?? {}).length ? { annotations: { ...t.annotations } } : {}) },
    createdAt: dateOf(image?.createdAt),
    updatedAt: dateOf(image?.updatedAt),
  };
}
