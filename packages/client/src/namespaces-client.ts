import { namespacesService, versionService } from '@berth/api';
import type { CallOptions, Connection } from './connection';

const Namespaces = namespacesService.Namespaces.methods;

/** A containerd namespace and its labels. */
export interface NamespaceRecord {
  name: string;
  labels: Record<string, string>;
}

/**
 * berthd's namespaces over gRPC (`containerd.services.namespaces.v1.Namespaces`). Namespaces
 * are also created implicitly by the first write into them.
 */
export class NamespacesClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** Every namespace. */
  async list(opts?: CallOptions): Promise<NamespaceRecord[]> {
    const res = await this.#conn.unary(Namespaces.list, { filter: '' }, opts);
    return res.namespaces.map((n) => ({ name: n.name, labels: { ...n.labels } }));
  }

  /** The namespace's labels (empty, not NotFound, for an unknown namespace, as containerd). */
  async get(name: string, opts?: CallOptions): Promise<NamespaceRecord> {
    const res = await this.#conn.unary(Namespaces.get, { name }, opts);
    return { name, labels: { ...res.namespace?.labels } };
  }

  /** Creates a namespace; AlreadyExists if it exists. */
  async create(name: string, labels: Record<string, string> = {}, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Namespaces.create, { namespace: { name, labels } }, opts);
  }

  /** Deletes an empty namespace; FailedPrecondition while it holds anything. */
  async delete(name: string, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Namespaces.delete, { name }, opts);
  }
}

/** The daemon's version and revision (`containerd.services.version.v1.Version`). */
export class VersionClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** `{ version, revision }` of the daemon. */
  async version(opts?: CallOptions): Promise<{ version: string; revision: string }> {
    const res = await this.#conn.unary(versionService.Version.methods.version, {}, opts);
    return { version: res.version, revision: res.revision };
  }
}
