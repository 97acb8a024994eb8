import { events, snapshotsService, type protobuf, type types } from '@berth/api';
import { BerthError, invalidArgument } from '@berth/errdefs';
import type { SnapshotRecord } from '@berth/metadata';
import type { Info, Kind, Mount, Snapshotter } from '@berth/snapshots';
import { parseFilters, type Adaptor } from '@berth/spec';
import type { EngineContext } from '../context';
import { backendKey, createOwned, dropOwned, removeOwned, type SnapshotOwner } from './snapshot-ownership';
import type { CallContext } from '../grpc/context';
import { serverStream, unary, type GrpcServiceImpl } from '../grpc/service';

/** How many Infos one List response carries (containerd sends batches of 100). */
const LIST_BATCH = 100;

/**
 * The key a namespace's snapshot `key` has in the backend snapshotter: `<ns>/<key>`. As in
 * containerd, there is one backend per snapshotter name and the namespaces share it; a
 * namespace is an identifier (no `/`), so the prefix is unambiguous. A garbage collector that
 * finds an unowned (ns, snapshotter, key) removes `backendKey(ns, key)` from the backend.
 */
export { backendKey } from './snapshot-ownership';

/**
 * containerd.services.snapshots.v1.Snapshots over the engine's snapshotters (`overlayfs`,
 * `native`), namespaced the way containerd's metadata snapshotter does it:
 *
 * - The client's `key`, `parent` and `name` are per namespace. The backend holds
 *   `backendKey(ns, key)`; the metadata store's `snapshots` table records which namespace owns
 *   which (snapshotter, key). Stat, Mounts, Usage, Update and Remove of a key the namespace does
 *   not own are NotFound; List shows only the namespace's snapshots; Info carries the client's
 *   name and parent.
 * - Labels and times live in the ownership record (as in containerd, where the backend only sees
 *   `containerd.io/snapshot/` labels), so the garbage collector reads `containerd.io/gc.root` and
 *   `gc.ref.*` on snapshots where it reads every other label. Kind and parent come from the
 *   backend.
 * - Order of writes: the ownership record (and the lease resource, when the call has a
 *   `containerd-lease`) is written first, in one transaction, then the backend is changed; if
 *   that fails the record is taken back. A crash in between leaves a record without a backend
 *   snapshot: List skips it and Remove deletes it. Both steps run inside `ctx.gc.gate.shared`,
 *   so a garbage collection never sees one without the other; Remove marks the collector
 *   dirty (the parent may be garbage now). A snapshot nothing references (no container, lease,
 *   `containerd.io/gc.root` or `gc.ref` label) is the collector's.
 * - An empty or unknown snapshotter name is InvalidArgument (`snapshotter not loaded: x`), as
 *   in containerd. Remove of a snapshot with children is FailedPrecondition (from the backend).
 * - Update takes the field mask `labels` / `labels.<k>` (no mask: replace all labels; `''`
 *   deletes one); anything else is InvalidArgument. Cleanup is a no-op: the backends delete a
 *   removed snapshot's directory at once.
 * - Events, as containerd's snapshots service: after a successful Prepare `/snapshot/prepare`
 *   (SnapshotPrepare: key, parent, snapshotter), Commit `/snapshot/commit` (SnapshotCommit: key,
 *   name, snapshotter) and Remove `/snapshot/remove` (SnapshotRemove: key, snapshotter), with the
 *   client's keys, in the call's namespace. View publishes nothing, nor does the unpack path,
 *   which uses the snapshotters directly.
 */
