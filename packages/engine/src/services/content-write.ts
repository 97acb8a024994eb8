import type { Writer } from '@berth/content';
import type { contentService, MessageInit } from '@berth/api';
import { alreadyExists, invalidArgument, isNotFound, outOfRange } from '@berth/errdefs';
import type { NamespacedContentStore } from './content-namespaced';
import { timestampOf } from '../grpc/convert';

type WriteRequest = contentService.WriteContentRequest;
type WriteResponse = contentService.WriteContentResponse;

const STAT = 0;
const WRITE = 1;
const COMMIT = 2;

/**
 * Serves one `Content.Write` stream as containerd's content service does (its
 * `services/content/service.go`), over `store` (the call's namespace and lease):
 *
 * 1. The first request must carry `ref` (InvalidArgument otherwise). It opens the ingest's
 *    writer, which holds the ref until the stream ends: a second stream on the same ref is
 *    Unavailable (containerd's clients retry). AlreadyExists when the request's `expected`
 *    is already in the namespace (clients treat that as success).
 * 2. One response per request, echoing `action`, with the ingest's current `offset`; `total`
 *    and `expected` are taken from any request that carries them.
 * 3. Whenever a request carries an `expected` digest the namespace already has, the ingest is
 *    aborted and the stream ends with AlreadyExists.
 * 4. STAT answers `offset`, `total`, the digest so far, `started_at` and `updated_at`.
 * 5. WRITE and COMMIT: an `offset > 0` must equal the current offset (else OutOfRange);
 *    `offset == 0` on an ingest with data restarts it (truncates to 0). Then `data` is
 *    appended; the response's offset is the new size.
 * 6. COMMIT then verifies `total` (when > 0) and `expected` (when set): a mismatch is
 *    FailedPrecondition and publishes nothing (the ingest stays, resumable). Without `expected`
 *    the blob is committed under its computed digest. The namespace owns it with the request's
 *    `labels`; the response carries its digest.
 * 7. A stream that ends, or is cancelled, before COMMIT leaves the ingest resumable: it shows in
 *    ListStatuses, and the next writer on the ref continues at its offset.
 */
export async function serveWrite(
  store: NamespacedContentStore,
  requests: AsyncIterable<WriteRequest>,
  signal: AbortSignal,
  send: (response: MessageInit<WriteResponse>) => Promise<void>,
): Promise<void> {
  const it = requests[Symbol.asyncIterator]();
  let next = await it.next();
  if (next.done) return;
  let req = next.value;
  const ref = req.ref;
  if (!ref) throw invalidArgument('first message must have a reference');
  let total = req.total;
  let expected = req.expected;

  // Not given `signal`: a writer aborted by its signal drops the data it has accepted but not yet
  // written (up to a batch). On a cancel (a killed client) the pending request or send fails
  // instead, and `close()` below flushes everything received, as containerd's writer (which
  // writes each message through) would have it on disk; then the ref is free to resume.
  const writer = await store.openWriter({ ref, total: Math.max(total, 0), expected, recordExpected: false });
  let committed = false;
  try {
    let offset = (await writer.status()).offset;
    for (;;) {
      if (req.expected) {
        expected = req.expected;
        if (await has(store, expected)) {
          await writer.close();
          await store.abort(ref).catch(() => {});
          throw alreadyExists(`blob with expected digest ${expected} exists`);
        }
      }
      if (req.total > 0) total = req.total;

      const response: MessageInit<WriteResponse> = { action: req.action, offset, total };
      switch (req.action) {
        case STAT: {
          const status = await writer.status();
          response.digest = writer.digest();
          response.startedAt = timestampOf(status.startedAt);
          response.updatedAt = timestampOf(status.updatedAt);
          break;
        }
        case WRITE:
        case COMMIT: {
          if (committed) throw invalidArgument(`ref "${ref}": already committed`);
          offset = await writeAt(writer, ref, offset, req);
          response.offset = offset;
          if (req.action === COMMIT) {
            response.digest = await writer.commit({
              ...(total > 0 ? { size: total } : {}),
              ...(expected ? { expected } : {}),
              labels: req.labels,
            });
            committed = true;
          } else {
            response.digest = writer.digest();
          }
          break;
        }
        default:
          throw invalidArgument(`ref "${ref}": unknown write action ${String(req.action)}`);
      }
      await sendUnlessCancelled(send, response, signal);
      next = await it.next();
      if (next.done) return;
      req = next.value;
    }
  } finally {
    await writer.close().catch(() => {}); // no-op after a commit
  }
}

/** Step 5 of the protocol: checks the offset (restarting at 0), appends the data, returns the new offset. */
async function writeAt(writer: Writer, ref: string, offset: number, req: WriteRequest): Promise<number> {
  if (req.offset > 0 && req.offset !== offset) {
    throw outOfRange(`ref "${ref}": write @${req.offset} must occur at current offset ${offset}`);
  }
  if (req.offset === 0 && offset > 0) {
    await writer.truncate(0);
    offset = 0;
  }
  if (req.data.length > 0) {
    await writer.write(req.data);
    offset += req.data.length;
  }
  return offset;
}

async function has(store: NamespacedContentStore, digest: string): Promise<boolean> {
  try {
    await store.info(digest);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * `send`, but settled when the call is cancelled: a cancelled grpc-js stream never emits
 * 'drain', and a handler waiting for it would keep its writer (and the ref's lock) forever.
 */
export function sendUnlessCancelled<T>(send: (response: T) => Promise<void>, response: T, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('call cancelled'));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('call cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    send(response).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
