import { alreadyExists, invalidArgument, notFound, withContext } from '@berth/errdefs';
import { parseFilters, validateIdentifier } from '@berth/spec';
import { bytesOf, later, type StoreContext } from './context';
import { applyMapPath, checkLabels, cleanMap, decodeMap, encodeMap, mapField } from './maps';
import type { Any, Container, ContainerStore, ContainerUpdate, NewContainer } from './types';

interface Row {
  id: string;
  labels: string;
  image: string;
  runtime_name: string;
  runtime_options_type: string | null;
  runtime_options_value: Buffer | null;
  spec_type: string | null;
  spec_value: Buffer | null;
  snapshotter: string;
  snapshot_key: string;
  extensions: string;
  sandbox_id: string | null;
  created_at: number;
  updated_at: number;
}

/** The fields a field mask may name, and the ones a maskless update replaces. */
const replaceable = ['labels', 'spec', 'extensions', 'image', 'snapshotkey'] as const;

/** `ContainerStore` over the `containers` table. */
export class SqliteContainerStore implements ContainerStore {
  constructor(private readonly ctx: StoreContext) {}

  create(ns: string, container: NewContainer): Container {
    this.ctx.checkNamespace(ns);
    const c = normalize(container);
    validateContainer(c);
    return this.ctx.write(() => {
      this.ctx.ensureNamespace(ns);
      if (this.row(ns, c.id)) throw alreadyExists(`container "${c.id}": already exists`);
      const now = Date.now();
      this.ctx
        .stmt(
          `INSERT INTO containers (namespace, id, labels, image, runtime_name, runtime_options_type,
             runtime_options_value, spec_type, spec_value, snapshotter, snapshot_key, extensions, sandbox_id,
             created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          ns,
          c.id,
          encodeMap(c.labels),
          c.image,
          c.runtime.name,
          c.runtime.options?.typeUrl ?? null,
          c.runtime.options?.value ?? null,
          c.spec?.typeUrl ?? null,
          c.spec?.value ?? null,
          c.snapshotter,
          c.snapshotKey,
          encodeExtensions(c.extensions),
          c.sandboxId ?? null,
          now,
          now,
        );
      return this.get(ns, c.id);
    });
  }

  get(ns: string, id: string): Container {
    this.ctx.checkNamespace(ns);
    const row = this.row(ns, id);
    if (!row) throw notFound(`container "${id}": not found`);
    return containerOf(row);
  }

  list(ns: string, filters: string[] = []): Container[] {
    this.ctx.checkNamespace(ns);
    const filter = parseFilters(...filters);
    const rows = this.ctx.stmt('SELECT * FROM containers WHERE namespace = ? ORDER BY id').all(ns) as Row[];
    return rows.map(containerOf).filter((c) => filter.match({ field: (path) => containerField(c, path) }));
  }

  update(ns: string, container: ContainerUpdate, fieldpaths: string[] = []): Container {
    this.ctx.checkNamespace(ns);
    const { id } = container;
    if (!id) throw invalidArgument('container id must not be empty');
    return this.ctx.write(() => {
      const updated = this.get(ns, id);
      let paths: readonly string[] = fieldpaths;
      if (paths.length === 0) {
        paths = replaceable;
        // Immutable fields must match on a full replace, so that they can become mutable later.
        if ((container.snapshotter ?? '') !== updated.snapshotter) {
          throw invalidArgument(`container "${id}": snapshotter is immutable`);
        }
        if ((container.runtime?.name ?? '') !== updated.runtime.name) {
          throw invalidArgument(`container "${id}": runtime name is immutable`);
        }
      }
      for (const path of paths) {
        const labels = applyMapPath(updated.labels, container.labels, 'labels', path);
        if (labels !== undefined) {
          updated.labels = labels;
        } else if (path.startsWith('extensions.')) {
          const name = path.slice('extensions.'.length);
          const next = new Map(Object.entries(updated.extensions));
          const value = container.extensions && Object.hasOwn(container.extensions, name) ? container.extensions[name] : undefined;
          if (value === undefined) next.delete(name);
          else next.set(name, value);
          updated.extensions = Object.fromEntries(next);
        } else if (path === 'spec') {
          updated.spec = container.spec;
        } else if (path === 'extensions') {
          updated.extensions = { ...container.extensions };
        } else if (path === 'image') {
          updated.image = container.image ?? '';
        } else if (path === 'snapshotkey') {
          updated.snapshotKey = container.snapshotKey ?? '';
        } else {
          throw invalidArgument(`cannot update "${path}" field on container "${id}"`);
        }
      }
      updated.labels = cleanMap(updated.labels);
      validateContainer(updated);
      this.ctx
        .stmt(
          `UPDATE containers SET labels = ?, image = ?, spec_type = ?, spec_value = ?, snapshot_key = ?,
             extensions = ?, updated_at = ?
           WHERE namespace = ? AND id = ?`,
        )
        .run(
          encodeMap(updated.labels),
          updated.image,
          updated.spec?.typeUrl ?? null,
          updated.spec?.value ?? null,
          updated.snapshotKey,
          encodeExtensions(updated.extensions),
          later(updated.updatedAt),
          ns,
          id,
        );
      return this.get(ns, id);
    });
  }

  delete(ns: string, id: string): void {
    this.ctx.checkNamespace(ns);
    this.ctx.write(() => {
      const { changes } = this.ctx.stmt('DELETE FROM containers WHERE namespace = ? AND id = ?').run(ns, id);
      if (changes === 0) throw notFound(`container "${id}": not found`);
      this.ctx.deleted();
    });
  }

  private row(ns: string, id: string): Row | undefined {
    return this.ctx.stmt('SELECT * FROM containers WHERE namespace = ? AND id = ?').get(ns, id) as Row | undefined;
  }
}

/** containerd's `adaptContainer`, plus `snapshotter`. */
function containerField(c: Container, [head, second, ...rest]: string[]): string | undefined {
  switch (head) {
    case 'id':
      return c.id || undefined;
    case 'image':
      return c.image || undefined;
    case 'snapshotter':
      return c.snapshotter || undefined;
    case 'runtime':
      return second === 'name' && rest.length === 0 ? c.runtime.name || undefined : undefined;
    case 'labels':
      return second === undefined ? undefined : mapField([second, ...rest], c.labels);
    default:
      return undefined;
  }
}

type Normalized = Omit<Container, 'createdAt' | 'updatedAt'>;

function normalize(c: NewContainer): Normalized {
  const n: Normalized = {
    id: c.id,
    labels: cleanMap(c.labels),
    image: c.image ?? '',
    runtime: { name: c.runtime?.name ?? '' },
    snapshotter: c.snapshotter ?? '',
    snapshotKey: c.snapshotKey ?? '',
    extensions: { ...c.extensions },
  };
  if (c.runtime?.options !== undefined) n.runtime.options = c.runtime.options;
  if (c.spec !== undefined) n.spec = c.spec;
  if (c.sandboxId !== undefined && c.sandboxId !== '') n.sandboxId = c.sandboxId;
  return n;
}

/** containerd's `validateContainer`. */
function validateContainer(c: Normalized): void {
  try {
    validateIdentifier(c.id);
  } catch (err) {
    throw withContext(err, 'container id');
  }
  const what = `container "${c.id}"`;
  checkLabels(c.labels, what);
  for (const [name, ext] of Object.entries(c.extensions)) {
    if (name === '') throw invalidArgument(`${what}: extension names must not be empty`);
    checkAny(ext, `${what}: extension "${name}"`);
  }
  if (typeof c.runtime.name !== 'string' || c.runtime.name === '') {
    throw invalidArgument(`${what}: runtime name must be set`);
  }
  if (c.runtime.options !== undefined) checkAny(c.runtime.options, `${what}: runtime options`);
  if (c.spec === undefined) throw invalidArgument(`${what}: spec must be set`);
  checkAny(c.spec, `${what}: spec`);
  if (typeof c.image !== 'string') throw invalidArgument(`${what}: image must be a string`);
  if (c.snapshotKey !== '' && c.snapshotter === '') {
    throw invalidArgument(`${what}: snapshotter must be set when the snapshot key is`);
  }
}

function checkAny(a: Any, what: string): void {
  if (typeof a !== 'object' || a === null || typeof a.typeUrl !== 'string' || !(a.value instanceof Uint8Array)) {
    throw invalidArgument(`${what}: must be { typeUrl: string, value: Uint8Array }`);
  }
}

function encodeExtensions(extensions: Record<string, Any>): string {
  const entries = Object.entries(extensions)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, { typeUrl, value }]) => [name, { typeUrl, value: Buffer.from(value).toString('base64') }]);
  return JSON.stringify(Object.fromEntries(entries));
}

function decodeExtensions(text: string): Record<string, Any> {
  const stored = JSON.parse(text) as Record<string, { typeUrl: string; value: string }>;
  return Object.fromEntries(
    Object.entries(stored).map(([name, { typeUrl, value }]) => [name, { typeUrl, value: bytesOf(Buffer.from(value, 'base64')) }]),
  );
}

function anyOf(typeUrl: string | null, value: Buffer | null): Any | undefined {
  return typeUrl === null ? undefined : { typeUrl, value: bytesOf(value ?? Buffer.alloc(0)) };
}

function containerOf(row: Row): Container {
  const c: Container = {
    id: row.id,
    labels: decodeMap(row.labels),
    image: row.image,
    runtime: { name: row.runtime_name },
    snapshotter: row.snapshotter,
    snapshotKey: row.snapshot_key,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    extensions: decodeExtensions(row.extensions),
  };
  const options = anyOf(row.runtime_options_type, row.runtime_options_value);
  if (options !== undefined) c.runtime.options = options;
  const spec = anyOf(row.spec_type, row.spec_value);
  if (spec !== undefined) c.spec = spec;
  if (row.sandbox_id !== null) c.sandboxId = row.sandbox_id;
  return c;
}