export function snapshotsImpl(ctx: EngineContext): GrpcServiceImpl<(typeof snapshotsService.Snapshots)['methods']> {
  const owners = ctx.metadata.snapshots;

  async function open(name: string): Promise<Snapshotter> {
    if (!ctx.snapshotterNames.includes(name)) throw invalidArgument(`snapshotter not loaded: ${name}`);
    return ctx.snapshotter(name);
  }

  /** Info as the client sees it: backend kind and parent, the namespace's key, labels and times. */
  function infoOf(ns: string, info: Info, record: SnapshotRecord): snapshotsService.Info {
    const prefix = `${ns}/`;
    const parent = info.parent?.startsWith(prefix) ? info.parent.slice(prefix.length) : '';
    return {
      name: record.key,
      parent,
      kind: KIND[info.kind],
      createdAt: timestampOf(record.createdAt),
      updatedAt: timestampOf(record.updatedAt),
      labels: record.labels,
    };
  }

  /** Records `key` for the call's namespace and lease, then runs `change` (see snapshot-ownership.ts). */
  function create<T>(call: CallContext, snapshotter: string, key: string, labels: Record<string, string>, change: () => Promise<T>): Promise<T> {
    const ns = call.namespace();
    return createOwned(ctx, ownerOf(call, snapshotter), key, labels, change).catch((err: unknown) => Promise.reject(clientError(err, ns)));
  }

  function ownerOf(call: CallContext, snapshotter: string): SnapshotOwner {
    return { ns: call.namespace(), snapshotter, lease: call.lease };
  }

  /** The backend, the call's namespace and the namespace's record of `key` (NotFound if it owns none). */
  async function owned(call: CallContext, snapshotter: string, key: string) {
    const sn = await open(snapshotter);
    const ns = call.namespace();
    const record = owners.get(ns, snapshotter, key);
    return { sn, ns, record, bkey: backendKey(ns, key) };
  }

  async function prepareOrView(kind: 'prepare' | 'view', req: snapshotsService.PrepareSnapshotRequest, call: CallContext) {
    const sn = await open(req.snapshotter);
    const ns = call.namespace();
    if (req.key === '') throw invalidArgument('snapshot key must not be empty');
    const parent = req.parent === '' ? undefined : backendKey(ns, req.parent);
    const mounts = await create(call, req.snapshotter, req.key, req.labels, () => sn[kind](backendKey(ns, req.key), parent, { signal: call.signal }));
    if (kind === 'prepare') ctx.events.publish(ns, '/snapshot/prepare', events.SnapshotPrepare, { key: req.key, parent: req.parent, snapshotter: req.snapshotter });
    return { mounts: mounts.map(mountOf) };
  }

  return {
    prepare: unary((req, call) => prepareOrView('prepare', req, call)),
    view: unary((req, call) => prepareOrView('view', req, call)),

    mounts: unary(async (req, call) => {
      const { sn, ns, bkey } = await owned(call, req.snapshotter, req.key);
      const mounts = await sn.mounts(bkey).catch((err: unknown) => Promise.reject(clientError(err, ns)));
      return { mounts: mounts.map(mountOf) };
    }),

    commit: unary(async (req, call) => {
      const { sn, ns, bkey } = await owned(call, req.snapshotter, req.key);
      if (req.name === '') throw invalidArgument(`snapshot "${req.key}": commit name must not be empty`);
      await create(call, req.snapshotter, req.name, req.labels, () => sn.commit(backendKey(ns, req.name), bkey, { signal: call.signal }));
      // The key is gone from the backend: drop its record (and, as containerd does, the call's lease's hold on it).
      ctx.metadata.transaction((tx) => dropOwned(tx, ownerOf(call, req.snapshotter), req.key));
      ctx.events.publish(ns, '/snapshot/commit', events.SnapshotCommit, { key: req.key, name: req.name, snapshotter: req.snapshotter });
      return {};
    }),

    remove: unary(async (req, call) => {
      const sn = await open(req.snapshotter);
      const ns = call.namespace();
      await removeOwned(ctx, sn, ownerOf(call, req.snapshotter), req.key).catch((err: unknown) => Promise.reject(clientError(err, ns)));
      ctx.events.publish(ns, '/snapshot/remove', events.SnapshotRemove, { key: req.key, snapshotter: req.snapshotter });
      return {};
    }),
    stat: unary(async (req, call) => {
      const { sn, ns, record, bkey } = await owned(call, req.snapshotter, req.key);
      const info = await sn.stat(bkey).catch((err: unknown) => Promise.reject(clientError(err, ns)));
      return { info: infoOf(ns, info, record) };
    }),

    update: unary(async (req, call) => {
      if (!req.info) throw invalidArgument('snapshot info must be set');
      const { sn, ns, bkey } = await owned(call, req.snapshotter, req.info.name);
      const info = await sn.stat(bkey).catch((err: unknown) => Promise.reject(clientError(err, ns)));
      const record = owners.updateLabels(ns, req.snapshotter, req.info.name, req.info.labels, req.updateMask?.paths ?? []);
      return { info: infoOf(ns, info, record) };
    }),

    list: serverStream(async (req, call, send) => {
      const sn = await open(req.snapshotter);
      const ns = call.namespace();
      const filter = parseFilters(...req.filters);
      const records = new Map(owners.list(ns).filter((r) => r.snapshotter === req.snapshotter).map((r) => [r.key, r]));
      const prefix = `${ns}/`;
      let batch: snapshotsService.Info[] = [];
      await sn.walk(async (info) => {
        if (!info.name.startsWith(prefix)) return;
        const record = records.get(info.name.slice(prefix.length));
        if (!record) return;
        const wire = infoOf(ns, info, record);
        if (!filter.match(adaptInfo(wire, info.kind))) return;
        batch.push(wire);
        if (batch.length >= LIST_BATCH) {
          call.signal.throwIfAborted();
          await send({ info: batch });
          batch = [];
        }
      });
      if (batch.length > 0) await send({ info: batch });
    }),

    usage: unary(async (req, call) => {
      const { sn, ns, bkey } = await owned(call, req.snapshotter, req.key);
      const usage = await sn.usage(bkey).catch((err: unknown) => Promise.reject(clientError(err, ns)));
      return { size: usage.size, inodes: usage.inodes };
    }),

    cleanup: unary(async (req) => {
      await open(req.snapshotter);
      return {};
    }),
  };
}

const KIND: Record<Kind, snapshotsService.Kind> = {
  view: snapshotsService.Kind.VIEW,
  active: snapshotsService.Kind.ACTIVE,
  committed: snapshotsService.Kind.COMMITTED,
};

/** Filter fields of a snapshot, as containerd's `adaptSnapshot`: `kind`, `name`, `parent` (present even when empty), `labels.<k>`. */
function adaptInfo(info: snapshotsService.Info, kind: Kind): Adaptor {
  return {
    field(path) {
      switch (path[0]) {
        case 'kind':
          return kind;
        case 'name':
          return info.name;
        case 'parent':
          return info.parent;
        case 'labels':
          return path.length > 1 ? info.labels[path.slice(1).join('.')] : undefined;
        default:
          return undefined;
      }
    },
  };
}

/** The backend's errors name `"<ns>/<key>"`; the client said `"<key>"`. Same kind, the client's names. */
function clientError(err: unknown, ns: string): unknown {
  const backendQuote = `"${ns}/`;
  if (!BerthError.isInstance(err) || !err.message.includes(backendQuote)) return err;
  return new BerthError(err.kind, err.message.split(backendQuote).join('"'), { cause: err });
}

function mountOf(m: Mount): types.Mount {
  return { type: m.type, source: m.source, target: m.target ?? '', options: m.options };
}

/** A `Date` (millisecond precision) as a protobuf Timestamp. */
function timestampOf(d: Date): protobuf.Timestamp {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}
