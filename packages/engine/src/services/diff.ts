import type { diffService, types } from '@berth/api';
import { createApplier, createComparer } from '@berth/diff';
import { invalidArgument } from '@berth/errdefs';
import type { Mount } from '@berth/snapshots';
import { parseDigest, type Descriptor } from '@berth/spec';
import type { EngineContext } from '../context';
import { unary, type GrpcServiceImpl } from '../grpc/service';
import type { ContentNamespaces } from './content-namespaced';

/**
 * containerd.services.diff.v1.Diff (containerd's `walking` differ) over `@berth/diff`, reading
 * and writing content as the call's namespace sees it (`contentNamespaces.store(ns, lease)`).
 *
 * - Apply extracts the layer blob `diff` (any layer media type: tar, gzip, zstd) onto the
 *   `mounts` the client got from Snapshots.Prepare/Mounts, as they are (an overlay mount is
 *   written into its upperdir with overlay whiteouts, a bind mount into its source). It returns
 *   the applied layer: media type `application/vnd.oci.image.layer.v1.tar`, digest = the
 *   diffID, size = uncompressed bytes. A blob the namespace does not own is NotFound; a diffID
 *   that differs from the descriptor's `containerd.io/uncompressed` annotation is DataLoss.
 *   `payloads` (stream processor inputs, e.g. decryption keys) are ignored: no stream
 *   processors are configured, as in a default containerd.
 * - Diff writes the changes from `left` to `right` as a layer into the namespace's content
 *   (default media type `…tar+gzip`; `…tar` too; zstd NotImplemented), labelled
 *   `containerd.io/uncompressed=<diffID>` plus `labels`, under `ref` (or a generated one), and
 *   within the call's lease. It returns the blob's descriptor.
 */
export function diffImpl(_ctx: EngineContext, contentNamespaces: ContentNamespaces): GrpcServiceImpl<(typeof diffService.Diff)['methods']> {
  return {
    apply: unary(async (req, call) => {
      const ns = call.namespace();
      const desc = descriptorFromWire(req.diff);
      const content = contentNamespaces.store(ns, call.lease);
      // Ownership first: NotFound (`content digest sha256:…: not found`) before anything is touched.
      await content.info(desc.digest);
      const applied = await createApplier({ content }).apply(desc, req.mounts.map(mountFromWire), { signal: call.signal });
      return { applied: descriptorToWire(applied) };
    }),
    diff: unary(async (req, call) => {
      const ns = call.namespace();
      const content = contentNamespaces.store(ns, call.lease);
      if (req.right.length === 0) throw invalidArgument('diff: right mounts must be set');
      const written = await createComparer({ content }).compare(req.left.map(mountFromWire), req.right.map(mountFromWire), {
        ...(req.mediaType && { mediaType: req.mediaType }),
        ...(req.ref && { ref: req.ref }),
        labels: { ...req.labels },
        signal: call.signal,
      });
      return { diff: descriptorToWire(written) };
    }),
  };
}

/** The wire Mount ({type, source, target, options}) as @berth/snapshots' (target only when set). */
export function mountFromWire(m: types.Mount): Mount {
  const mount: Mount = { type: m.type, source: m.source, options: [...m.options] };
  if (m.target) mount.target = m.target;
  return mount;
}

/** A wire descriptor as an OCI one; the digest is validated (InvalidArgument). */
export function descriptorFromWire(d: types.Descriptor | undefined): Descriptor {
  if (d === undefined) throw invalidArgument('diff descriptor must be set');
  const desc: Descriptor = { mediaType: d.mediaType, digest: parseDigest(d.digest), size: Number(d.size) };
  if (Object.keys(d.annotations).length > 0) desc.annotations = { ...d.annotations };
  return desc;
}

export function descriptorToWire(d: Descriptor): types.Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} };
}
