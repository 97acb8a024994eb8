/**
 * berth's quickstart, with no daemon: builds the deterministic busybox test image from Debian's
 * busybox-static, imports it into a content store, prints its manifest and config, then unpacks
 * it into an overlayfs snapshotter and lists the root filesystem a container would get.
 *
 *   npm run quickstart [-- --root DIR]      (default root: /var/lib/berth)
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalStore, readBlob } from '@berth/content';
import { createApplier } from '@berth/diff';
import { createMemoryImageStore, importArchive, resolveManifest, unpack } from '@berth/images';
import { createOverlaySnapshotter, withMounts } from '@berth/snapshots';
import { testImage } from '@berth/testimages';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const root = option('--root', '/var/lib/berth');
  const archive = await testImage('busybox', 'oci');
  console.log(`built ${archive.path}`);

  const content = createLocalStore({ root: join(root, 'content') });
  const images = createMemoryImageStore();
  const imported = await importArchive(content, images, createReadStream(archive.path));
  const image = imported.images[0]!;
  console.log(`imported ${image.name} → ${image.target.digest} into ${join(root, 'content')}\n`);

  const { manifestDesc } = await resolveManifest(content, image.target);
  const manifest = JSON.parse((await readBlob(content, manifestDesc)).toString('utf8'));
  console.log(`manifest ${manifestDesc.digest}:\n${JSON.stringify(manifest, null, 2)}\n`);
  const config = JSON.parse((await readBlob(content, manifest.config)).toString('utf8'));
  console.log(`config ${manifest.config.digest}:\n${JSON.stringify(config, null, 2)}\n`);

  if (process.getuid?.() !== 0) {
    console.log('(run as root to unpack the image into an overlayfs snapshot)');
    return;
  }
  const snapshotter = await createOverlaySnapshotter({ root: join(root, 'snapshots', 'overlayfs') });
  try {
    const applier = createApplier({ content });
    const { chainId, applied } = await unpack({ content, snapshotter, applier, snapshotterName: 'overlayfs', image });
    console.log(`unpacked ${applied} layer(s); top snapshot ${chainId}`);
    const key = `quickstart-view-${process.pid}`;
    const mounts = await snapshotter.view(key, chainId);
    try {
      await withMounts(mounts, async (dir) => {
        console.log(`rootfs: ${(await readdir(dir)).sort().join(' ')}`);
        console.log(`/bin has ${(await readdir(join(dir, 'bin'))).length} entries`);
      });
    } finally {
      await snapshotter.remove(key);
    }
  } finally {
    await snapshotter.close();
  }
}

main().catch((err) => {
  console.error(`quickstart: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
