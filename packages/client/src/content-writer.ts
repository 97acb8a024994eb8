import type { Hash } from 'node:crypto';
import { contentService, type MessageInit } from '@berth/api';
import { dataLoss, failedPrecondition, notImplemented, outOfRange, type BerthError } from '@berth/errdefs';
import type { Digest } from '@berth/spec';
import { abortError, toBerthError, type Connection, type DuplexCall } from './connection';
import type { ContentCommitOptions, ContentStatus, ContentWriter, ContentWriterOptions } from './content-types';
import { dateOf } from './wire';
import { lazy } from './lazy-node';

type WriteMethod = typeof contentService.Content.methods.write;
type Request = MessageInit<contentService.WriteContentRequest>;
type Response = contentService.WriteContentResponse;

const { STAT, WRITE, COMMIT } = contentService.WriteAction;

/** Data per WRITE message: containerd's copy buffer (1 MiB), well under the 16 MiB limit. */
export const WRITE_MESSAGE_BYTES = 1 << 20;
/** Bytes sent but not yet acknowledged before `write()` makes its caller wait. */
export const WRITE_WINDOW_BYTES = 4 << 20;

interface Waiter {
  bytes: number;
  resolve(res: Response): void;
  reject(err: unknown): void;
}

/**
 * One ingest written over a `Content.Write` stream, the protocol of containerd's content
 * service: the stream holds the ref's lock on the server from the first STAT to its end.
 *
 * - Open: `STAT{ref, total, expected}`. Its answer is the ingest's offset (a resumed ingest
 *   continues there) and digest so far; errors: AlreadyExists (`expected` is committed),
 *   Unavailable (another writer holds the ref), FailedPrecondition (`total` differs from the
 *   resumed ingest's), InvalidArgument (empty ref, malformed digest).
 * - `write()`: small writes are coalesced into WRITE messages of up to 1 MiB, each carrying the
 *   offset it must land at (the server checks it: OutOfRange otherwise). The server answers every
 *   message once it is in the ingest; `write()` resolves while at most 4 MiB is unanswered, so a
 *   slow disk on the server slows the caller (backpressure). Errors are sticky.
 * - `digest()` is computed locally (sha256) when the ingest started in this writer (offset 0 or
 *   after `truncate(0)`); for a resumed ingest the server's digest is used, and every `write()`
 *   then waits for its answer so that `digest()` is exact after it resolves.
 * - `status()` is a STAT after everything written, so its offset counts all accepted data.
 * - `truncate(0)` is a WRITE at offset 0, which restarts the ingest. The protocol cannot cut an
 *   ingest anywhere else: `truncate(n)` for `0 < n < offset` is NotImplemented.
 * - `commit()`: `COMMIT{total, expected, labels}` with the last data; the answer's digest is
 *   the blob's. Then the stream is half-closed. It always closes the writer.
 * - `close()` sends what is buffered, half-closes and resolves once the server has ended the
 *   stream, i.e. released the ref (the ingest stays resumable).
 * - An aborted `signal` cancels the stream (the server keeps what it received; the ingest stays
 *   resumable) and pending calls reject with Canceled.
 */
export class RemoteWriter implements ContentWriter {
  readonly ref: string;
  readonly #call: DuplexCall<WriteMethod>;
  readonly #signal: AbortSignal | undefined;
  readonly #waiting: Waiter[] = [];
  readonly #windowWaiters: (() => void)[] = [];
  readonly #ended: Promise<void>;
  #failure: BerthError | undefined;
  #failureSeen = false;
  #closed = false;
  /** Bytes accepted by `write()` (sent or buffered): the ingest's offset once all is sent. */
  #offset = 0;
  /** Bytes sent in WRITE messages. */
  #sent = 0;
  #unacked = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #hash: Hash | undefined;
  #serverDigest: Digest;
  #total: number;
  #expected: Digest | undefined;
  #startedAt = new Date(0);

