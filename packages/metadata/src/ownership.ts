import { alreadyExists, invalidArgument, notFound, withContext } from '@berth/errdefs';
import { parseDigest, parseFilters, validateIdentifier, type Digest } from '@berth/spec';
import { later, type StoreContext } from './context';
import { applyMapPath, checkLabels, decodeMap, encodeMap, mapField } from './maps';
import type { ContentOwnership, ContentRecord, Labels, SnapshotOwnership, SnapshotRecord } from './types';

interface Stamped {
  labels: string;
  created_at: number;
  updated_at: number;
}

/**
 * containerd's content/snapshot label Update: `labels` replaces them, `labels.<key>` sets one,
 * no paths replaces them; anything else is InvalidArgument naming `what`.
 */
function updatedLabels(current: Labels, incoming: Labels | undefined, fieldpaths: string[], what: string): Labels {
  if (fieldpaths.length === 0) return { ...incoming };
  let labels = current;
  for (const path of fieldpaths) {
    const next = applyMapPath(labels, incoming, 'labels', path);
    if (next === undefined) throw invalidArgument(`cannot update "${path}" field on ${what}`);
    labels = next;
  }
  return labels;
}

function checkDigest(digest: string): void {
  try {
    parseDigest(digest);
  } catch (err) {
    throw withContext(err, 'content');
  }
}

/** `ContentOwnership` over the `content` table. */
export class SqliteContentOwnership implements ContentOwnership {
  constructor(private readonly ctx: StoreContext) {}

  add(ns: string, digest: Digest | string, labels?: Labels): ContentRecord {
    this.ctx.checkNamespace(ns);
    checkDigest(digest);
    checkLabels(labels, `content ${digest}`);
    return this.ctx.write(() => {
      this.ctx.ensureNamespace(ns);
      if (this.row(ns, digest)) throw alreadyExists(`content ${digest}: already exists`);
      const now = Date.now();
      this.ctx
        .stmt('INSERT INTO content (namespace, digest, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(ns, digest, encodeMap(labels), now, now);
      return this.get(ns, digest);
    });
  }

  get(ns: string, digest: Digest | string): ContentRecord {
    this.ctx.checkNamespace(ns);
    const row = this.row(ns, digest);
    if (!row) throw notFound(`content ${digest}: not found`);
    return contentOf(row);
  }

  list(ns: string, filters: string[] = []): ContentRecord[] {
    this.ctx.checkNamespace(ns);
    const filter = parseFilters(...filters);
    const rows = this.ctx.stmt('SELECT * FROM content WHERE namespace = ? ORDER BY digest').all(ns) as (Stamped & {
      digest: string;
    })[];
    return rows.map(contentOf).filter((c) =>
      filter.match({
        field: ([head, ...rest]) =>
          head === 'digest' ? c.digest || undefined : head === 'labels' ? mapField(rest, c.labels) : undefined,
      }),
    );
  }

  updateLabels(ns: string, digest: Digest | string, labels: Labels, fieldpaths: string[] = []): ContentRecord {
    this.ctx.checkNamespace(ns);
    return this.ctx.write(() => {
      const current = this.get(ns, digest);
      const next = updatedLabels(current.labels, labels, fieldpaths, `content ${digest}`);
      checkLabels(next, `content ${digest}`);
      this.ctx
        .stmt('UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?')
        .run(encodeMap(next), later(current.updatedAt), ns, digest);
      return this.get(ns, digest);
    });
  }

  remove(ns: string, digest: Digest | string): void {
    this.ctx.checkNamespace(ns);
    this.ctx.write(() => {
      const { changes } = this.ctx.stmt('DELETE FROM content WHERE namespace = ? AND digest = ?').run(ns, digest);
      if (changes === 0) throw notFound(`content ${digest}: not found`);
      this.ctx.deleted();
    });
  }

  isReferenced(digest: Digest | string): boolean {
    return this.ctx.stmt('SELECT 1 FROM content WHERE digest = ? LIMIT 1').get(digest) !== undefined;
  }

  private row(ns: string, digest: string): (Stamped & { digest: string }) | undefined {
    return this.ctx.stmt('SELECT * FROM content WHERE namespace = ? AND digest = ?').get(ns, digest) as
      | (Stamped & { digest: string })
      | undefined;
  }
}

type SnapshotRow = Stamped & { snapshotter: string; key: string };

/** `SnapshotOwnership` over the `snapshots` table. */
export class SqliteSnapshotOwnership implements SnapshotOwnership {
  constructor(private readonly ctx: StoreContext) {}

