import { containersService } from '@berth/api';
import type { Spec } from '@berth/spec';
import type { CallOptions, Connection } from './connection';
import { dateOf } from './wire';

const Containers = containersService.Containers.methods;

/** The `type_url` of a container's OCI spec, as containerd's clients write it. */
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
/** The `type_url` of an exec process's OCI process. */
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
/** The runtime name ctr and the Go client use; berthd runs every container with berth-shim. */
export const DEFAULT_RUNTIME = 'io.containerd.runc.v2';

/** A container record: metadata only (the running process is a task). */
export interface ContainerRecord {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: string;
  /** The OCI runtime spec (decoded from its JSON Any). */
  spec: Spec;
  snapshotter: string;
  snapshotKey: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What `ContainersClient.create` takes. */
export type NewContainer = Pick<ContainerRecord, 'id' | 'spec'> & Partial<Pick<ContainerRecord, 'labels' | 'image' | 'runtime' | 'snapshotter' | 'snapshotKey'>>;

/**
 * berthd's container records over gRPC (`containerd.services.containers.v1.Containers`), in the
 * connection's namespace. A record holds its rootfs snapshot against garbage collection; deleting
 * it does not remove the snapshot (do that with the SnapshotsClient, as ctr does).
 */
export class ContainersClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** The container `id`; NotFound if absent. */
  async get(id: string, opts?: CallOptions): Promise<ContainerRecord> {
    const res = await this.#conn.unary(Containers.get, { id }, opts);
    return containerOf(res.container);
  }

  /** The containers matching any of the containerd filters (`id`, `image`, `labels.<k>`); none matches all. */
  async list(filters: string[] = [], opts?: CallOptions): Promise<ContainerRecord[]> {
    const res = await this.#conn.unary(Containers.list, { filters }, opts);
    return res.containers.map(containerOf);
  }

  /** Creates a record; AlreadyExists if the id is taken, InvalidArgument for a bad id or label. */
  async create(c: NewContainer, opts?: CallOptions): Promise<ContainerRecord> {
    const res = await this.#conn.unary(Containers.create, { container: toWire(c) }, opts);
    return containerOf(res.container);
  }

  /** Updates `fieldpaths` (`labels`, `labels.<k>`, `spec`, `image`); NotFound if absent. */
  async update(c: Pick<ContainerRecord, 'id'> & Partial<ContainerRecord>, fieldpaths: string[], opts?: CallOptions): Promise<ContainerRecord> {
    const res = await this.#conn.unary(Containers.update, { container: toWire(c as NewContainer), updateMask: { paths: fieldpaths } }, opts);
    return containerOf(res.container);
  }

  /** Deletes the record; NotFound if absent. */
  async delete(id: string, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Containers.delete, { id }, opts);
  }
}

function toWire(c: NewContainer): containersService.Container {
  return {
    id: c.id,
    labels: c.labels ?? {},
    image: c.image ?? '',
    runtime: { name: c.runtime ?? DEFAULT_RUNTIME },
    ...(c.spec ? { spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(c.spec)) } } : {}),
    snapshotter: c.snapshotter ?? '',
    snapshotKey: c.snapshotKey ?? '',
    extensions: {},
  } as containersService.Container;
}

function containerOf(c: containersService.Container | undefined): ContainerRecord {
  let spec = {} as Spec;
  if (c?.spec?.value?.length) spec = JSON.parse(Buffer.from(c.spec.value).toString('utf8')) as Spec;
  return {
    id: c?.id ?? '',
    labels: { ...c?.labels },
    image: c?.image ?? '',
    runtime: c?.runtime?.name ?? '',
    spec,
    snapshotter: c?.snapshotter ?? '',
    snapshotKey: c?.snapshotKey ?? '',
    createdAt: dateOf(c?.createdAt),
    updatedAt: dateOf(c?.updatedAt),
  };
}
