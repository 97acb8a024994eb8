import type { Info } from '@berth/content';
import { events, type contentService, type MessageInit } from '@berth/api';
import { outOfRange } from '@berth/errdefs';
import { parseDigest } from '@berth/spec';
import type { EngineContext } from '../context';
import type { CallContext } from '../grpc/context';
import { bidi, serverStream, unary, type GrpcServiceImpl } from '../grpc/service';
import { ContentNamespaces, type NamespacedContentStore } from './content-namespaced';
import { infoToWire, statusToWire } from './content-wire';
import { sendUnlessCancelled, serveWrite } from './content-write';

/** Bytes per `Read` response: containerd's copy buffer, well under the 16 MiB message limit. */
export const READ_CHUNK_BYTES = 1 << 20;
/** Infos per `List` response, as containerd sends them. */
export const LIST_BATCH = 100;

/**
 * containerd's `containerd.services.content.v1.Content` over the engine's blob store and
 * metadata, namespaced by the call's `containerd-namespace` and recording into its
 * `containerd-lease` (see `NamespacedContentStore` for ownership, shared content and leases,
 * and `serveWrite` for the Write protocol).
 *
 * - Info: NotFound unless the namespace owns the digest. Update: labels only (`labels`,
 *   `labels.<key>`; `''` deletes; no mask replaces them), per namespace.
 * - List: the namespace's blobs matching the filters (`digest`, `size`, `labels.<key>`), in
 *   batches of 100.
 * - Delete: drops the namespace's ownership; the last owner's delete removes the blob, and the
 *   garbage collector is told (what the blob's labels referenced may be garbage now). Then
 *   publishes `/content/delete` (ContentDelete: digest) in the call's namespace, as
 *   containerd's content service does.
 * - Read: `offset` (≤ 0 reads from the start; past the end is OutOfRange) and `size` (0 reads to
 *   the end), in chunks of at most 1 MiB.
 * - Status, ListStatuses (filters on `ref`, `expected`, `total`, `offset`; `""` matches all),
 *   Abort: the namespace's ingests.
 *
 * `namespaces` holds the per-digest locks and the progress of open writers: give every user of
 * the engine's content store (this service, image import, CRI) the same one.
 */
export function contentImpl(
  ctx: EngineContext,
  namespaces: ContentNamespaces = new ContentNamespaces(ctx.content, ctx.metadata, ctx.gc),
): GrpcServiceImpl<(typeof contentService.Content)['methods']> {
  const storeOf = (call: CallContext): NamespacedContentStore => namespaces.store(call.namespace(), call.lease);

  return {
    info: unary(async (req, call) => ({ info: infoToWire(await storeOf(call).info(req.digest)) })),

    update: unary(async (req, call) => {
      const digest = parseDigest(req.info?.digest ?? '');
      const info = await storeOf(call).update({ digest, labels: req.info?.labels ?? {} }, req.updateMask?.paths ?? []);
      return { info: infoToWire(info) };
    }),

    list: serverStream(async (req, call, send) => {
      let batch: MessageInit<contentService.Info>[] = [];
      await storeOf(call).walk(async (info: Info) => {
        batch.push(infoToWire(info));
        if (batch.length >= LIST_BATCH) {
          await sendUnlessCancelled(send, { info: batch }, call.signal);
          batch = [];
        }
      }, ...req.filters);
      if (batch.length > 0) await sendUnlessCancelled(send, { info: batch }, call.signal);
    }),

    delete: unary(async (req, call) => {
      const ns = call.namespace();
      await storeOf(call).delete(req.digest);
      ctx.events.publish(ns, '/content/delete', events.ContentDelete, { digest: req.digest });
      return {};
    }),

    read: serverStream(async (req, call, send) => {
      const digest = parseDigest(req.digest);
      const reader = await storeOf(call).readerAt({ digest });
      try {
        const start = Math.max(req.offset, 0);
        if (start > reader.size) throw outOfRange(`content ${digest}: read past object length ${reader.size} bytes`);
        const end = req.size > 0 ? Math.min(reader.size, start + req.size) : reader.size;
        if (end === start) return;
        if (end - start <= READ_CHUNK_BYTES) {
          // Manifests, configs, indexes: one positional read and one message, no stream machinery.
          await sendUnlessCancelled(send, { offset: start, data: await reader.read(start, end - start) }, call.signal);
          return;
        }
        const stream = reader.createReadStream({ start, end: end - 1, chunkSize: READ_CHUNK_BYTES, signal: call.signal });
        let offset = start;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          // A byte stream's iterator may join buffered chunks: split to keep each message ≤ 1 MiB.
          for (let i = 0; i < chunk.length; i += READ_CHUNK_BYTES) {
            const data = chunk.subarray(i, i + READ_CHUNK_BYTES);
            await sendUnlessCancelled(send, { offset, data }, call.signal);
            offset += data.length;
          }
        }
      } finally {
        await reader.close();
      }
    }),

    status: unary(async (req, call) => ({ status: statusToWire(await storeOf(call).status(req.ref)) })),

    listStatuses: unary(async (req, call) => ({ statuses: (await storeOf(call).listStatuses(...req.filters)).map(statusToWire) })),

    write: bidi((requests, call, send) => serveWrite(storeOf(call), requests, call.signal, send)),

    abort: unary(async (req, call) => {
      await storeOf(call).abort(req.ref);
      return {};
    }),
  };
}
