import type { imagesService, types } from '@berth/api';
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
 * - Delete: `sync` is accepted, but there is no garbage collector yet, so nothing is collected
 *   (the image's content and snapshots stay until their owners delete them).
 *
 * No events are published (there is no Events service in berthd yet).
 */
export function imagesImpl(ctx: EngineContext): GrpcServiceImpl<(typeof imagesService.Images)['methods']> {
  const store = ctx.metadata.images;
  return {
    get: unary(async (req, call) => ({ image: imageToWire(store.get(call.namespace(), req.name)) })),
    list: unary(async (req, call) => ({ images: store.list(call.namespace(), req.filters).map(imageToWire) })),
    create: unary(async (req, call) => {
      const ns = call.namespace();
      return { image: imageToWire(store.create(ns, imageFromWire(required(req.image)))) };
    }),
    update: unary(async (req, call) => {
      const ns = call.namespace();
      const image = required(req.image);
      if (image.name === '') throw invalidArgument('image name must not be empty');
      return { image: imageToWire(store.update(ns, imageFromWire(image) as ImageUpdate, req.updateMask?.paths ?? [])) };
    }),
    delete: unary(async (req, call) => {
      // `sync` would wait for the garbage collection the delete triggers: there is none yet.
      store.delete(call.namespace(), req.name);
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
