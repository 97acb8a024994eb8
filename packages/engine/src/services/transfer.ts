import { transferService, transferTypes, type protobuf, type types } from '@berth/api';
import { isCanceled, isDeadlineExceeded, isUnavailable, invalidArgument, notImplemented } from '@berth/errdefs';
import { Label, normalizePlatform, type Platform } from '@berth/spec';
import type { EngineContext } from '../context';
import { unary, type GrpcServiceImpl } from '../grpc/service';
import { anyTypeName } from '../transfer/any';
import { streamProgress, type ProgressFn } from '../transfer/progress';
import { pullImage } from '../transfer/pull';
import { pushImage } from '../transfer/push';
import { registryClientFor, type RegistrySettings } from '../transfer/registry';
import type { StreamManager } from '../transfer/streams';
import type { ContentNamespaces } from './content-namespaced';
import { newLeaseId } from './leases';

const OCI_REGISTRY = 'containerd.types.transfer.OCIRegistry';
const IMAGE_STORE = 'containerd.types.transfer.ImageStore';

/** How long a pull's own lease lives at most (containerd's transfer service uses 24 h too). */
const LEASE_TTL_MS = 24 * 3600 * 1000;

/** What the Transfer service needs besides the engine context. */
export interface TransferDeps {
  contentNamespaces: ContentNamespaces;
  streams: StreamManager;
  registry?: RegistrySettings;
  /** Blobs moved at once per transfer. Default 3. */
  concurrency?: number;
}

/**
 * containerd.services.transfer.v1.Transfer (containerd 2), for the two transfers berth has:
 *
 * - **pull**: source `containerd.types.transfer.OCIRegistry`, destination `…ImageStore`
 *   (name = the image record, default the reference; `platforms` = the manifests to fetch, none
 *   meaning all; `manifest_limit`; `labels`; `unpacks` = platform and snapshotter to unpack into).
 *   See `pullImage`.
 * - **push**: source `…ImageStore` (name), destination `…OCIRegistry`. See `pushImage`.
 *
 * Registry access: `registryClientFor` (default_scheme, headers, auth_stream, the engine host's
 * docker config). Progress: `containerd.types.transfer.Progress` Anys on the Streaming stream
 * `options.progress_stream` names (NotFound if none is open); the stream is closed when the
 * transfer ends.
 *
 * Leases: the call's `containerd-lease` if it has one; otherwise a lease of its own
 * (`containerd.io/gc.expire` 24 h), deleted when the transfer succeeds or fails for good
 * (DataLoss, NotFound, ...). After an interruption (Unavailable, Canceled, DeadlineExceeded)
 * the lease is kept until it expires, so the blobs already committed stay for the next attempt,
 * which then only fetches the rest and resumes the partial blob with a Range request (ingests
 * are never collected).
 *
 * Other source/destination pairs: NotImplemented; a missing one: InvalidArgument.
 */
export function transferImpl(ctx: EngineContext, deps: TransferDeps): GrpcServiceImpl<(typeof transferService.Transfer)['methods']> {
  return {
    transfer: unary(async (req, call) => {
      const ns = call.namespace();
      const source = required(req.source, 'source');
      const destination = required(req.destination, 'destination');
      const kinds = `${anyTypeName(source.typeUrl)} → ${anyTypeName(destination.typeUrl)}`;
      const pull = anyTypeName(source.typeUrl) === OCI_REGISTRY && anyTypeName(destination.typeUrl) === IMAGE_STORE;
      const push = anyTypeName(source.typeUrl) === IMAGE_STORE && anyTypeName(destination.typeUrl) === OCI_REGISTRY;
      if (!pull && !push) throw notImplemented(`transfer ${kinds}: not supported`);

      const streamId = req.options?.progressStream;
      const stream = streamId ? deps.streams.get(ns, streamId) : undefined;
      const sink = stream ? streamProgress(stream) : undefined;
      const progress: ProgressFn = sink?.progress ?? (() => {});
      const settings = deps.registry ?? {};
      try {
        if (pull) {
          const reg = transferTypes.OCIRegistry.decode(source.value);
          const store = transferTypes.ImageStore.decode(destination.value);
          const client = registryClientFor(reg, { namespace: ns, streams: deps.streams, settings, signal: call.signal });
          try {
            await withLease(ctx, ns, call.lease, (lease) =>
              pullImage({
                ctx,
                namespace: ns,
                content: deps.contentNamespaces.store(ns, lease),
                lease,
                client,
                reference: reg.reference,
                name: store.name,
                labels: store.labels,
                platforms: store.platforms.map(platformFromWire),
                manifestLimit: store.manifestLimit,
                unpacks: store.unpacks.map((u) => ({ ...(u.platform ? { platform: platformFromWire(u.platform) } : {}), snapshotter: u.snapshotter })),
                ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
                progress,
                signal: call.signal,
              }),
            );
          } finally {
            client.close();
          }
        } else {
          const store = transferTypes.ImageStore.decode(source.value);
          const reg = transferTypes.OCIRegistry.decode(destination.value);
          if (!store.name) throw invalidArgument('transfer: the image store source needs a name');
          const client = registryClientFor(reg, { namespace: ns, streams: deps.streams, settings, signal: call.signal });
          try {
            await pushImage({
              ctx,
              namespace: ns,
              content: deps.contentNamespaces.store(ns),
              client,
              name: store.name,
              reference: reg.reference,
              ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
              progress,
              signal: call.signal,
            });
          } finally {
            client.close();
          }
        }
      } finally {
        await sink?.flush();
        stream?.close();
      }
      return {};
    }),
  };
}

/**
 * Runs `fn` under the call's lease, or a new one of its own (see `transferImpl`) that is deleted
 * afterwards unless `fn` was interrupted in a way a retry resumes.
 */
async function withLease<T>(ctx: EngineContext, ns: string, callLease: string | undefined, fn: (lease: string) => Promise<T>): Promise<T> {
  if (callLease) return fn(callLease);
  const id = newLeaseId();
  ctx.metadata.leases.create(ns, { id, labels: { [Label.GcExpire]: new Date(Date.now() + LEASE_TTL_MS).toISOString() } });
  let keep = false;
  try {
    return await fn(id);
  } catch (err) {
    keep = isUnavailable(err) || isCanceled(err) || isDeadlineExceeded(err);
    throw err;
  } finally {
    if (!keep) {
      ctx.metadata.leases.delete(ns, id);
      ctx.gc.markDirty();
    }
  }
}

function required(any: protobuf.Any | undefined, what: string): protobuf.Any {
  if (!any || !any.typeUrl) throw invalidArgument(`transfer: ${what} must be set`);
  return any;
}

function platformFromWire(p: types.Platform): Platform {
  const out: Platform = { os: p.os, architecture: p.architecture };
  if (p.variant) out.variant = p.variant;
  return normalizePlatform(out);
}
