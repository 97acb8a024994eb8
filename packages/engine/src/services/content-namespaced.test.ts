import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStore, readBlob, writeBlob } from '@berth/content';
import { contentStoreSuite } from '@berth/content/testsuite';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { openMetadataStore, type MetadataStore } from '@berth/metadata';
import { digestOf } from '@berth/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentNamespaces, ingestRefOf, parseIngestRef } from './content-namespaced';
import { rejectionKind } from '../testing';

// The namespaced view is a ContentStore: it must pass the same suite as the local store.
contentStoreSuite('engine namespaced view', async (root) => {
  await mkdir(root, { recursive: true });
  const metadata = openMetadataStore({ path: join(root, 'metadata.db') });
  const namespaces = new ContentNamespaces(createLocalStore({ root: join(root, 'content') }), metadata);
  return { store: namespaces.store('suite'), cleanup: async () => metadata.close() };
});


describe('namespaced content', () => {
  let base: string;
  let metadata: MetadataStore;
  let namespaces: ContentNamespaces;
  const blobPath = (d: string) => join(base, 'content', 'blobs', 'sha256', d.slice('sha256:'.length));

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-ns-content-'));
    metadata = openMetadataStore({ path: join(base, 'metadata.db') });
    namespaces = new ContentNamespaces(createLocalStore({ root: join(base, 'content') }), metadata);
  });
  afterEach(async () => {
    metadata.close();
    await rm(base, { recursive: true, force: true });
  });

  it('isolates blobs, labels and ingests per namespace', async () => {
    const a = namespaces.store('a');
    const b = namespaces.store('b');
    const data = Buffer.from('hello namespaces');
    const d = await writeBlob(a, 'ref', data, {}, { labels: { team: 'a' } });
    expect(await rejectionKind(b.info(d))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(b.readerAt({ digest: d }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(b.update({ digest: d, labels: { x: 'y' } }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(b.delete(d))).toBe(ErrorKind.NotFound);

    // b ingests the same bytes without an expected digest: it owns them with its own labels
    expect(await writeBlob(b, 'ref', data, {}, { labels: { team: 'b' } })).toBe(d);
    expect((await a.info(d)).labels).toEqual({ team: 'a' });
    expect((await b.info(d)).labels).toEqual({ team: 'b' });

    const w = await a.writer({ ref: 'open' });
    await w.write(Buffer.from('partial'));
    await w.close();
    expect((await a.listStatuses('')).map((s) => s.ref)).toEqual(['open']);
    expect(await b.listStatuses('')).toEqual([]);
    expect(await rejectionKind(b.status('open'))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(b.abort('open'))).toBe(ErrorKind.NotFound);
    // the same ref in b is another ingest, not locked by a's
    const wb = await b.writer({ ref: 'open' });
    expect((await wb.status()).offset).toBe(0);
    await wb.close();
  });

  it('adopts a blob another namespace has when digest and size match (shared content)', async () => {
    const data = Buffer.alloc(1000, 7);
    const d = await writeBlob(namespaces.store('a'), 'x', data);
    const b = namespaces.store('b');
    expect(await rejectionKind(b.writer({ ref: 'y', expected: d, total: data.length }))).toBe(ErrorKind.AlreadyExists);
    expect((await b.info(d)).size).toBe(1000);
    expect(await b.listStatuses()).toEqual([]);
    // a size that does not match is not trusted: the data must be written
    const c = namespaces.store('c');
    const w = await c.writer({ ref: 'z', expected: d, total: 999 });
    await w.close();
    expect(await rejectionKind(c.info(d))).toBe(ErrorKind.NotFound);
  });

  it('deletes the blob when its last owner deletes it', async () => {
    const data = Buffer.from('shared by two');
    const d = await writeBlob(namespaces.store('a'), 'x', data);
    await writeBlob(namespaces.store('b'), 'x', data, { digest: d, size: data.length });
    await namespaces.store('a').delete(d);
    expect(existsSync(blobPath(d))).toBe(true);
    expect((await readBlob(namespaces.store('b'), { digest: d })).equals(data)).toBe(true);
    await namespaces.store('b').delete(d);
    expect(existsSync(blobPath(d))).toBe(false);
  });

  it('records the ingest, then the blob, in the lease', async () => {
    metadata.leases.create('ns', { id: 'pull' });
    const store = namespaces.store('ns', 'pull');
    const data = Buffer.from('leased');
    const w = await store.writer({ ref: 'layer' });
    await w.write(data);
    expect(metadata.leases.listResources('ns', 'pull')).toEqual([{ type: 'ingests', id: 'layer' }]);
    const d = await w.commit();
    expect(metadata.leases.listResources('ns', 'pull')).toEqual([{ type: 'content', id: d }]);
    await store.delete(d);
    expect(metadata.leases.listResources('ns', 'pull')).toEqual([]);

    const w2 = await store.writer({ ref: 'dropped' });
    await w2.close();
    await store.abort('dropped');
    expect(metadata.leases.listResources('ns', 'pull')).toEqual([]);
    expect(await rejectionKind(namespaces.store('ns', 'nope').writer({ ref: 'r' }))).toBe(ErrorKind.NotFound);
  });

  it('AlreadyExists for content the namespace has, adding it to the lease', async () => {
    const data = Buffer.from('again');
    const d = digestOf(data);
    await writeBlob(namespaces.store('ns'), 'x', data);
    metadata.leases.create('ns', { id: 'l' });
    expect(await rejectionKind(namespaces.store('ns', 'l').writer({ ref: 'y', expected: d }))).toBe(ErrorKind.AlreadyExists);
    expect(metadata.leases.listResources('ns', 'l')).toEqual([{ type: 'content', id: d }]);
  });

  it('keeps namespace refs apart in the blob store', () => {
    expect(ingestRefOf('default', 'layer-sha256:abc')).toBe('default/layer-sha256:abc');
    expect(parseIngestRef('default/tar-blobs/sha256/x')).toEqual({ namespace: 'default', ref: 'tar-blobs/sha256/x' });
    for (const raw of ['plain', '/x', 'ns/', 'bad ns/x']) expect(parseIngestRef(raw)).toBeUndefined();
  });

  it('requires a valid namespace', () => {
    expect(kindOf(tryCatch(() => namespaces.store('')))).toBe(ErrorKind.FailedPrecondition);
    expect(kindOf(tryCatch(() => namespaces.store('bad/ns')))).toBe(ErrorKind.InvalidArgument);
  });
});

function tryCatch(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
