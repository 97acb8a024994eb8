import * as grpc from '@grpc/grpc-js';
import type { AnyMethodDefinition, MessageInit, RequestOf, ResponseOf } from '@berth/api';
import { canceled, fromGrpcError, type BerthError } from '@berth/errdefs';

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
  /** Extra grpc-js channel options (message limits default to 16 MiB). */
  channelOptions?: grpc.ChannelOptions;
}

/** An open bidirectional call; errors and the end of the stream arrive through the listeners. */
export type DuplexCall<D extends AnyMethodDefinition> = grpc.ClientDuplexStream<MessageInit<RequestOf<D>>, ResponseOf<D>>;

/**
 * A connection to berthd (or containerd) over gRPC: one HTTP/2 channel, opened lazily by the
 * first call and shared by every client made from it (and by `with(...)` views of it).
 *
 * Contract:
 * - Every call carries `containerd-namespace` (the connection's namespace, default `default`,
 *   overridable per call) and, when set, `containerd-lease`.
 * - Errors come back as `@berth/errdefs` `BerthError`s of the kind matching the gRPC status
 *   (NotFound stays NotFound, Unavailable stays Unavailable, ...), the grpc-js error as `cause`.
 * - An aborted `signal` cancels the call on the wire; the call rejects with `Canceled`.
 * - `close()` closes the channel for every view; later calls fail.
 */
export class Connection {
  readonly #client: grpc.Client;
  readonly #defaults: Pick<CallOptions, 'namespace' | 'lease'>;

  /** Use `connect()`. */
  constructor(client: grpc.Client, defaults: Pick<CallOptions, 'namespace' | 'lease'>) {
    this.#client = client;
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
    return new Connection(this.#client, { ...this.#defaults, ...stripUndefined(defaults) });
  }

  /** Closes the channel (for this connection and every view of it). In-flight calls fail. */
  close(): void {
    this.#client.close();
  }

  /** A unary call. */
  unary<D extends AnyMethodDefinition>(method: D, request: MessageInit<RequestOf<D>>, opts: CallOptions = {}): Promise<ResponseOf<D>> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(abortError(opts.signal));
      const { metadata, callOptions } = this.#setup(opts);
      const call = this.#client.makeUnaryRequest(method.path, serializer(method), deserializer(method), request, metadata, callOptions, (err, res) =>
        err ? reject(toBerthError(err, opts.signal)) : resolve(res as ResponseOf<D>),
      );
      watchSignal(call, opts.signal);
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
        const { metadata, callOptions } = this.#setup(opts);
        const call = this.#client.makeServerStreamRequest(method.path, serializer(method), deserializer(method), request, metadata, callOptions);
        watchSignal(call, opts.signal);
        return messages<ResponseOf<D>>(call, opts.signal);
      },
    };
  }

  /**
   * Opens a bidirectional call (Content.Write). The caller drives it: `write` with `drain`
   * backpressure, `end` to half-close, `cancel`; responses on 'data', the final status on
   * 'status' and, when not OK, 'error' (convert with `toBerthError`).
   */
  duplex<D extends AnyMethodDefinition>(method: D, opts: CallOptions = {}): DuplexCall<D> {
    const { metadata, callOptions } = this.#setup(opts);
    const call = this.#client.makeBidiStreamRequest(method.path, serializer(method), deserializer(method), metadata, callOptions) as DuplexCall<D>;
    watchSignal(call, opts.signal);
    return call;
  }

  #setup(opts: CallOptions): { metadata: grpc.Metadata; callOptions: grpc.CallOptions } {
    const metadata = new grpc.Metadata();
    metadata.set(NAMESPACE_HEADER, opts.namespace ?? this.namespace);
    const lease = opts.lease ?? this.#defaults.lease;
    if (lease) metadata.set(LEASE_HEADER, lease);
    const callOptions: grpc.CallOptions = {};
    if (opts.deadline !== undefined) callOptions.deadline = typeof opts.deadline === 'number' ? Date.now() + opts.deadline : opts.deadline;
    return { metadata, callOptions };
  }
}

/**
 * Connects to berthd at `address`: a unix socket path (`/run/berth/berthd.sock`) or any grpc-js
 * target (`unix:///…`). The channel is opened by the first call; message limits are 16 MiB
 * both ways, as containerd's clients set them. Close it with `close()`.
 *
 * ```ts
 * const conn = connect('/run/berth/berthd.sock', { namespace: 'default' });
 * const content = new ContentClient(conn);
 * const overlay = new SnapshotsClient(conn, 'overlayfs');
 * ```
 */
export function connect(address: string, opts: ConnectOptions = {}): Connection {
  const target = address.includes('://') ? address : `unix://${address}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...opts.channelOptions,
  });
  return new Connection(client, stripUndefined({ namespace: opts.namespace, lease: opts.lease }));
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

function watchSignal(call: { cancel(): void }, signal: AbortSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) return call.cancel();
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  (call as unknown as grpc.ClientUnaryCall).once?.('status', () => signal.removeEventListener('abort', onAbort));
}

/**
 * The messages of a readable call. grpc-js may emit 'error' after the last message without
 * destroying the stream, so the error is recorded at once (an unrecorded 'error' would crash
 * the process) and thrown after the messages.
 */
async function* messages<T>(call: grpc.ClientReadableStream<T>, signal: AbortSignal | undefined): AsyncGenerator<T, void, undefined> {
  let failure: unknown;
  call.on('error', (err: unknown) => {
    failure ??= err;
  });
  let finished = false;
  try {
    for await (const message of call) yield message as T;
    finished = true;
  } catch (err) {
    finished = true;
    throw toBerthError(err, signal);
  } finally {
    if (!finished) call.cancel(); // the consumer stopped early
  }
  if (failure !== undefined) throw toBerthError(failure, signal);
}

function rejectingIterator<T>(err: unknown): AsyncIterator<T> {
  return { next: () => Promise.reject(err) };
}

function serializer<D extends AnyMethodDefinition>(method: D): (value: MessageInit<RequestOf<D>>) => Buffer {
  return (value) => Buffer.from(method.requestType.encode(value));
}

function deserializer<D extends AnyMethodDefinition>(method: D): (bytes: Buffer) => ResponseOf<D> {
  return (bytes) => method.responseType.decode(bytes) as ResponseOf<D>;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
