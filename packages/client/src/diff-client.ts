import { diffService, type types } from '@berth/api';
import type { Descriptor, Digest } from '@berth/spec';
import type { CallOptions, Connection } from './connection';
import type { SnapshotMount } from './snapshots-types';

const Diff = diffService.Diff.methods;

/** Options of `DiffClient.diff`. */
export interface DiffOptions extends CallOptions {
  /** The layer's media type: `…layer.v1.tar+gzip` (berthd's default) or `…layer.v1.tar`. */
  mediaType?: string;
  /** The ingest ref the blob is written under (default: one berthd makes up). */
  ref?: string;
  /** Labels for the blob (berthd adds `containerd.io/uncompressed`). */
  labels?: Record<string, string>;
}

/**
 * berthd's (or containerd's) differ over gRPC (`containerd.services.diff.v1.Diff`), in the
 * connection's namespace and, when it has one, under its lease. The blob a Diff writes is
 * content like any other: without a lease (or a reference from an image) it is garbage at once.
 */
export class DiffClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /**
   * Writes the changes from `left` to `right` (mounts as Snapshots.Mounts/View return them) as a
   * layer blob and returns its descriptor. `left` may be empty: everything in `right` is added.
   * An overlay `right` with an `upperdir=` is read from its upper directory alone (the changes of
   * an active snapshot over its parent): pass `readOnlyView(mounts)` for the whole tree.
   */
  async diff(left: readonly SnapshotMount[], right: readonly SnapshotMount[], opts: DiffOptions = {}): Promise<Descriptor> {
    const res = await this.#conn.unary(
      Diff.diff,
      { left: left.map(toWire), right: right.map(toWire), mediaType: opts.mediaType ?? '', ref: opts.ref ?? '', labels: opts.labels ?? {} },
      opts,
    );
    return descriptorOf(res.diff);
  }

  /** Extracts the layer `desc` (a blob in content) onto `mounts`; returns the applied (uncompressed) layer's descriptor. */
  async apply(desc: Descriptor, mounts: readonly SnapshotMount[], opts?: CallOptions): Promise<Descriptor> {
    const res = await this.#conn.unary(
      Diff.apply,
      { diff: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: desc.annotations ?? {} }, mounts: mounts.map(toWire), payloads: {} },
      opts,
    );
    return descriptorOf(res.applied);
  }
}

/**
 * The same filesystem as `mounts`, read-only: an overlay with an upper directory becomes one whose
 * lowers are that upper directory over the old lowers (no `upperdir`, no `workdir`), so a
 * differ reads the whole merged tree rather than the upper layer's changes. Anything else is
 * returned as is (a bind mount is already the whole tree).
 */
export function readOnlyView(mounts: readonly SnapshotMount[]): SnapshotMount[] {
  return mounts.map((m) => {
    if (m.type !== 'overlay') return m;
    const upper = m.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
    if (upper === undefined) return m;
    const lowers = m.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length) ?? '';
    const rest = m.options.filter((o) => !/^(upperdir|workdir|lowerdir)=/.test(o) && o !== 'rw');
    return { ...m, options: [...rest, 'ro', `lowerdir=${[upper, ...lowers.split(':').filter(Boolean)].join(':')}`] };
  });
}

function toWire(m: SnapshotMount): types.Mount {
  return { type: m.type, source: m.source, target: m.target ?? '', options: [...m.options] };
}

function descriptorOf(d: types.Descriptor | undefined): Descriptor {
  return {
    mediaType: d?.mediaType ?? '',
    digest: (d?.digest ?? '') as Digest,
    size: Number(d?.size ?? 0),
    ...(d && Object.keys(d.annotations ?? {}).length ? { annotations: { ...d.annotations } } : {}),
  };
}
