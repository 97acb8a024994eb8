import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '@berth/errdefs';
import { parseFilters, validateIdentifier } from '@berth/spec';
import type { StoreContext } from './context';
import { applyMapPath, checkLabels, decodeMap, encodeMap, mapField } from './maps';
import type { Labels, Namespace, NamespaceStore } from './types';

interface Row {
  name: string;
  labels: string;
}

/** The tables whose rows keep a namespace from being deleted, in the order the message lists them. */
const owned = ['images', 'containers', 'leases', 'content', 'snapshots'] as const;

/** `NamespaceStore` over the `namespaces` table. */
export class SqliteNamespaceStore implements NamespaceStore {
  constructor(private readonly ctx: StoreContext) {}

  create(name: string, labels?: Labels): Namespace {
    validateIdentifier(name);
    checkLabels(labels, `namespace "${name}"`);
    return this.ctx.write(() => {
      if (this.row(name)) throw alreadyExists(`namespace "${name}": already exists`);
      this.ctx.stmt('INSERT INTO namespaces (name, labels) VALUES (?, ?)').run(name, encodeMap(labels));
      return this.get(name);
    });
  }

  get(name: string): Namespace {
    validateIdentifier(name);
    const row = this.row(name);
    if (!row) throw notFound(`namespace "${name}": not found`);
    return namespaceOf(row);
  }

  list(filters: string[] = []): Namespace[] {
    const filter = parseFilters(...filters);
    return (this.ctx.stmt('SELECT * FROM namespaces ORDER BY name').all() as Row[])
      .map(namespaceOf)
      .filter((n) =>
        filter.match({
          field: ([head, ...rest]) => (head === 'name' ? n.name || undefined : head === 'labels' ? mapField(rest, n.labels) : undefined),
        }),
      );
  }

  update(namespace: { name: string; labels?: Labels }, fieldpaths: string[] = []): Namespace {
    const { name } = namespace;
    validateIdentifier(name);
    return this.ctx.write(() => {
      this.ctx.ensureNamespace(name);
      let labels: Labels = this.get(name).labels;
      if (fieldpaths.length === 0) labels = { ...namespace.labels };
      for (const path of fieldpaths) {
        const next = applyMapPath(labels, namespace.labels, 'labels', path);
        if (next === undefined) throw invalidArgument(`cannot update "${path}" field on namespace "${name}"`);
        labels = next;
      }
      checkLabels(labels, `namespace "${name}"`);
      this.ctx.stmt('UPDATE namespaces SET labels = ? WHERE name = ?').run(encodeMap(labels), name);
      return this.get(name);
    });
  }

  delete(name: string): void {
    validateIdentifier(name);
    this.ctx.write(() => {
      if (!this.row(name)) throw notFound(`namespace "${name}": not found`);
      const nonEmpty = owned.filter((table) =>
        this.ctx.stmt(`SELECT 1 FROM ${table} WHERE namespace = ? LIMIT 1`).get(name),
      );
      if (nonEmpty.length > 0) {
        throw failedPrecondition(`namespace "${name}" must be empty, but it still has ${nonEmpty.join(', ')}`);
      }
      this.ctx.stmt('DELETE FROM namespaces WHERE name = ?').run(name);
      this.ctx.deleted();
    });
  }

  private row(name: string): Row | undefined {
    return this.ctx.stmt('SELECT * FROM namespaces WHERE name = ?').get(name) as Row | undefined;
  }
}

function namespaceOf(row: Row): Namespace {
  return { name: row.name, labels: decodeMap(row.labels) };
}
