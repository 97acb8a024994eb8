import { alreadyExists, invalidArgument, notFound, withContext } from '@berth/errdefs';
import { parseDigest, parseFilters, type Digest } from '@berth/spec';
import { later, type StoreContext } from './context';
import { applyMapPath, checkLabels, cleanMap, decodeMap, encodeMap, mapField } from './maps';
import type { Image, ImageStore, ImageTarget, ImageUpdate, Labels, NewImage } from './types';

interface Row {
  name: string;
  labels: string;
  media_type: string;
  digest: string;
  size: number;
  annotations: string | null;
  created_at: number;
  updated_at: number;
}

/** `ImageStore` over the `images` table. */
export class SqliteImageStore implements ImageStore {
  constructor(private readonly ctx: StoreContext) {}

  create(ns: string, image: NewImage): Image {
    this.ctx.checkNamespace(ns);
    const { name } = image;
    const labels = cleanMap(image.labels);
    const target = cleanTarget(image.target);
    validateImage(name, labels, target);
    return this.ctx.write(() => {
      this.ctx.ensureNamespace(ns);
      if (this.row(ns, name)) throw alreadyExists(`image "${name}": already exists`);
      const now = Date.now();
      this.ctx
        .stmt(
          `INSERT INTO images (namespace, name, labels, media_type, digest, size, annotations, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(ns, name, encodeMap(labels), target.mediaType, target.digest, target.size, annotationsColumn(target), now, now);
      return this.get(ns, name);
    });
  }

  get(ns: string, name: string): Image {
    this.ctx.checkNamespace(ns);
    const row = this.row(ns, name);
    if (!row) throw notFound(`image "${name}": not found`);
    return imageOf(row);
  }

  list(ns: string, filters: string[] = []): Image[] {
    this.ctx.checkNamespace(ns);
    const filter = parseFilters(...filters);
    const rows = this.ctx.stmt('SELECT * FROM images WHERE namespace = ? ORDER BY name').all(ns) as Row[];
    return rows.map(imageOf).filter((image) => filter.match({ field: (path) => imageField(image, path) }));
  }

  update(ns: string, image: ImageUpdate, fieldpaths: string[] = []): Image {
    this.ctx.checkNamespace(ns);
    const { name } = image;
    if (!name) throw invalidArgument('image name must not be empty');
    return this.ctx.write(() => {
      const current = this.get(ns, name);
      let labels: Labels = current.labels;
      let target: ImageTarget = current.target;
      if (fieldpaths.length === 0) {
        labels = { ...image.labels };
        target = image.target ?? ({} as ImageTarget);
      }
      for (const path of fieldpaths) {
        const nextLabels = applyMapPath(labels, image.labels, 'labels', path);
        if (nextLabels !== undefined) {
          labels = nextLabels;
          continue;
        }
        const annotations = applyMapPath(target.annotations, image.target?.annotations, 'annotations', path);
        if (annotations !== undefined) {
          target = { ...target, annotations };
          continue;
        }
        // As in containerd, the target is replaced as a unit: a digest without its media
        // type and size makes no sense.
        if (path === 'target') target = image.target ?? ({} as ImageTarget);
        else throw invalidArgument(`cannot update "${path}" field on image "${name}"`);
      }
      labels = cleanMap(labels);
      target = cleanTarget(target);
      validateImage(name, labels, target);
      this.ctx
        .stmt(
          `UPDATE images SET labels = ?, media_type = ?, digest = ?, size = ?, annotations = ?, updated_at = ?
           WHERE namespace = ? AND name = ?`,
        )
        .run(encodeMap(labels), target.mediaType, target.digest, target.size, annotationsColumn(target), later(current.updatedAt), ns, name);
      return this.get(ns, name);
    });
  }

  delete(ns: string, name: string): void {
    this.ctx.checkNamespace(ns);
    this.ctx.write(() => {
      const { changes } = this.ctx.stmt('DELETE FROM images WHERE namespace = ? AND name = ?').run(ns, name);
      if (changes === 0) throw notFound(`image "${name}": not found`);
      this.ctx.deleted();
    });
  }

  private row(ns: string, name: string): Row | undefined {
    return this.ctx.stmt('SELECT * FROM images WHERE namespace = ? AND name = ?').get(ns, name) as Row | undefined;
  }
}

/** containerd's `adaptImage`. */
function imageField(image: Image, [head, second, ...rest]: string[]): string | undefined {
  switch (head) {
    case 'name':
      return image.name || undefined;
    case 'target':
      if (second === 'digest') return image.target.digest || undefined;
      if (second === 'mediatype') return image.target.mediaType || undefined;
      return undefined;
    case 'labels':
      return second === undefined ? undefined : mapField([second, ...rest], image.labels);
    case 'annotations':
      return second === undefined ? undefined : mapField([second, ...rest], image.target.annotations);
    default:
      return undefined;
  }
}

/** The stored fields of a target only, `''` annotations dropped. */
function cleanTarget(target: ImageTarget | undefined): ImageTarget {
  const t = { mediaType: target?.mediaType, digest: target?.digest, size: target?.size } as ImageTarget;
  const annotations = cleanMap(target?.annotations);
  if (Object.keys(annotations).length > 0) t.annotations = annotations;
  return t;
}

function annotationsColumn(target: ImageTarget): string | null {
  return target.annotations === undefined ? null : encodeMap(target.annotations);
}

/** containerd's `validateImage`: only the fields it stores. */
function validateImage(name: string, labels: Labels, target: ImageTarget): void {
  if (typeof name !== 'string' || name === '') throw invalidArgument('image name must not be empty');
  checkLabels(labels, `image "${name}"`);
  try {
    parseDigest(target.digest);
  } catch (err) {
    throw withContext(err, `image "${name}": target digest`);
  }
  if (!Number.isSafeInteger(target.size) || target.size <= 0) {
    throw invalidArgument(`image "${name}": target size must be a positive integer`);
  }
  if (typeof target.mediaType !== 'string' || target.mediaType === '') {
    throw invalidArgument(`image "${name}": target media type must be set`);
  }
  for (const [key, value] of Object.entries(target.annotations ?? {})) {
    if (key === '' || typeof value !== 'string') {
      throw invalidArgument(`image "${name}": target annotations must map non-empty keys to strings`);
    }
  }
}

function imageOf(row: Row): Image {
  const target: ImageTarget = { mediaType: row.media_type, digest: row.digest as Digest, size: row.size };
  if (row.annotations !== null) target.annotations = decodeMap(row.annotations);
  return {
    name: row.name,
    labels: decodeMap(row.labels),
    target,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
