import type { Digest } from '@berth/spec';
import { busyboxImage } from './busybox';
import { canonicalJson } from './json';
import { largeImage } from './large';
import { layersImage } from './layers';
import { FIXED_MTIME } from './tar-writer';
import type { ImageDefinition, ImageName } from './types';

/** The `created` time of every test image and history entry: `FIXED_MTIME` as RFC 3339. */
export const CREATED = new Date(FIXED_MTIME * 1000).toISOString().replace('.000Z', 'Z');

/** The definition of a test image by name. Throws for an unknown name or a missing busybox binary. */
export async function imageDefinition(name: ImageName): Promise<ImageDefinition> {
  switch (name) {
    case 'busybox':
      return busyboxImage();
    case 'layers':
      return layersImage();
    case 'large':
      return largeImage();
    default:
      throw new Error(`unknown test image ${String(name)}: want busybox, layers or large`);
  }
}

/**
 * The OCI image config JSON of `def` with the given layer diff IDs, serialized canonically:
 * fixed `created`, one history entry per layer, no host-dependent fields.
 */
export function imageConfigJson(def: ImageDefinition, diffIds: readonly Digest[]): Buffer {
  if (diffIds.length !== def.layers.length) throw new Error(`image ${def.name}: ${diffIds.length} diff IDs for ${def.layers.length} layers`);
  return Buffer.from(
    canonicalJson({
      architecture: def.architecture,
      os: def.os,
      created: CREATED,
      config: def.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: def.layers.map((layer) => ({ created: CREATED, created_by: layer.createdBy })),
    }),
  );
}
