import { isDigest, Label, type Digest } from '@berth/spec';
import type { StoreContext } from './context';
import { decodeMap } from './maps';
import type { GcLease, GcNode, GcRoot, GcSource, Labels, LeaseResource, NamespaceGcRoots } from './types';

const contentRef = 'containerd.io/gc.ref.content';

/**
 * containerd's GC edges in a label map: `containerd.io/gc.ref.content` itself or followed by
 * `.` or `/` and a name → content; `containerd.io/gc.ref.snapshot.<snapshotter>[/<name>]` →
 * a snapshot of that snapshotter. Values that cannot name a node are skipped.
 */
export function labelRefs(namespace: string, labels: Labels): GcNode[] {
  const refs: GcNode[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (key === contentRef || key.startsWith(`${contentRef}.`) || key.startsWith(`${contentRef}/`)) {
      if (isDigest(value)) refs.push({ type: 'content', namespace, digest: value });
    } else if (key.startsWith(Label.GcRefSnapshotPrefix)) {
      const snapshotter = key.slice(Label.GcRefSnapshotPrefix.length).split('/', 1)[0]!;
      if (snapshotter !== '' && value !== '') refs.push({ type: 'snapshot', namespace, snapshotter, key: value });
    }
  }
  return refs;
}

/** The node a lease resource names (resources are validated when added). */
function resourceNode(namespace: string, r: LeaseResource): GcNode | undefined {
  if (r.type === 'content') return { type: 'content', namespace, digest: r.id as Digest };
  if (r.type === 'ingests') return { type: 'ingest', namespace, ref: r.id };
  if (r.type.startsWith('snapshots/')) {
    return { type: 'snapshot', namespace, snapshotter: r.type.slice('snapshots/'.length), key: r.id };
  }
  return undefined;
}

// Go's time.RFC3339 as containerd parses `containerd.io/gc.expire`, fractional seconds allowed.
const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** The expiry time in an RFC 3339 label value, or undefined when it is not one. */
export function parseExpiry(value: string): Date | undefined {
  const m = rfc3339.exec(value);
  if (!m) return undefined;
  const millis = (m[2] ?? '').slice(0, 3).padEnd(3, '0');
  const t = Date.parse(`${m[1]}.${millis}${m[3]}`);
  return Number.isNaN(t) ? undefined : new Date(t);
}

type Owned = { namespace: string; labels: string };

/** `GcSource` over the store's tables. */
export class SqliteGcSource implements GcSource {
  constructor(private readonly ctx: StoreContext) {}

  gcRoots(opts: { now?: Date } = {}): NamespaceGcRoots[] {
    const now = (opts.now ?? new Date()).getTime();
    return this.ctx.read(() => {
      const byNs = new Map<string, NamespaceGcRoots>();
      const names = this.ctx.stmt('SELECT name FROM namespaces ORDER BY name').all() as { name: string }[];
      for (const { name } of names) byNs.set(name, { namespace: name, roots: [], leases: [] });
      const entry = (ns: string): NamespaceGcRoots => byNs.get(ns)!;
      const add = (ns: string, nodes: GcNode[], holder: GcRoot['holder']) => {
        for (const node of nodes) entry(ns).roots.push({ node, holder });
      };

      const images = this.ctx
        .stmt('SELECT namespace, name, digest, labels FROM images ORDER BY namespace, name')
        .all() as (Owned & { name: string; digest: string })[];
      for (const i of images) {
        const holder = { type: 'image', name: i.name } as const;
        add(i.namespace, [{ type: 'content', namespace: i.namespace, digest: i.digest as Digest }], holder);
        add(i.namespace, labelRefs(i.namespace, decodeMap(i.labels)), holder);
      }

      const containers = this.ctx
        .stmt('SELECT namespace, id, snapshotter, snapshot_key, labels FROM containers ORDER BY namespace, id')
        .all() as (Owned & { id: string; snapshotter: string; snapshot_key: string })[];
      for (const c of containers) {
        const holder = { type: 'container', id: c.id } as const;
        if (c.snapshotter !== '' && c.snapshot_key !== '') {
          add(c.namespace, [{ type: 'snapshot', namespace: c.namespace, snapshotter: c.snapshotter, key: c.snapshot_key }], holder);
        }
        add(c.namespace, labelRefs(c.namespace, decodeMap(c.labels)), holder);
      }

      const leases = this.ctx
        .stmt('SELECT namespace, id, labels, created_at FROM leases ORDER BY namespace, id')
        .all() as (Owned & { id: string; created_at: number })[];
      const resources = this.ctx
        .stmt('SELECT namespace, lease_id, type, id FROM lease_resources ORDER BY namespace, lease_id, type, id')
        .all() as { namespace: string; lease_id: string; type: string; id: string }[];
      const resourcesOf = new Map<string, LeaseResource[]>();
      for (const r of resources) {
        const k = `${r.namespace}\0${r.lease_id}`;
        if (!resourcesOf.has(k)) resourcesOf.set(k, []);
        resourcesOf.get(k)!.push({ id: r.id, type: r.type });
      }
      for (const l of leases) {
        const labels = decodeMap(l.labels);
        const expiry = labels[Label.GcExpire];
        const expiresAt = expiry === undefined ? undefined : parseExpiry(expiry);
        const lease: GcLease = {
          id: l.id,
          labels,
          createdAt: new Date(l.created_at),
          expired: expiresAt !== undefined && now > expiresAt.getTime(),
          flat: Object.hasOwn(labels, Label.GcFlat),
          resources: resourcesOf.get(`${l.namespace}\0${l.id}`) ?? [],
        };
        if (expiresAt !== undefined) lease.expiresAt = expiresAt;
        entry(l.namespace).leases.push(lease);
        if (lease.expired) continue;
        for (const r of lease.resources) {
          const node = resourceNode(l.namespace, r);
          if (node === undefined) continue;
          const root: GcRoot = { node, holder: { type: 'lease', id: l.id } };
          if (lease.flat) root.flat = true;
          entry(l.namespace).roots.push(root);
        }
      }

      const content = this.ctx
        .stmt('SELECT namespace, digest, labels FROM content ORDER BY namespace, digest')
        .all() as (Owned & { digest: string })[];
      for (const c of content) {
        if (Object.hasOwn(decodeMap(c.labels), Label.GcRoot)) {
          add(c.namespace, [{ type: 'content', namespace: c.namespace, digest: c.digest as Digest }], { type: 'label' });
        }
      }

      const snapshots = this.ctx
        .stmt('SELECT namespace, snapshotter, key, labels FROM snapshots ORDER BY namespace, snapshotter, key')
        .all() as (Owned & { snapshotter: string; key: string })[];
      for (const s of snapshots) {
        if (Object.hasOwn(decodeMap(s.labels), Label.GcRoot)) {
          const node = { type: 'snapshot', namespace: s.namespace, snapshotter: s.snapshotter, key: s.key } as const;
          add(s.namespace, [node], { type: 'label' });
        }
      }
      return [...byNs.values()];
    });
  }

  references(node: GcNode): GcNode[] {
    let row: { labels: string } | undefined;
    if (node.type === 'content') {
      row = this.ctx
        .stmt('SELECT labels FROM content WHERE namespace = ? AND digest = ?')
        .get(node.namespace, node.digest) as { labels: string } | undefined;
    } else if (node.type === 'snapshot') {
      row = this.ctx
        .stmt('SELECT labels FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?')
        .get(node.namespace, node.snapshotter, node.key) as { labels: string } | undefined;
    }
    return row === undefined ? [] : labelRefs(node.namespace, decodeMap(row.labels));
  }
}