  add(ns: string, snapshotter: string, key: string, labels?: Labels): SnapshotRecord {
    this.ctx.checkNamespace(ns);
    checkSnapshot(snapshotter, key);
    checkLabels(labels, describe(snapshotter, key));
    return this.ctx.write(() => {
      this.ctx.ensureNamespace(ns);
      if (this.row(ns, snapshotter, key)) throw alreadyExists(`${describe(snapshotter, key)}: already exists`);
      const now = Date.now();
      this.ctx
        .stmt(
          'INSERT INTO snapshots (namespace, snapshotter, key, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(ns, snapshotter, key, encodeMap(labels), now, now);
      return this.get(ns, snapshotter, key);
    });
  }

  get(ns: string, snapshotter: string, key: string): SnapshotRecord {
    this.ctx.checkNamespace(ns);
    const row = this.row(ns, snapshotter, key);
    if (!row) throw notFound(`${describe(snapshotter, key)}: not found`);
    return snapshotOf(row);
  }

  list(ns: string, filters: string[] = []): SnapshotRecord[] {
    this.ctx.checkNamespace(ns);
    const filter = parseFilters(...filters);
    const rows = this.ctx
      .stmt('SELECT * FROM snapshots WHERE namespace = ? ORDER BY snapshotter, key')
      .all(ns) as SnapshotRow[];
    return rows.map(snapshotOf).filter((s) =>
      filter.match({
        field: ([head, ...rest]) => {
          if (head === 'snapshotter') return s.snapshotter || undefined;
          if (head === 'key' || head === 'name') return s.key || undefined;
          if (head === 'labels') return mapField(rest, s.labels);
          return undefined;
        },
      }),
    );
  }

  updateLabels(ns: string, snapshotter: string, key: string, labels: Labels, fieldpaths: string[] = []): SnapshotRecord {
    this.ctx.checkNamespace(ns);
    return this.ctx.write(() => {
      const current = this.get(ns, snapshotter, key);
      const next = updatedLabels(current.labels, labels, fieldpaths, describe(snapshotter, key));
      checkLabels(next, describe(snapshotter, key));
      this.ctx
        .stmt('UPDATE snapshots SET labels = ?, updated_at = ? WHERE namespace = ? AND snapshotter = ? AND key = ?')
        .run(encodeMap(next), later(current.updatedAt), ns, snapshotter, key);
      return this.get(ns, snapshotter, key);
    });
  }

  remove(ns: string, snapshotter: string, key: string): void {
    this.ctx.checkNamespace(ns);
    this.ctx.write(() => {
      const { changes } = this.ctx
        .stmt('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?')
        .run(ns, snapshotter, key);
      if (changes === 0) throw notFound(`${describe(snapshotter, key)}: not found`);
      this.ctx.deleted();
    });
  }

  isReferenced(snapshotter: string, key: string): boolean {
    return (
      this.ctx.stmt('SELECT 1 FROM snapshots WHERE snapshotter = ? AND key = ? LIMIT 1').get(snapshotter, key) !==
      undefined
    );
  }

  private row(ns: string, snapshotter: string, key: string): SnapshotRow | undefined {
    return this.ctx
      .stmt('SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?')
      .get(ns, snapshotter, key) as SnapshotRow | undefined;
  }
}

/** `snapshot "key" (overlayfs)`: keys may hold spaces and slashes, so the key is quoted. */
function describe(snapshotter: string, key: string): string {
  return `snapshot "${key}" (${snapshotter})`;
}

function checkSnapshot(snapshotter: string, key: string): void {
  try {
    validateIdentifier(snapshotter);
  } catch (err) {
    throw withContext(err, 'snapshotter');
  }
  if (typeof key !== 'string' || key === '') throw invalidArgument(`snapshot key must not be empty (${snapshotter})`);
}

function contentOf(row: Stamped & { digest: string }): ContentRecord {
  return {
    digest: row.digest as Digest,
    labels: decodeMap(row.labels),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function snapshotOf(row: SnapshotRow): SnapshotRecord {
  return {
    snapshotter: row.snapshotter,
    key: row.key,
    labels: decodeMap(row.labels),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
