import { imagesService, type types } from '@berth/api';
import { invalidArgument } from '@berth/errdefs';
import type { Image, ImageTarget, ImageUpdate, NewImage } from '@berth/metadata';
import type { Digest } from '@berth/spec';
import type { EngineContext } from '../context';
import { timestampOf } from '../grpc/convert';
import { unary, type GrpcServiceImpl } from '../grpc/service';

type WireImage = imagesService.Image;

/**
 * containerd.services.images.v1.Images over the metadata store's image records, in the call's
 * namespace (FailedPrecondition "namespace is required" without the header).
 *
 * - Get/Delete: NotFound `image "x": not found` for an unknown name.
 * - List: filters over `name`, `labels.<key>`, `target.digest`, `target.mediatype`,
 *   `annotations.<key>` (containerd filter syntax; several strings are OR-ed).
 * - Create: validation as containerd (name, labels, target digest, media type; InvalidArgument);
 *   AlreadyExists `image "x": already exists`. The request's times are ignored.
 * - Update: NotFound for an unknown name (`ctr images import` relies on it); mask paths
 *   `labels`, `labels.<k>`, `target`, `annotations`, `annotations.<k>`; no mask replaces labels
 *   and target.
 * - Delete: the record only; the garbage collector then removes the content and snapshots
 *   nothing else holds (shortly after; with `sync`, before the call answers, as containerd's
 *   `ScheduleAndWait`).
 *
 * After each successful Create/Update/Delete: `/images/create` / `/images/update` (ImageCreate,
 * ImageUpdate: name and the stored labels) and `/images/delete` (ImageDelete: name) in the
 * call's namespace, as containerd's images service publishes them.
 */
export function imagesImpl(ctx: EngineContext): GrpcServiceImpl<(typeof imagesService.Images)['methods']> {
  const store = ctx.metadata.images;
  return {
    get: unary(async (req, call) => ({ image: imageToWire(store.get(call.namespace(), req.name)) })),
    list: unary(async (req, call) => ({ images: store.list(call.namespace(), req.filters).map(imageToWire) })),
    create: unary(async (req, call) => {
      const ns = call.namespace();
      const created = store.create(ns, imageFromWire(required(req.image)));
      ctx.events.publish(ns, '/images/create', imagesService.ImageCreate, { name: created.name, labels: created.labels });
      return { image: imageToWire(created) };
    }),
    update: unary(async (req, call) => {
      const ns = call.namespace();
      const image = required(req.image);
      if (image.name === '') throw invalidArgument('image name must not be empty');
      const updated = store.update(ns, imageFromWire(image) as ImageUpdate, req.updateMask?.paths ?? []);
      ctx.events.publish(ns, '/images/update', imagesService.ImageUpdate, { name: updated.name, labels: updated.labels });
      return { image: imageToWire(updated) };
    }),
    delete: unary(async (req, call) => {
      const ns = call.namespace();
      store.delete(ns, req.name);
      ctx.events.publish(ns, '/images/delete', imagesService.ImageDelete, { name: req.name });
      ctx.gc.markDirty();
      if (req.sync) await ctx.gc.collect();
      return {};
    }),
  };
}

function required(image: WireImage | undefined): WireImage {
  if (image === undefined) throw invalidArgument('image must be set');
  return image;
}

/**
 * containerd's `imageFromProto`: the wire image as the store's input (times dropped). `target`
 * is non-nullable in Go, so a missing one is the zero descriptor (which validation refuses).
 */
export function imageFromWire(image: WireImage): NewImage {
  return { name: image.name, labels: { ...image.labels }, target: targetFromWire(image.target) };
}

function targetFromWire(d: types.Descriptor | undefined): ImageTarget {
  const target: ImageTarget = { mediaType: d?.mediaType ?? '', digest: (d?.digest ?? '') as Digest, size: Number(d?.size ?? 0) };
  if (d && Object.keys(d.annotations).length > 0) target.annotations = { ...d.annotations };
  return target;
}

/** containerd's `imageToProto`. */
export function imageToWire(image: Image): WireImage {
  return {
    name: image.name,
    labels: image.labels,
    target: {
      mediaType: image.target.mediaType,
      digest: image.target.digest,
      size: image.target.size,
      annotations: image.target.annotations ?? {},
    },
    createdAt: timestampOf(image.createdAt),
    updatedAt: timestampOf(image.updatedAt),
  };
}
