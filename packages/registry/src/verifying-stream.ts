import { Readable } from 'node:stream';
import { dataLoss, deadlineExceeded, unavailable } from '@berth/errdefs';
import type { Descriptor, Digester } from '@berth/spec';

/** A response body and the absolute offset of its first byte. */
export interface Segment {
  body: Readable;
  start: number;
}

export interface VerifyingOptions {
  /** Names the content in errors (`fetch docker.io/library/busybox@sha256:…`). */
  what: string;
  /** Fed every byte after `start`; checked against the descriptor at the end. None: size only. */
  digester?: Digester;
  /** Consecutive reopen attempts without progress before giving up. */
  maxResumes: number;
  /** Ms without data while the consumer wants some before the connection counts as broken. */
  idleTimeout: number;
  signal?: AbortSignal;
}

/**
 * The bytes `[start, desc.size)` of a blob, read from one or more response bodies: when a body
 * breaks off (error, early end, no data for `idleTimeout`), `reopen(position)` asks for the
 * rest and the stream carries on, skipping bytes a server resends. Bytes are hashed as they
 * pass; a body longer than the descriptor, or a digest that differs at the end, destroys the
 * stream with DataLoss instead of ending it, so a consumer never sees a clean end of wrong
 * content. The source is paused while `push` says the consumer is full.
 */
export class VerifyingStream extends Readable {
  private source: Readable | undefined;
  private generation = 0;
  private position: number;
  private skip = 0;
  private failures = 0;
  private progressAtFailure = -1;
  private idle: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly desc: Descriptor,
    start: number,
    first: Segment | undefined,
    private readonly reopen: (position: number) => Promise<Segment>,
    private readonly opts: VerifyingOptions,
  ) {
    super();
    this.position = start;
    if (first) this.attach(first);
    else queueMicrotask(() => this.finish());
  }

  override _read(): void {
    if (this.source?.isPaused()) this.source.resume();
    if (this.source) this.armIdle();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.detach();
    cb(err);
  }

  private attach(seg: Segment): void {
    if (seg.start > this.position) {
      seg.body.destroy();
      this.destroy(unavailable(`${this.opts.what}: the registry resumed at byte ${seg.start}, not ${this.position}`));
      return;
    }
    const gen = ++this.generation;
    const src = seg.body;
    this.source = src;
    this.skip = this.position - seg.start;
    const live = (): boolean => gen === this.generation && !this.destroyed;
    src.on('data', (chunk: Buffer) => live() && this.onData(chunk));
    src.on('end', () => {
      if (!live()) return;
      if (this.position === this.desc.size) this.finish();
      else this.broken(`the body ended after ${this.position} of ${this.desc.size} bytes`);
    });
    src.on('error', (err) => live() && this.broken(err.message));
    src.on('close', () => live() && !src.readableEnded && this.broken('the connection closed'));
    this.armIdle();
  }

  private detach(): void {
    this.generation++;
    this.clearIdle();
    this.source?.destroy();
    this.source = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    if (this.position + chunk.length > this.desc.size) {
      this.destroy(dataLoss(`${this.opts.what}: more than the descriptor's ${this.desc.size} bytes`));
      return;
    }
    this.position += chunk.length;
    this.opts.digester?.update(chunk);
    this.armIdle();
    if (!this.push(chunk)) {
      this.source?.pause();
      this.clearIdle();
    }
  }

  private finish(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.detach();
    const got = this.opts.digester?.digest();
    if (got !== undefined && got !== this.desc.digest) {
      this.destroy(dataLoss(`${this.opts.what}: digest mismatch: got ${got}`));
      return;
    }
    this.push(null);
  }

  private broken(reason: string): void {
    this.detach();
    if (this.progressAtFailure !== this.position) this.failures = 0;
    this.progressAtFailure = this.position;
    if (this.opts.signal?.aborted) {
      this.destroy(this.opts.signal.reason as Error);
      return;
    }
    if (++this.failures > this.opts.maxResumes) {
      this.destroy(unavailable(`${this.opts.what}: ${reason}; gave up after ${this.failures} attempts at byte ${this.position}`));
      return;
    }
    const gen = this.generation;
    this.reopen(this.position).then(
      (seg) => {
        if (gen !== this.generation || this.destroyed) seg.body.destroy();
        else this.attach(seg);
      },
      (err: Error) => this.destroy(err),
    );
  }

  private armIdle(): void {
    this.clearIdle();
    const gen = this.generation;
    this.idle = setTimeout(() => {
      if (gen === this.generation) this.broken(deadlineExceeded(`no data for ${this.opts.idleTimeout} ms`).message);
    }, this.opts.idleTimeout);
    this.idle.unref?.();
  }

  private clearIdle(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
  }
}
