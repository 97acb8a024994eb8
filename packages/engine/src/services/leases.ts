import { randomBytes } from 'node:crypto';
import { leasesService, type protobuf } from '@berth/api';
import { invalidArgument } from '@berth/errdefs';
import type { Lease, LeaseResource } from '@berth/metadata';
import type { EngineContext } from '../context';
import { unary, type GrpcServiceImpl } from '../grpc/service';
import { timestampOf } from '../grpc/convert';

/**
 * containerd.services.leases.v1.Leases over the metadata store's lease manager, in the call's
 * namespace (FailedPrecondition "namespace is required" without the header).
 *
 * - Create with an empty id generates one (`newLeaseId`); AlreadyExists for a taken id. Clients
 *   usually bring their own: ctr and the Go client generate `<nanos>-<base64url>` ids and set
 *   `containerd.io/gc.expire`, which is only a label here (the collector reads it).
 * - Delete is NotFound for an unknown lease. What the lease held is left to the garbage
 *   collector (shortly after; with `sync`, before the call answers).
 * - List filters on `id` and `labels.<key>`. AddResource / DeleteResource / ListResources take
 *   containerd's resource types (`content`, `ingests`, `snapshots/<snapshotter>`);
 *   DeleteResource of a resource the lease does not hold is fine.
 */
export function leasesImpl(ctx: EngineContext): GrpcServiceImpl<(typeof leasesService.Leases)['methods']> {
  const store = ctx.metadata.leases;
  return {
    create: unary(async (req, call) => {
      const ns = call.namespace();
      return { lease: toWire(store.create(ns, { id: req.id || newLeaseId(), labels: req.labels })) };
    }),
    delete: unary(async (req, call) => {
      store.delete(call.namespace(), req.id);
      ctx.gc.markDirty();
      if (req.sync) await ctx.gc.collect();
      return {};
    }),
    list: unary(async (req, call) => ({ leases: store.list(call.namespace(), req.filters).map(toWire) })),
    addResource: unary(async (req, call) => {
      const ns = call.namespace();
      store.addResource(ns, req.id, resourceOf(req.resource));
      return {};
    }),
    deleteResource: unary(async (req, call) => {
      const ns = call.namespace();
      store.deleteResource(ns, req.id, resourceOf(req.resource));
      ctx.gc.markDirty();
      return {};
    }),
    listResources: unary(async (req, call) => ({ resources: store.listResources(call.namespace(), req.id) })),
  };
}

/**
 * A fresh lease id, `<unix nanos>-<8 hex>`: containerd's shape (time, then randomness) with hex
 * instead of its base64url, so that generated ids are also valid identifiers.
 */
export function newLeaseId(): string {
  const nanos = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e3)) * 1000n;
  return `${nanos}-${randomBytes(4).toString('hex')}`;
}

function resourceOf(r: leasesService.Resource | undefined): LeaseResource {
  if (r === undefined) throw invalidArgument('lease resource must be set');
  return { id: r.id, type: r.type };
}

function toWire(l: Lease): leasesService.Lease {
  return { id: l.id, labels: l.labels, createdAt: timestampOf(l.createdAt) };
}

