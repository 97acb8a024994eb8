import type { Manager } from '@berth/content';
import {
  Label,
  gcRefSnapshot,
  isConfigMediaType,
  isLayerMediaType,
  isManifestMediaType,
  type Descriptor,
} from '@berth/spec';
import type { Handler } from './walk';

/**
 * Garbage-collection labels, as containerd's clients set them. A parent blob (index,
 * manifest) carries one `containerd.io/gc.ref.content.*` label per child so that the collector
 * keeps the children alive as long as the parent is reachable; a config carries
 * `containerd.io/gc.ref.snapshot.<snapshotter>` once the image is unpacked.
 */

/** True for media types containerd treats as layers for labelling (any OCI or Docker layer). */
function isLayerLike(mediaType: string): boolean {
  return (
    isLayerMediaType(mediaType) ||
    mediaType.startsWith('application/vnd.oci.image.layer.') ||
    mediaType.startsWith('application/vnd.docker.image.rootfs.')
  );
}

/** The key prefix (ending in `.`) or exact key a child is labelled under in its parent. */
function childKey(child: Descriptor): string {
  if (isConfigMediaType(child.mediaType)) return Label.GcRefContentConfig;
  if (isManifestMediaType(child.mediaType)) return `${Label.GcRefContentPrefix}m.`;
  if (isLayerLike(child.mediaType)) return `${Label.GcRefContentPrefix}l.`;
  return Label.GcRefContentPrefix;
}

/**
 * The labels to set on `desc` so that it references `children` (in order): a manifest child is
 * `containerd.io/gc.ref.content.m.<i>`, a config `…content.config`, a layer `…content.l.<i>`,
 * anything else (a nested index, an artifact) `…content.<i>`; `<i>` counts children of the same
 * kind. Keys ending in a name rather than a counter get the counter appended from the second
 * child on (`…content.config1`), as containerd does. Pure; `desc` is not read.
 */
export function gcLabelsFor(_desc: Descriptor, children: readonly Descriptor[]): Record<string, string> {
  const labels: Record<string, string> = {};
  const counters = new Map<string, number>();
  for (const child of children) {
    let key = childKey(child);
    const i = counters.get(key) ?? 0;
    counters.set(key, i + 1);
    if (i > 0 || key.endsWith('.')) key = `${key}${i}`;
    labels[key] = child.digest;
  }
  return labels;
}

/**
 * Sets `labels` on a blob through `Manager.update` with one `labels.<key>` fieldpath per label,
 * leaving its other labels alone. Only labels whose value differs are written (an absent label
 * counts as ""), so setting labels a blob already carries costs one `info` and no write.
 */
export async function setBlobLabels(manager: Manager, digest: Descriptor['digest'], labels: Record<string, string>): Promise<void> {
  // An update rewrites the blob's label record durably (and bumps its updatedAt, as containerd's
  // does), so labels that already hold these values — a re-import, a second unpack — are left alone.
  const current = (await manager.info(digest)).labels;
  const keys = Object.keys(labels).filter((k) => (current[k] ?? '') !== labels[k]);
  if (keys.length === 0) return;
  await manager.update({ digest, labels }, keys.map((k) => `labels.${k}`));
}

/**
 * Wraps `handler` so that each descriptor with children gets the gc labels for them
 * (`gcLabelsFor`) before the walk goes on, as containerd's `SetChildrenLabels` does.
 */
export function setChildrenLabels(manager: Manager, handler: Handler): Handler {
  return async (desc) => {
    const out = await handler(desc);
    if (out && out.length > 0) await setBlobLabels(manager, desc.digest, gcLabelsFor(desc, out));
    return out;
  };
}

/** The `containerd.io/gc.ref.snapshot.<snapshotter>` label a config gets after unpack. */
export function snapshotGcLabel(snapshotter: string, topChainId: string): Record<string, string> {
  return { [gcRefSnapshot(snapshotter)]: topChainId };
}
