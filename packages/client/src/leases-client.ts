import { leasesService } from '@berth/api';
import { Label } from '@berth/spec';
import type { CallOptions, Connection } from './connection';
import { randomHex } from './lazy-node';
import { dateOf } from './wire';

const Leases = leasesService.Leases.methods;

/** A lease id for one operation: `berth-<time>-<random>`, made here so that creating it need not come first. */
export function newLeaseId(): string {
  return `berth-${Date.now().toString(36)}-${randomHex(6)}`;
}

/** The labels of a short-lived lease: the collector drops it after an hour if its owner died. */
export function expiringLeaseLabels(ms = 3600_000): Record<string, string> {
  return { [Label.GcExpire]: new Date(Date.now() + ms).toISOString() };
}

/** A lease: while it exists, the content, ingests and snapshots recorded in it are not garbage. */
export interface Lease {
  id: string;
  createdAt: Date;
  labels: Record<string, string>;
}

/** Options of `LeasesClient.create`. */
export interface CreateLeaseOptions extends CallOptions {
  /** The lease's id (an identifier); empty or absent: berthd makes one up. AlreadyExists if taken. */
  id?: string;
  /** Labels, e.g. `containerd.io/gc.expire` (RFC 3339) to let the collector drop it after a while. */
  labels?: Record<string, string>;
}

/**
 * berthd's (or containerd's) leases over gRPC (`containerd.services.leases.v1.Leases`), in the
 * connection's namespace. As in containerd, what a client creates without a lease (or an image,
 * container or `containerd.io/gc.root` label referencing it) may be garbage-collected at once:
 * create a lease, then pass it to the other clients with `conn.with({ lease: lease.id })`.
 */
export class LeasesClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** Creates a lease. */
  async create(opts: CreateLeaseOptions = {}): Promise<Lease> {
    const res = await this.#conn.unary(Leases.create, { id: opts.id ?? '', labels: opts.labels ?? {} }, opts);
    return leaseOf(res.lease);
  }

  /** Deletes a lease (NotFound if absent); what it held becomes garbage unless referenced otherwise. `sync` waits for the collection. */
  async delete(id: string, opts: CallOptions & { sync?: boolean } = {}): Promise<void> {
    await this.#conn.unary(Leases.delete, { id, sync: opts.sync ?? false }, opts);
  }

  /** The namespace's leases matching any of the filters (`id`, `labels.<k>`). */
  async list(...filters: string[]): Promise<Lease[]> {
    const res = await this.#conn.unary(Leases.list, { filters });
    return res.leases.map(leaseOf);
  }
}

function leaseOf(lease: leasesService.Lease | undefined): Lease {
  return { id: lease?.id ?? '', createdAt: dateOf(lease?.createdAt), labels: { ...lease?.labels } };
}
