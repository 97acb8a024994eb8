import { readBlob, type Provider } from '@berth/content';
import { invalidArgument } from '@berth/errdefs';
import type { Descriptor } from '@berth/spec';

/**
 * The largest JSON document (index, manifest, config, `manifest.json`) berth reads into memory.
 * containerd uses the same 20 MiB bound when importing archives.
 */
export const maxDocumentSize = 20 << 20;

/**
 * Reads the whole blob of a JSON document (index, manifest, config). `InvalidArgument` when the
 * descriptor claims more than `maxDocumentSize` bytes or the blob's size differs from the
 * descriptor's; `NotFound` when the blob is not in the store.
 */
export async function readDocument(provider: Provider, desc: Descriptor): Promise<Buffer> {
  if (desc.size > maxDocumentSize) {
    throw invalidArgument(`${desc.mediaType} ${desc.digest}: ${desc.size} bytes, more than the ${maxDocumentSize} allowed for a document`);
  }
  const data = await readBlob(provider, desc);
  if (data.length !== desc.size) {
    throw invalidArgument(`${desc.mediaType} ${desc.digest}: descriptor says ${desc.size} bytes, blob has ${data.length}`);
  }
  return data;
}
