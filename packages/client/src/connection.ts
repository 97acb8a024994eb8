import type { AnyMethodDefinition, MessageInit, RequestOf, ResponseOf } from '@berth/api';
import { canceled, fromGrpcError, type BerthError } from '@berth/errdefs';
import { GrpcChannel, parseTarget, type CallHeaders, type GrpcCall } from './grpc-channel';
import { GrpcCode, GrpcStatusError, localStatus } from './grpc-frames';

/** containerd's clients send and accept messages up to 16 MiB; so does berthd. */
export const MAX_MESSAGE_BYTES = 16 << 20;
/** The gRPC header that names the containerd namespace of a call. */
export const NAMESPACE_HEADER = 'containerd-namespace';
/** The gRPC header that names the lease a call's new content and snapshots are recorded in. */
export const LEASE_HEADER = 'containerd-lease';
/** The namespace containerd's clients use when none is given. */
export const DEFAULT_NAMESPACE = 'default';

/** Options every call (and a connection, as defaults) takes. */
export interface CallOptions {
  /** The `containerd-namespace` header (default `default`). berthd isolates content, snapshots, images and leases by it. */
  namespace?: string;
  /** The `containerd-lease` header: what the call creates is held by that lease (NotFound if it does not exist). */
  lease?: string;
  /** Cancels the call: the server sees it cancelled and the call rejects with `Canceled`. */
  signal?: AbortSignal;
  /** A deadline: a Date, or milliseconds from now. Past it the call rejects with `DeadlineExceeded`. */
  deadline?: Date | number;
}

/** Options of `connect`. */
export interface ConnectOptions extends Pick<CallOptions, 'namespace' | 'lease'> {
  /** The largest message sent or received, in bytes (default 16 MiB, as containerd's clients). */
  maxMessageBytes?: number;
}

/**
 * An open bidirectional call; the caller drives it with `write` (false: wait for 'drain'), `end`
 * and `cancel`; responses arrive as 'data', the end as 'end' then 'status', a failure as
 * 'error' (convert with `toBerthError`) then 'status'.
 */
export type DuplexCall<D extends AnyMethodDefinition> = GrpcCall<MessageInit<RequestOf<D>>, ResponseOf<D>>;

/**
 * A connection to berthd (or containerd) over gRPC: one HTTP/2 connection, opened by the first
 * call (and again after it closed) and shared by every client made from it (and by `with(...)`
 * views of it). The transport is Node's own http2 (see grpc-channel.ts), not grpc-js: a command
 * that makes a few calls and exits spends a fraction of the time setting it up.
 *
 * Contract:
 * - Every call carries `containerd-namespace` (the connection's namespace, default `default`,
 *   overridable per call) and, when set, `containerd-lease`.
 * - Errors come back as `@berth/errdefs` `BerthError`s of the kind matching the gRPC status
 *   (NotFound stays NotFound, Unavailable stays Unavailable, ...), with the call's
 *   `GrpcStatusError` (numeric `code`, `details`) as `cause`. berthd not listening is
 *   Unavailable.
 * - An aborted `signal` cancels the call on the wire; the call rejects with `Canceled`. A
 *   `deadline` passed is DeadlineExceeded (the server is told it with `grpc-timeout`).
 * - `close()` closes the connection for every view: calls in flight finish, later calls fail
 *   with Unavailable.
 */
export class Connection {
  readonly #channel: GrpcChannel;
  readonly #defaults: Pick<CallOptions, 'namespace' | 'lease'>;

  /** Use `connect()`. */
  constructor(channel: GrpcChannel, defaults: Pick<CallOptions, 'namespace' | 'lease'>) {
    this.#channel = channel;
    this.#defaults = defaults;
  }

  /** The namespace calls carry unless they say otherwise. */
  get namespace(): string {
    return this.#defaults.namespace ?? DEFAULT_NAMESPACE;
  }

  /** The lease calls carry unless they say otherwise, if any. */
  get lease(): string | undefined {
    return this.#defaults.lease;
  }

