import { pushTree, type Pusher, type RegistryClient } from '@berth/registry';
import { parseReference, type Descriptor } from '@berth/spec';
import type { EngineContext } from '../context';
import type { NamespacedContentStore } from '../services/content-namespaced';
import { refKey, type ProgressFn } from './progress';

/** Options of `pushImage`. */
export interface PushImageOptions {
  ctx: EngineContext;
  namespace: string;
  content: NamespacedContentStore;
  client: RegistryClient;
  /** The image record to push. */
  name: string;
  /** Where to: `host/repo:tag` (tagged) or `host/repo@digest` (untagged). */
  reference: string;
  /** Blobs uploaded at once. Default 3. */
  concurrency?: number;
  progress?: ProgressFn;
  signal?: AbortSignal;
}

/**
 * Pushes the image record `name` of the namespace to `reference`: its whole tree (an index's
 * every manifest, each manifest's config and layers) in the order a registry accepts it, blobs
 * the registry already has not sent again, then the tag. Each blob first tries a
 * cross-repository mount from the repositories of its `containerd.io/distribution.source.<host>`
 * label on the same registry. Progress: `uploading`, then `pushed` or `already exists`, per
 * blob. Returns the pushed root.
 *
 * Errors: NotFound for an unknown image or a blob of its tree missing from the content (an
 * index pulled for one platform only cannot be pushed whole); the registry's
 * Unauthenticated/PermissionDenied/Unavailable; DataLoss when the registry disagrees with a digest.
 */
export async function pushImage(opts: PushImageOptions): Promise<Descriptor> {
  const image = opts.ctx.metadata.images.get(opts.namespace, opts.name);
  const target = parseReference(opts.reference);
  const root: Descriptor = image.target;
  const progress = opts.progress ?? (() => {});
  const inner = opts.client.pusher(opts.reference);
  const sourceKey = `containerd.io/distribution.source.${target.domain}`;
  const pusher: Pusher = {
    async push(desc, body, pushOpts) {
      const name = refKey(desc);
      progress({ event: 'uploading', name, total: desc.size, desc });
      const labels = (await opts.content.info(desc.digest)).labels;
      const mountFrom = (labels[sourceKey] ?? '').split(',').filter((r) => r !== '' && r !== target.path);
      const result = await inner.push(desc, body, { ...pushOpts, ...(mountFrom.length > 0 ? { mountFrom } : {}) });
      progress({ event: result === 'exists' ? 'already exists' : 'pushed', name, progress: desc.size, total: desc.size, desc });
      return result;
    },
    tag: (tag, desc, content, tagOpts) => inner.tag(tag, desc, content, tagOpts),
  };
  await pushTree(
    pusher,
    root,
    async (desc) => {
      const reader = await opts.content.readerAt(desc);
      const stream = reader.createReadStream();
      stream.once('close', () => void reader.close());
      return stream;
    },
    {
      concurrency: opts.concurrency ?? 3,
      ...(target.tag !== undefined ? { tag: target.tag } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  progress({ event: 'pushed', name: opts.reference, desc: root });
  return root;
}
