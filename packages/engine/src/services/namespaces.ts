import { events, namespacesService } from '@berth/api';
import { invalidArgument, isNotFound } from '@berth/errdefs';
import type { Namespace } from '@berth/metadata';
import type { EngineContext } from '../context';
import { unary, type GrpcServiceImpl } from '../grpc/service';

/**
 * containerd.services.namespaces.v1.Namespaces over the metadata store. The service is not
 * itself namespaced: it ignores the `containerd-namespace` header and names namespaces in its
 * requests.
 *
 * - Get answers **empty labels, not NotFound**, for a namespace that does not exist, as
 *   containerd does (its store's `Labels` finds no bucket and returns `{}`): every client reads
 *   `containerd.io/defaults/snapshotter` from the namespace before pull, unpack and run, and a
 *   fresh `default` namespace does not exist until the first write into it.
 * - List takes containerd's single `filter` string (fields `name`, `labels.<key>`); containerd
 *   itself ignores it, and `''` matches everything.
 * - Create is AlreadyExists for an existing name; Update (`ctr namespaces label`) creates the
 *   namespace if absent, as containerd's `SetLabel` does. Mask paths `labels.<key>` set or
 *   (with `''` or absent) delete one label; no mask replaces them all.
 * - Delete is NotFound when absent (`ctr namespaces rm` tolerates that) and FailedPrecondition
 *   while the namespace still owns anything (the store names what).
 * - After each successful Create/Update/Delete: `/namespaces/create`, `/namespaces/update`
 *   (NamespaceCreate/NamespaceUpdate: name and the request's labels) and `/namespaces/delete`
 *   (NamespaceDelete: name), published *in the namespace concerned* (not the caller's), as
 *   containerd 1.7 does.
 */
export function namespacesImpl(ctx: EngineContext): GrpcServiceImpl<(typeof namespacesService.Namespaces)['methods']> {
  const store = ctx.metadata.namespaces;
  return {
    get: unary(async (req) => {
      try {
        return { namespace: toWire(store.get(req.name)) };
      } catch (err) {
        // A malformed name is still InvalidArgument (the store checks it before looking).
        if (isNotFound(err)) return { namespace: { name: req.name, labels: {} } };
        throw err;
      }
    }),
    list: unary(async (req) => ({ namespaces: store.list(req.filter ? [req.filter] : []).map(toWire) })),
    create: unary(async (req) => {
      const ns = required(req.namespace);
      const created = store.create(ns.name, ns.labels);
      ctx.events.publish(ns.name, '/namespaces/create', events.NamespaceCreate, { name: ns.name, labels: ns.labels });
      return { namespace: toWire(created) };
    }),
    update: unary(async (req) => {
      const ns = required(req.namespace);
      const updated = store.update({ name: ns.name, labels: ns.labels }, req.updateMask?.paths ?? []);
      ctx.events.publish(ns.name, '/namespaces/update', events.NamespaceUpdate, { name: ns.name, labels: ns.labels });
      return { namespace: toWire(updated) };
    }),
    delete: unary(async (req) => {
      store.delete(req.name);
      ctx.events.publish(req.name, '/namespaces/delete', events.NamespaceDelete, { name: req.name });
      return {};
    }),
  };
}

function required(ns: namespacesService.Namespace | undefined): namespacesService.Namespace {
  if (ns === undefined) throw invalidArgument('namespace must be set');
  return ns;
}

function toWire(ns: Namespace): namespacesService.Namespace {
  return { name: ns.name, labels: ns.labels };
}
