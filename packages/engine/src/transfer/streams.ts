import type { protobuf } from '@berth/api';
import { alreadyExists, notFound } from '@berth/errdefs';

/**
 * One client-opened stream (containerd 2's `streaming.Stream`): the server `send`s Anys to the
 * client and `recv`s what the client sends after its StreamInit. `close()` ends the server's side
 * (the client sees the end of its stream); `closed` resolves once either side has ended it.
 */
export interface ClientStream {
  readonly id: string;
  /** Sends one message; resolves when grpc-js has taken it (backpressure). Rejects after close. */
  send(message: protobuf.Any): Promise<void>;
  /** The client's next message; undefined when the client has ended the stream. */
  recv(signal?: AbortSignal): Promise<protobuf.Any | undefined>;
  close(): void;
  readonly closed: Promise<void>;
}

/**
 * The streams clients have opened with Streaming.Stream, by namespace and id, for a later call
 * that names one (a transfer's `progress_stream`, a registry's `auth_stream`). A stream is
 * registered from its StreamInit until it ends.
 */
export class StreamManager {
  readonly #streams = new Map<string, ClientStream>();

  /** Registers `stream` as `id` in `ns`; AlreadyExists when the id is taken. Returns the unregister function. */
  register(ns: string, stream: ClientStream): () => void {
    const key = `${ns}/${stream.id}`;
    if (this.#streams.has(key)) throw alreadyExists(`stream "${stream.id}": already exists`);
    this.#streams.set(key, stream);
    return () => {
      if (this.#streams.get(key) === stream) this.#streams.delete(key);
    };
  }

  /** The stream `id` of `ns`; NotFound when no such stream is open. */
  get(ns: string, id: string): ClientStream {
    const stream = this.#streams.get(`${ns}/${id}`);
    if (!stream) throw notFound(`stream "${id}": not found`);
    return stream;
  }
}