  private constructor(call: DuplexCall<WriteMethod>, options: ContentWriterOptions) {
    this.ref = options.ref;
    this.#call = call;
    this.#signal = options.signal;
    this.#total = options.total ?? 0;
    this.#expected = options.expected as Digest | undefined;
    this.#serverDigest = '' as Digest;
    this.#ended = new Promise<void>((resolve, reject) => {
      call.on('data', (res: Response) => this.#onResponse(res));
      call.on('error', (err: unknown) => {
        this.#fail(toBerthError(err, this.#signal));
        reject(this.#failure);
      });
      call.on('status', (status: { code: number }) => {
        if (status.code !== 0) return; // 'error' reports it
        this.#fail(dataLoss(`ref "${this.ref}": write stream ended before every request was answered`), false);
        resolve();
      });
    });
    this.#ended.catch(() => {}); // observed through the calls
    if (options.signal) {
      const onAbort = () => {
        this.#fail(abortError(options.signal!));
        call.cancel();
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.#ended.then(
        () => options.signal!.removeEventListener('abort', onAbort),
        () => options.signal!.removeEventListener('abort', onAbort),
      );
    }
  }

  /** Opens the stream and sends the first STAT; see the class comment for its errors. */
  static async open(conn: Connection, options: ContentWriterOptions): Promise<RemoteWriter> {
    if (options.signal?.aborted) throw abortError(options.signal);
    const call = conn.duplex(contentService.Content.methods.write, options.signal ? { signal: options.signal } : {});
    const writer = new RemoteWriter(call, options);
    try {
      const res = await writer.#send({
        action: STAT,
        ref: options.ref,
        total: options.total ?? 0,
        expected: options.expected ?? '',
      });
      writer.#offset = writer.#sent = res.offset;
      writer.#startedAt = dateOf(res.startedAt);
      if (res.total > 0) writer.#total = res.total;
      if (res.offset === 0 && (!writer.#expected || writer.#expected.startsWith('sha256:'))) writer.#hash = lazy.crypto.createHash('sha256');
      // The Write protocol answers neither the ingest's recorded total nor its expected digest:
      // ask Status for what the caller did not announce (a resumed ingest keeps them).
      if (!options.total || !options.expected) {
        const { status } = await conn.unary(contentService.Content.methods.status, { ref: options.ref }, options.signal ? { signal: options.signal } : {});
        if (status && !options.total && status.total > 0) writer.#total = status.total;
        if (status && !options.expected && status.expected) writer.#expected = status.expected as Digest;
      }
      return writer;
    } catch (err) {
      writer.#closed = true;
      call.cancel();
      throw err;
    }
  }

