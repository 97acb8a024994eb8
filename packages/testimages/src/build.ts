import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MediaType } from '@berth/spec';
import { imageConfigJson, imageDefinition } from './definitions';
import { DOCKER_LAYER_TAR, writeDockerArchive } from './docker-archive';
import { writeLayerBlob, type LayerBlob } from './layer-blob';
import { writeOciArchive } from './oci-archive';
import type { ArchiveFormat, BuiltImage, ImageName } from './types';

/**
 * Builds test image `name` as a `format` archive at `outPath` and describes what it wrote. The
 * bytes depend only on the image definition (and, for busybox, the binary), never on time, host
 * name or file system order. The archive is written beside `outPath` under a temporary name and
 * renamed into place, so readers never see a partial file; an existing `outPath` is replaced.
 * Layer blobs are staged in a temporary directory that is removed on success and on error.
 */
export async function buildImage(name: ImageName, format: ArchiveFormat, outPath: string): Promise<BuiltImage> {
  if (format !== 'oci' && format !== 'docker') throw new Error(`unknown archive format ${String(format)}: want oci or docker`);
  const def = await imageDefinition(name);
  const path = resolve(outPath);
  const partial = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  const work = await mkdtemp(join(tmpdir(), 'berth-testimages-'));
  try {
    const layers: LayerBlob[] = [];
    for (const [i, layer] of def.layers.entries()) {
      const compression = format === 'oci' ? layer.compression : 'none';
      const mediaType =
        format === 'docker' ? DOCKER_LAYER_TAR : compression === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayer;
      layers.push(await writeLayerBlob(layer.entries, compression, mediaType, join(work, `layer-${i}`)));
    }
    const input = { name, config: imageConfigJson(def, layers.map((l) => l.diffId)), layers };
    const built = format === 'oci' ? await writeOciArchive(input, partial) : await writeDockerArchive(input, partial);
    await rename(partial, path);
    return { path, ...built };
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
