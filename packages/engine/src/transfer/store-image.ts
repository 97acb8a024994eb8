import { imagesService } from '@berth/api';
import { isAlreadyExists } from '@berth/errdefs';
import type { Image } from '@berth/metadata';
import type { Descriptor } from '@berth/spec';
import type { EngineContext } from '../context';

/**
 * Records image `name` → `target` in `ns` with the Images service's semantics: a new record
 * (`/images/create`), or an existing one pointed at `target` with `labels` set on top of its own
 * (`/images/update`).
 */
export function storeImage(ctx: EngineContext, ns: string, image: { name: string; target: Descriptor; labels: Record<string, string> }): Image {
  const store = ctx.metadata.images;
  const target = { mediaType: image.target.mediaType, digest: image.target.digest, size: image.target.size, ...(image.target.annotations ? { annotations: image.target.annotations } : {}) };
  try {
    const created = store.create(ns, { name: image.name, target, labels: image.labels });
    ctx.events.publish(ns, '/images/create', imagesService.ImageCreate, { name: created.name, labels: created.labels });
    return created;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const updated = store.update(ns, { name: image.name, target, labels: image.labels }, ['target', ...Object.keys(image.labels).map((k) => `labels.${k}`)]);
  ctx.events.publish(ns, '/images/update', imagesService.ImageUpdate, { name: updated.name, labels: updated.labels });
  return updated;
}