  /** Appends `chunk` (kept by reference until sent); resolves when the writer can take more. */
  async write(chunk: Uint8Array): Promise<void> {
    this.#checkWritable();
    if (chunk.byteLength === 0) return;
    this.#hash?.update(chunk);
    this.#offset += chunk.byteLength;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    if (!this.#hash) {
      // Resumed ingest: the digest comes from the server, so wait for this write's answer.
      await Promise.all(this.#flush());
      return;
    }
    if (this.#pendingBytes >= WRITE_MESSAGE_BYTES) this.#flush(WRITE_MESSAGE_BYTES);
    while (this.#unacked > WRITE_WINDOW_BYTES && this.#failure === undefined) {
      await new Promise<void>((resolve) => this.#windowWaiters.push(resolve));
    }
    this.#checkFailure();
  }

  /** The digest of the whole ingest so far (from offset 0, across resumes). */
  digest(): Digest {
    if (this.#hash) return `sha256:${this.#hash.copy().digest('hex')}` as Digest;
    return this.#serverDigest;
  }

  /** The ingest's status after everything written so far has reached it. */
  async status(): Promise<ContentStatus> {
    this.#checkWritable();
    this.#flush();
    const res = await this.#send({ action: STAT });
    return {
      ref: this.ref,
      offset: res.offset,
      total: res.total > 0 ? res.total : this.#total,
      ...(this.#expected ? { expected: this.#expected } : {}),
      startedAt: res.startedAt ? dateOf(res.startedAt) : this.#startedAt,
      updatedAt: dateOf(res.updatedAt),
    };
  }

  /** Restarts the ingest (`size` 0). `size > offset` is OutOfRange; any other size NotImplemented. */
  async truncate(size: number): Promise<void> {
    this.#checkWritable();
    if (size === this.#offset) return;
    if (size > this.#offset) throw outOfRange(`ref "${this.ref}": cannot truncate to ${size}, past offset ${this.#offset}`);
    if (size !== 0) throw notImplemented(`ref "${this.ref}": the Write protocol can only restart an ingest (truncate to 0), not cut it at ${size}`);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#offset = this.#sent = 0;
    this.#hash = !this.#expected || this.#expected.startsWith('sha256:') ? lazy.crypto.createHash('sha256') : undefined;
    await this.#send({ action: WRITE, offset: 0 });
  }

  /**
   * Commits: verifies size (`size`, else the writer's total, when known) and digest (`expected`,
   * else the writer's, when known) on the server; FailedPrecondition on a mismatch (the ingest
   * stays), AlreadyExists if the digest is committed already (the ingest is removed). Always
   * closes the writer. Resolves with the blob's digest.
   */
  async commit(options: ContentCommitOptions = {}): Promise<Digest> {
    this.#checkWritable();
    this.#closed = true;
    try {
      if (this.#pendingBytes > WRITE_MESSAGE_BYTES) this.#flush(WRITE_MESSAGE_BYTES);
      const data = this.#take(this.#pendingBytes);
      const expected = options.expected ?? this.#expected;
      const res = await this.#send(
        {
          action: COMMIT,
          offset: this.#sent,
          data,
          total: options.size ?? this.#total,
          expected: expected ?? '',
          ...(options.labels ? { labels: options.labels } : {}),
        },
        data.byteLength,
      );
      this.#sent += data.byteLength;
      this.#call.end();
      await this.#ended;
      return res.digest as Digest;
    } catch (err) {
      this.#call.cancel();
      throw err;
    }
  }

  /**
   * Sends what is buffered, ends the stream and resolves once the server has released the ref
   * (the ingest stays resumable). Idempotent; a no-op after `commit()`. Rejects with a stream
   * error no earlier call has reported (data accepted by `write()` may not have been written).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#failure === undefined) {
      this.#flush();
      this.#call.end();
    }
    try {
      await this.#ended;
    } catch (err) {
      if (!this.#failureSeen) {
        this.#failureSeen = true;
        throw err;
      }
    }
  }

  /** Sends the buffered data in WRITE messages of at most 1 MiB, down to `keep` bytes buffered (0: all). */
  #flush(keepBelow = 1): Promise<Response>[] {
    const sent: Promise<Response>[] = [];
    while (this.#pendingBytes >= keepBelow && this.#pendingBytes > 0) {
      const data = this.#take(Math.min(this.#pendingBytes, WRITE_MESSAGE_BYTES));
      const p = this.#send({ action: WRITE, offset: this.#sent, data }, data.byteLength);
      p.catch(() => {}); // sticky: reported by the next call
      this.#sent += data.byteLength;
      sent.push(p);
    }
    return sent;
  }

  /** Removes `n` bytes from the front of the buffer, as one array. */
  #take(n: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let need = n;
    while (need > 0) {
      const head = this.#pending[0]!;
      if (head.byteLength <= need) {
        parts.push(head);
        this.#pending.shift();
        need -= head.byteLength;
      } else {
        parts.push(head.subarray(0, need));
        this.#pending[0] = head.subarray(need);
        need = 0;
      }
    }
    this.#pendingBytes -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #send(request: Request, bytes = 0): Promise<Response> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<Response>((resolve, reject) => {
      this.#waiting.push({ bytes, resolve, reject });
      this.#unacked += bytes;
      this.#call.write(request);
    });
  }

  #onResponse(res: Response): void {
    const waiter = this.#waiting.shift();
    if (!waiter) return;
    this.#unacked -= waiter.bytes;
    if (res.digest) this.#serverDigest = res.digest as Digest;
    waiter.resolve(res);
    if (this.#unacked <= WRITE_WINDOW_BYTES) for (const wake of this.#windowWaiters.splice(0)) wake();
  }

  /** Records the stream's failure (sticky) and rejects everything waiting on it. */
  #fail(err: BerthError, sticky = true): void {
    if (sticky) this.#failure ??= err;
    const reason = this.#failure ?? err;
    for (const w of this.#waiting.splice(0)) {
      this.#failureSeen = true;
      w.reject(reason);
    }
    for (const wake of this.#windowWaiters.splice(0)) wake();
  }

  #checkFailure(): void {
    if (this.#failure !== undefined) {
      this.#failureSeen = true;
      throw this.#failure;
    }
  }

  #checkWritable(): void {
    this.#checkFailure();
    if (this.#closed) throw failedPrecondition(`ref "${this.ref}": writer is closed`);
  }
}
