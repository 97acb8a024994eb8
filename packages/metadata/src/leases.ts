import { alreadyExists, invalidArgument, notFound, notImplemented } from '@berth/errdefs';
import { isDigest, isIdentifier, parseFilters } from '@berth/spec';
import type { StoreContext } from './context';
import { checkLabels, decodeMap, encodeMap, mapField } from './maps';
import type { Lease, LeaseManager, LeaseResource, NewLease } from './types';

interface Row {
  id: string;
  labels: string;
  created_at: number;
}

/** `LeaseManager` over the `leases` and `lease_resources` tables. */
export class SqliteLeaseManager implements LeaseManager {
  constructor(private readonly ctx: StoreContext) {}

  create(ns: string, lease: NewLease): Lease {
    this.ctx.checkNamespace(ns);
    const { id } = lease;
    if (typeof id !== 'string' || id === '') throw invalidArgument('lease id must not be empty');
    checkLabels(lease.labels, `lease "${id}"`);
    return this.ctx.write(() => {
      this.ctx.ensureNamespace(ns);
      if (this.row(ns, id)) throw alreadyExists(`lease "${id}": already exists`);
      this.ctx
        .stmt('INSERT INTO leases (namespace, id, labels, created_at) VALUES (?, ?, ?, ?)')
        .run(ns, id, encodeMap(lease.labels), Date.now());
      return this.get(ns, id);
    });
  }

  get(ns: string, id: string): Lease {
    this.ctx.checkNamespace(ns);
    const row = this.row(ns, id);
    if (!row) throw notFound(`lease "${id}": not found`);
    return leaseOf(row);
  }

  list(ns: string, filters: string[] = []): Lease[] {
    this.ctx.checkNamespace(ns);
    const filter = parseFilters(...filters);
    const rows = this.ctx.stmt('SELECT * FROM leases WHERE namespace = ? ORDER BY id').all(ns) as Row[];
    return rows.map(leaseOf).filter((l) =>
      filter.match({
        field: ([head, ...rest]) => (head === 'id' ? l.id || undefined : head === 'labels' ? mapField(rest, l.labels) : undefined),
      }),
    );
  }

  delete(ns: string, id: string): void {
    this.ctx.checkNamespace(ns);
    this.ctx.write(() => {
      // lease_resources go with it (ON DELETE CASCADE).
      const { changes } = this.ctx.stmt('DELETE FROM leases WHERE namespace = ? AND id = ?').run(ns, id);
      if (changes === 0) throw notFound(`lease "${id}": not found`);
      this.ctx.deleted();
    });
  }

  addResource(ns: string, id: string, resource: LeaseResource): void {
    this.ctx.checkNamespace(ns);
    checkResource(resource);
    this.ctx.write(() => {
      this.get(ns, id);
      this.ctx
        .stmt(
          `INSERT INTO lease_resources (namespace, lease_id, type, id) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
        )
        .run(ns, id, resource.type, resource.id);
    });
  }

  deleteResource(ns: string, id: string, resource: LeaseResource): void {
    this.ctx.checkNamespace(ns);
    checkResource(resource);
    this.ctx.write(() => {
      this.get(ns, id);
      const { changes } = this.ctx
        .stmt('DELETE FROM lease_resources WHERE namespace = ? AND lease_id = ? AND type = ? AND id = ?')
        .run(ns, id, resource.type, resource.id);
      if (changes > 0) this.ctx.deleted();
    });
  }

  listResources(ns: string, id: string): LeaseResource[] {
    this.ctx.checkNamespace(ns);
    return this.ctx.read(() => {
      this.get(ns, id);
      return resourcesOf(this.ctx, ns, id);
    });
  }

  private row(ns: string, id: string): Row | undefined {
    return this.ctx.stmt('SELECT * FROM leases WHERE namespace = ? AND id = ?').get(ns, id) as Row | undefined;
  }
}

/** The resources of lease `id`, by type then id. */
export function resourcesOf(ctx: StoreContext, ns: string, id: string): LeaseResource[] {
  return ctx
    .stmt('SELECT id, type FROM lease_resources WHERE namespace = ? AND lease_id = ? ORDER BY type, id')
    .all(ns, id) as LeaseResource[];
}

/**
 * containerd's `parseLeaseResource`: `content` (a digest), `ingests` (a ref) and
 * `snapshots/<snapshotter>` (a key); other types are NotImplemented.
 */
function checkResource(r: LeaseResource): void {
  if (typeof r !== 'object' || r === null || typeof r.type !== 'string' || typeof r.id !== 'string') {
    throw invalidArgument('lease resource must be { id: string, type: string }');
  }
  const { type, id } = r;
  if (id === '') throw invalidArgument(`lease resource of type "${type}": id must not be empty`);
  const [kind, ...rest] = type.split('/');
  switch (kind) {
    case 'content':
      if (rest.length !== 0) throw invalidArgument(`invalid lease resource type "${type}"`);
      if (!isDigest(id)) throw invalidArgument(`invalid content lease resource id "${id}": not a digest`);
      return;
    case 'ingests':
      if (rest.length !== 0) throw invalidArgument(`invalid lease resource type "${type}"`);
      return;
    case 'snapshots':
      if (rest.length !== 1 || !isIdentifier(rest[0]!)) {
        throw invalidArgument(`invalid lease resource type "${type}": want snapshots/<snapshotter>`);
      }
      return;
    default:
      throw notImplemented(`lease resource type "${type}" is not supported`);
  }
}

function leaseOf(row: Row): Lease {
  return { id: row.id, labels: decodeMap(row.labels), createdAt: new Date(row.created_at) };
}
