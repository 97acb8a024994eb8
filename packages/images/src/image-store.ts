import { alreadyExists, invalidArgument, notFound } from '@berth/errdefs';
import { parseDigest, parseFilters, validateLabels, type Adaptor, type Descriptor } from '@berth/spec';
import type { Image, ImageStore, NewImage } from './types';

/**
 * Checks what every image store must refuse, whatever it keeps records in: an empty name, a
 * target without a valid digest or a media type, labels over the size limit. Throws
 * InvalidArgument naming the image.
 */
export function validateImage(image: Pick<Image, 'name'> & Partial<Pick<Image, 'target' | 'labels'>>): void {
  if (typeof image.name !== 'string' || image.name === '') throw invalidArgument('image name must not be empty');
  if (image.target !== undefined) validateTarget(image.name, image.target);
  try {
    validateLabels(image.labels);
  } catch (err) {
    throw invalidArgument(`image ${JSON.stringify(image.name)}: ${(err as Error).message}`, { cause: err });
  }
}

function validateTarget(name: string, target: Descriptor): void {
  if (!target || typeof target.mediaType !== 'string' || target.mediaType === '') {
    throw invalidArgument(`image ${JSON.stringify(name)}: target media type must not be empty`);
  }
  try {
    parseDigest(target.digest);
  } catch (err) {
    throw invalidArgument(`image ${JSON.stringify(name)}: target: ${(err as Error).message}`, { cause: err });
  }
  if (!Number.isSafeInteger(target.size) || target.size < 0) {
    throw invalidArgument(`image ${JSON.stringify(name)}: target size must be a non-negative integer`);
  }
}

/**
 * The filter adaptor of an image record, with containerd's fieldpaths: `name`,
 * `target.digest`, `target.mediatype`, `labels.<key>`. Exported for stores that filter in
 * memory after loading records.
 */
export function imageAdaptor(image: Image): Adaptor {
  return {
    field(fieldpath) {
      const [first, ...rest] = fieldpath;
      switch (first) {
        case 'name':
          return rest.length === 0 ? image.name : undefined;
        case 'target':
          if (rest.length !== 1) return undefined;
          if (rest[0] === 'digest') return image.target.digest;
          if (rest[0] === 'mediatype') return image.target.mediaType;
          return undefined;
        case 'labels':
          return rest.length === 0 ? undefined : image.labels[rest.join('.')];
        default:
          return undefined;
      }
    },
  };
}

/**
 * Applies `fieldpaths` of an update to a stored record (see `ImageStore.update`) and returns the
 * new record. Pure; throws InvalidArgument for an unknown fieldpath.
 */
export function applyImageUpdate(
  current: Image,
  update: Pick<Image, 'name'> & Partial<Pick<Image, 'target' | 'labels'>>,
  fieldpaths: readonly string[],
  now: Date,
): Image {
  const next: Image = { ...current, labels: { ...current.labels } };
  const paths = fieldpaths.length === 0 ? ['target', 'labels'] : fieldpaths;
  for (const path of paths) {
    if (path === 'target') {
      if (update.target === undefined) throw invalidArgument(`image ${JSON.stringify(update.name)}: update of target without a target`);
      next.target = cloneDescriptor(update.target);
    } else if (path === 'labels') {
      next.labels = Object.fromEntries(Object.entries(update.labels ?? {}).filter(([, v]) => v !== ''));
    } else if (path.startsWith('labels.') && path.length > 'labels.'.length) {
      const key = path.slice('labels.'.length);
      const value = update.labels?.[key];
      if (value === undefined || value === '') delete next.labels[key];
      else next.labels[key] = value;
    } else {
      throw invalidArgument(`image ${JSON.stringify(update.name)}: cannot update field ${JSON.stringify(path)}`);
    }
  }
  next.updatedAt = now;
  return next;
}

/** An in-memory `ImageStore`: records live as long as the object. For embedding and tests. */
export class MemoryImageStore implements ImageStore {
  readonly #images = new Map<string, Image>();

  async get(name: string): Promise<Image> {
    const image = this.#images.get(name);
    if (!image) throw notFound(`image ${JSON.stringify(name)}: not found`);
    return cloneImage(image);
  }

  async list(...filters: string[]): Promise<Image[]> {
    const filter = parseFilters(...filters);
    return [...this.#images.values()]
      .filter((image) => filter.match(imageAdaptor(image)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(cloneImage);
  }

  async create(image: NewImage): Promise<Image> {
    validateImage(image);
    if (image.target === undefined) throw invalidArgument(`image ${JSON.stringify(image.name)}: target is required`);
    if (this.#images.has(image.name)) throw alreadyExists(`image ${JSON.stringify(image.name)}: already exists`);
    const now = new Date();
    const record: Image = {
      name: image.name,
      target: cloneDescriptor(image.target),
      labels: { ...(image.labels ?? {}) },
      createdAt: now,
      updatedAt: now,
    };
    this.#images.set(image.name, record);
    return cloneImage(record);
  }

  async update(image: Pick<Image, 'name'> & Partial<Pick<Image, 'target' | 'labels'>>, fieldpaths: string[] = []): Promise<Image> {
    validateImage(image);
    const current = this.#images.get(image.name);
    if (!current) throw notFound(`image ${JSON.stringify(image.name)}: not found`);
    const next = applyImageUpdate(current, image, fieldpaths, laterThan(current.updatedAt));
    validateImage(next);
    this.#images.set(image.name, next);
    return cloneImage(next);
  }

  async delete(name: string): Promise<void> {
    if (!this.#images.delete(name)) throw notFound(`image ${JSON.stringify(name)}: not found`);
  }
}

/** A new, empty in-memory image store. */
export function createMemoryImageStore(): MemoryImageStore {
  return new MemoryImageStore();
}

// Two updates within one millisecond must still order: updatedAt strictly increases.
function laterThan(previous: Date): Date {
  const now = Date.now();
  return new Date(Math.max(now, previous.getTime() + 1));
}

function cloneDescriptor(desc: Descriptor): Descriptor {
  return structuredClone(desc);
}

function cloneImage(image: Image): Image {
  return {
    name: image.name,
    target: cloneDescriptor(image.target),
    labels: { ...image.labels },
    createdAt: new Date(image.createdAt),
    updatedAt: new Date(image.updatedAt),
  };
}
