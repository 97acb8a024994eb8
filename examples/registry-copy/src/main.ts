/**
 * Copies an image between registries with two libraries and no daemon: @berth/registry fetches
 * every blob of the source (an index with all its platforms, or one manifest), verified while
 * streaming, into a local @berth/content store; then pushes the tree to the destination in the
 * order a registry accepts (blobs, manifests, index, tag), mounting blobs across repositories
 * where the registry is the same.
 *
 *   node examples/registry-copy/dist/main.js SOURCE DESTINATION [--store DIR]
 *   e.g. 127.0.0.1:5000/busybox:latest 127.0.0.1:5001/tools/busybox:1
 *
 * Credentials come from ~/.docker/config.json (or $DOCKER_CONFIG); registries on 127.0.0.1 and
 * localhost may speak plain HTTP. The content store (default: a temp dir, removed afterwards)
 * keeps what was fetched, so a copy interrupted midway fetches only the rest when run again with
 * the same `--store`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createLocalStore, exists, readBlob, writeBlob, type ContentStore } from '@berth/content';
import { createRegistryClient, dockerConfigCredentials, pushTree, type Fetcher } from '@berth/registry';
import { isIndexMediaType, isManifestMediaType, parseIndex, parseManifest, parseReference, type Descriptor } from '@berth/spec';

/** Fetches `desc` and everything it refers to into `store` (children first), skipping what is there. */
async function fetchTree(fetcher: Fetcher, store: ContentStore, desc: Descriptor): Promise<number> {
  let fetched = 0;
  if (!(await exists(store, desc))) {
    await writeBlob(store, `copy-${desc.digest}`, await fetcher.fetch(desc), { digest: desc.digest, size: desc.size });
    fetched++;
  }
  const children: Descriptor[] = [];
  if (isIndexMediaType(desc.mediaType)) children.push(...parseIndex(await readBlob(store, desc), desc.mediaType).manifests);
  else if (isManifestMediaType(desc.mediaType)) {
    const manifest = parseManifest(await readBlob(store, desc), desc.mediaType);
    children.push(manifest.config, ...manifest.layers);
  }
  for (const child of children) fetched += await fetchTree(fetcher, store, child);
  return fetched;
}

/** A blob of `store` as a stream; the reader closes with the stream. */
async function readStream(store: ContentStore, desc: Descriptor): Promise<Readable> {
  const reader = await store.readerAt(desc);
  const stream = reader.createReadStream();
  stream.once('close', () => void reader.close());
  return stream;
}

async function main(argv: string[]): Promise<void> {
  const storeAt = argv.indexOf('--store');
  const storeDir = storeAt >= 0 ? argv[storeAt + 1] : undefined;
  const [source, destination] = argv.filter((a, i) => !a.startsWith('--') && (storeAt < 0 || i !== storeAt + 1));
  if (!source || !destination) throw new Error('usage: registry-copy SOURCE DESTINATION [--store DIR]');
  const tag = parseReference(destination).tag;
  if (!tag) throw new Error(`destination ${destination}: give a tag (NAME:TAG)`);

  const registry = createRegistryClient({ credentials: dockerConfigCredentials() });
  const dir = storeDir ?? (await mkdtemp(join(tmpdir(), 'berth-registry-copy-')));
  const store = createLocalStore({ root: dir });
  try {
    const { descriptor } = await registry.resolve(source);
    const fetched = await fetchTree(registry.fetcher(source), store, descriptor);
    const pushed = await pushTree(registry.pusher(destination), descriptor, (d) => readStream(store, d), { tag });
    const count = (what: string) => [...pushed.values()].filter((r) => r === what).length;
    console.log(`copied ${source} → ${destination} (${descriptor.digest})`);
    console.log(`fetched ${fetched} blob(s); pushed ${count('uploaded')}, mounted ${count('mounted')}, already there ${count('exists')}`);
  } finally {
    registry.close();
    if (!storeDir) await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`registry-copy: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