  /**
   * A view of this connection (same channel) with other defaults, e.g. `conn.with({ namespace:
   * 'k8s.io' })` or `conn.with({ lease: id })`. `lease: undefined` keeps the current lease.
   */
  with(defaults: Pick<CallOptions, 'namespace' | 'lease'>): Connection {
    return new Connection(this.#channel, { ...this.#defaults, ...stripUndefined(defaults) });
  }

  /** Closes the connection (for this connection and every view of it): calls in flight finish, later ones fail. */
  close(): void {
    this.#channel.close();
  }

  /** A unary call. */
  unary<D extends AnyMethodDefinition>(method: D, request: MessageInit<RequestOf<D>>, opts: CallOptions = {}): Promise<ResponseOf<D>> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(abortError(opts.signal));
      const call = this.#start(method, opts);
      let response: ResponseOf<D> | undefined;
      let responses = 0;
      call.on('data', (message: ResponseOf<D>) => {
        response = message;
        responses++;
      });
      call.on('error', (err: unknown) => reject(toBerthError(err, opts.signal)));
      call.on('end', () => {
        if (responses === 1) resolve(response!);
        else reject(toBerthError(new GrpcStatusError(localStatus(responses === 0 ? GrpcCode.INTERNAL : GrpcCode.UNIMPLEMENTED, responses === 0 ? 'no message received' : 'too many responses received'))));
      });
      watchSignal(call, opts.signal);
      call.end(request);
    });
  }

  /**
   * A server-streaming call, as an async iterable of its responses with backpressure (the call
   * is read only as fast as it is iterated). Breaking out of the loop cancels the call; the
   * call's error is thrown by the iteration as a BerthError.
   */
  serverStream<D extends AnyMethodDefinition>(method: D, request: MessageInit<RequestOf<D>>, opts: CallOptions = {}): AsyncIterable<ResponseOf<D>> {
    return {
      [Symbol.asyncIterator]: () => {
        if (opts.signal?.aborted) return rejectingIterator(abortError(opts.signal));
        const call = this.#start(method, opts);
        watchSignal(call, opts.signal);
        const iterator = messages<ResponseOf<D>>(call, opts.signal);
        call.end(request);
        return iterator;
      },
    };
  }

  /**
   * Opens a bidirectional call (Content.Write, Streaming.Stream). The caller drives it: `write`
   * with 'drain' backpressure, `end` to half-close, `cancel`; responses on 'data', the end on
   * 'end' and 'status' or, when not OK, 'error' (convert with `toBerthError`) and 'status'.
   */
  duplex<D extends AnyMethodDefinition>(method: D, opts: CallOptions = {}): DuplexCall<D> {
    const call = this.#start(method, opts);
    watchSignal(call, opts.signal);
    return call;
  }

  #start<D extends AnyMethodDefinition>(method: D, opts: CallOptions): DuplexCall<D> {
    const headers: CallHeaders = { [NAMESPACE_HEADER]: opts.namespace ?? this.namespace };
    const lease = opts.lease ?? this.#defaults.lease;
    if (lease) headers[LEASE_HEADER] = lease;
    const deadline = opts.deadline === undefined ? undefined : typeof opts.deadline === 'number' ? new Date(Date.now() + opts.deadline) : opts.deadline;
    return this.#channel.call(
      method.path,
      headers,
      (value: MessageInit<RequestOf<D>>) => method.requestType.encode(value),
      (bytes: Buffer) => method.responseType.decode(bytes) as ResponseOf<D>,
      deadline,
    );
  }
}

/**
 * Connects to berthd at `address`: a unix socket path (`/run/berth/berthd.sock`), `unix:///path`,
 * or TCP `host:port`. The connection is opened by the first call; messages are limited to 16
 * MiB both ways, as containerd's clients set them. Close it with `close()`.
 *
 * ```ts
 * const conn = connect('/run/berth/berthd.sock', { namespace: 'default' });
 * const content = new ContentClient(conn);
 * const overlay = new SnapshotsClient(conn, 'overlayfs');
 * ```
 */
export function connect(address: string, opts: ConnectOptions = {}): Connection {
  const channel = new GrpcChannel(parseTarget(address), { maxMessageBytes: opts.maxMessageBytes ?? MAX_MESSAGE_BYTES });
  return new Connection(channel, stripUndefined({ namespace: opts.namespace, lease: opts.lease }));
}

/**
 * A gRPC error as a BerthError of the matching kind (`fromGrpcError`). A call cancelled by an
 * aborted `signal` is `Canceled`, whatever the status says.
 */
export function toBerthError(err: unknown, signal?: AbortSignal): BerthError {
  if (signal?.aborted) return abortError(signal, err);
  return fromGrpcError(err);
}

/** The `Canceled` error an aborted signal turns a call into. */
export function abortError(signal: AbortSignal, cause: unknown = signal.reason): BerthError {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return canceled(`call cancelled${reason}`, { cause });
}

function watchSignal(call: { cancel(): void; once(event: 'status', fn: () => void): unknown }, signal: AbortSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) return call.cancel();
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  call.once('status', () => signal.removeEventListener('abort', onAbort));
}

/** What `messages` uses of a call. */
interface ReadableCall {
  on(event: string, listener: (...args: any[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  cancel(): void;
}

/** Responses buffered before reading pauses (HTTP/2 flow control then holds the server back). */
const STREAM_HIGH_WATER = 16;

/**
 * The messages of a readable call, with backpressure: reading pauses while STREAM_HIGH_WATER
 * messages wait to be iterated. Stopping early cancels the call; its error is thrown after the
 * messages that came before it.
 */
async function* messages<T>(call: ReadableCall, signal: AbortSignal | undefined): AsyncGenerator<T, void, undefined> {
  const queue: T[] = [];
  let failure: unknown;
  let ended = false;
  let wake: (() => void) | undefined;
  call.on('data', (message: T) => {
    queue.push(message);
    if (queue.length >= STREAM_HIGH_WATER) call.pause();
    wake?.();
  });
  call.on('error', (err: unknown) => (failure = err));
  call.on('status', () => {
    ended = true;
    wake?.();
  });
  let finished = false;
  try {
    for (;;) {
      if (queue.length > 0) {
        const message = queue.shift()!;
        if (queue.length === STREAM_HIGH_WATER >> 1) call.resume();
        yield message;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    finished = true;
  } finally {
    if (!finished) call.cancel(); // the consumer stopped early
  }
  if (failure !== undefined) throw toBerthError(failure, signal);
}

function rejectingIterator<T>(err: unknown): AsyncIterator<T> {
  return { next: () => Promise.reject(err) };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
