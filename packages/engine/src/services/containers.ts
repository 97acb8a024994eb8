import { containersService, events, type protobuf } from '@berth/api';
import { invalidArgument } from '@berth/errdefs';
import type { Any, Container, NewContainer } from '@berth/metadata';
import { processCgroupAttachPrimer, type CgroupAttachPrimer } from '@berth/runtime';
import type { EngineContext } from '../context';
import { serverStream, unary, type GrpcServiceImpl } from '../grpc/service';
import { timestampOf } from '../grpc/convert';

type WireContainer = containersService.Container;

/**
 * containerd.services.containers.v1.Containers over the metadata store, in the call's namespace
 * (FailedPrecondition "namespace is required" without the header). Records only: creating a
 * container starts nothing, and deleting one leaves its snapshot to the garbage collector.
 *
 * - Create validates as containerd does (id an identifier, `runtime.name` and `spec` set,
 *   `snapshot_key` only with `snapshotter`; InvalidArgument) and is AlreadyExists for a taken id.
 *   The request's `created_at`/`updated_at` are ignored (Go clients send the zero time); the
 *   server sets both.
 * - Get/Delete are NotFound (`container "x": not found`) for an unknown id.
 * - List and ListStream filter on `id`, `image`, `runtime.name`, `snapshotter`, `labels.<key>`;
 *   ListStream sends one container per message (ctr tries it first and falls back to List only
 *   on Unimplemented).
 * - Update applies the field mask (`labels`, `labels.<key>`, `spec`, `extensions`,
 *   `extensions.<name>`, `image`, `snapshotkey`); without one it replaces those five and
 *   requires `snapshotter` and `runtime.name` to be unchanged.
 * - `spec`, `runtime.options` and `extensions` are `Any`s stored opaquely and returned as sent.
 * - After each successful Create/Update/Delete, as containerd: `/containers/create`
 *   (ContainerCreate: id, image, runtime name and options), `/containers/update`
 *   (ContainerUpdate: id, image, labels, snapshot_key, as stored) and `/containers/delete`
 *   (ContainerDelete: id), in the call's namespace.
 * - Create also starts `cgroupAttachPrimer` (default: berthd's): a task's Create usually follows
 *   within milliseconds (ctr run, berth run), and the runtime's move of the container's init into
 *   its cgroups then finds the kernel's wait for it already over (see @berth/runtime's
 *   `cgroup-attach-primer.ts`).
 */
export function containersImpl(
  ctx: EngineContext,
  opts: { cgroupAttachPrimer?: CgroupAttachPrimer | null } = {},
): GrpcServiceImpl<(typeof containersService.Containers)['methods']> {
  const store = ctx.metadata.containers;
  const primer = opts.cgroupAttachPrimer === undefined ? processCgroupAttachPrimer() : opts.cgroupAttachPrimer;
  return {
    get: unary(async (req, call) => ({ container: toWire(store.get(call.namespace(), req.id)) })),
    list: unary(async (req, call) => ({ containers: store.list(call.namespace(), req.filters).map(toWire) })),
    listStream: serverStream(async (req, call, send) => {
      // Read in one go (one consistent view, as containerd does), then stream with backpressure.
      const list = store.list(call.namespace(), req.filters);
      for (const c of list) {
        if (call.signal.aborted) return;
        await send({ container: toWire(c) });
      }
    }),
    create: unary(async (req, call) => {
      const ns = call.namespace();
      const c = store.create(ns, fromWire(required(req.container)));
      void primer?.prime();
      ctx.events.publish(ns, '/containers/create', events.ContainerCreate, {
        id: c.id,
        image: c.image,
        runtime: { name: c.runtime.name, ...(c.runtime.options !== undefined && { options: c.runtime.options }) },
      });
      return { container: toWire(c) };
    }),
    update: unary(async (req, call) => {
      const ns = call.namespace();
      const c = required(req.container);
      if (c.id === '') throw invalidArgument('container id must not be empty');
      const updated = store.update(ns, fromWire(c), req.updateMask?.paths ?? []);
      ctx.events.publish(ns, '/containers/update', events.ContainerUpdate, {
        id: updated.id,
        image: updated.image,
        labels: updated.labels,
        snapshotKey: updated.snapshotKey,
      });
      return { container: toWire(updated) };
    }),
    delete: unary(async (req, call) => {
      const ns = call.namespace();
      store.delete(ns, req.id);
      ctx.gc.markDirty(); // its snapshot may be garbage now
      ctx.events.publish(ns, '/containers/delete', events.ContainerDelete, { id: req.id });
      return {};
    }),
  };
}

function required(c: WireContainer | undefined): WireContainer {
  if (c === undefined) throw invalidArgument('container must be set');
  return c;
}

/** containerd's `containerFromProto`: the wire message as the store's input (times dropped). */
function fromWire(c: WireContainer): NewContainer {
  const n: NewContainer = {
    id: c.id,
    labels: c.labels,
    image: c.image,
    runtime: { name: c.runtime?.name ?? '' },
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshotKey,
    extensions: Object.fromEntries(Object.entries(c.extensions).map(([name, a]) => [name, anyOf(a)])),
  };
  if (c.runtime?.options !== undefined) n.runtime.options = anyOf(c.runtime.options);
  if (c.spec !== undefined) n.spec = anyOf(c.spec);
  return n;
}

/** containerd's `containerToProto`. */
function toWire(c: Container): WireContainer {
  const w: WireContainer = {
    id: c.id,
    labels: c.labels,
    image: c.image,
    runtime: { name: c.runtime.name },
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshotKey,
    createdAt: timestampOf(c.createdAt),
    updatedAt: timestampOf(c.updatedAt),
    extensions: c.extensions,
  };
  if (c.runtime.options !== undefined) w.runtime!.options = c.runtime.options;
  if (c.spec !== undefined) w.spec = c.spec;
  return w;
}

/** A copy: decoded `bytes` are views into the request buffer, which grpc-js may reuse. */
function anyOf(a: protobuf.Any): Any {
  return { typeUrl: a.typeUrl, value: Uint8Array.from(a.value) };
}

