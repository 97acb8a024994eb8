import * as grpc from '@grpc/grpc-js';
import type { AnyMethodDefinition, MessageInit, MethodDefinition, ServiceDefinition } from '@berth/api';
import { fromGrpcError } from '@berth/errdefs';
import { MAX_MESSAGE_BYTES } from '../daemon/daemon';
import { LEASE_HEADER, NAMESPACE_HEADER } from '../grpc/context';

/**
 * Per-client and per-call options. `namespace` becomes the `containerd-namespace` header and
 * `lease` the `containerd-lease` header; `null` (per call) drops a client-wide one, so a test can
 * send a call without the header.
 */
export interface CallOptions {
  namespace?: string | null;
  lease?: string | null;
  /** Extra metadata, sent as given. */
  metadata?: Record<string, string>;
  /** Cancels the call (the server sees `cancelled`); the promise rejects with Canceled. */
  signal?: AbortSignal;
  /** A deadline: a Date, or milliseconds from now. */
  deadline?: Date | number;
}

export type UnaryFn<Req, Res> = (request: MessageInit<Req>, opts?: CallOptions) => Promise<Res>;
/** Server streaming: the responses, in order; iteration throws the call's error. */
export type ServerStreamFn<Req, Res> = (request: MessageInit<Req>, opts?: CallOptions) => AsyncIterable<Res>;
/** Client streaming: sends every request (honouring backpressure), then half-closes. */
export type ClientStreamFn<Req, Res> = (requests: Iterable<MessageInit<Req>> | AsyncIterable<MessageInit<Req>>, opts?: CallOptions) => Promise<Res>;
export type BidiFn<Req, Res> = (opts?: CallOptions) => BidiCall<Req, Res>;

/**
 * An open bidirectional call, for lock-step protocols such as Content.Write: `send` one
 * request, `recv` its response. Iterating it yields the remaining responses.
 */
export interface BidiCall<Req, Res> extends AsyncIterable<Res> {
  /** Resolves once the message is handed to the transport. */
  send(request: MessageInit<Req>): Promise<void>;
  /** The next response, or undefined when the server has ended the stream; throws the call's error. */
  recv(): Promise<Res | undefined>;
  /** Half-closes the call (no more requests). */
  end(): void;
  cancel(): void;
}

type FnOf<D> =
  D extends MethodDefinition<infer Req, infer Res, infer ReqStream, infer ResStream>
    ? ReqStream extends true
      ? ResStream extends true
        ? BidiFn<Req, Res>
        : ClientStreamFn<Req, Res>
      : ResStream extends true
        ? ServerStreamFn<Req, Res>
        : UnaryFn<Req, Res>
    : never;

/**
 * A typed gRPC client for one service: a function per method, keyed as in the service
 * definition (`client.listStream({ filters })`), plus `close()`. Errors come back as
 * `BerthError`s of the matching kind (`fromGrpcError`; the grpc-js error with its numeric
 * `code` is the `cause`), so tests assert kinds.
 */
export type GrpcClient<M extends Record<string, AnyMethodDefinition>> = { [K in keyof M]: FnOf<M[K]> } & {
  close(): void;
};

/**
 * Connects to `address` (a unix socket path, or any grpc-js target such as `unix:///…`) and
 * returns a client for `service`. The connection is made lazily by the first call. Message
 * limits are containerd's 16 MiB.
 */
export function createGrpcClient<M extends Record<string, AnyMethodDefinition>>(
  address: string,
  service: ServiceDefinition<M>,
  defaults: CallOptions = {},
): GrpcClient<M> {
  const target = address.includes('://') ? address : `unix://${address}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  const out: Record<string, unknown> = { close: () => client.close() };
  for (const [key, method] of Object.entries(service.methods)) {
    out[key] = methodFn(client, method as AnyMethodDefinition, defaults);
  }
  return out as GrpcClient<M>;
}

function methodFn(client: grpc.Client, m: AnyMethodDefinition, defaults: CallOptions): unknown {
  const serialize = (v: unknown) => Buffer.from(m.requestType.encode(v as never));
  const deserialize = (b: Buffer) => m.responseType.decode(b) as unknown;
  const setup = (opts: CallOptions = {}) => {
    const o = { ...defaults, ...opts, metadata: { ...defaults.metadata, ...opts.metadata } };
    const md = new grpc.Metadata();
    if (o.namespace) md.set(NAMESPACE_HEADER, o.namespace);
    if (o.lease) md.set(LEASE_HEADER, o.lease);
    for (const [k, v] of Object.entries(o.metadata)) md.set(k, v);
    const callOptions: grpc.CallOptions = {};
    if (o.deadline !== undefined) callOptions.deadline = typeof o.deadline === 'number' ? Date.now() + o.deadline : o.deadline;
    const watch = (call: { cancel(): void }) => {
      if (!o.signal) return;
      if (o.signal.aborted) call.cancel();
      else o.signal.addEventListener('abort', () => call.cancel(), { once: true });
    };
    return { md, callOptions, watch };
  };

  if (!m.requestStream && !m.responseStream) {
    return (request: unknown, opts?: CallOptions) =>
      new Promise((resolve, reject) => {
        const { md, callOptions, watch } = setup(opts);
        const call = client.makeUnaryRequest(m.path, serialize, deserialize, request, md, callOptions, (err, res) =>
          err ? reject(fromGrpcError(err)) : resolve(res),
        );
        watch(call);
      });
  }
  if (!m.requestStream) {
    return (request: unknown, opts?: CallOptions) => {
      const { md, callOptions, watch } = setup(opts);
      const call = client.makeServerStreamRequest(m.path, serialize, deserialize, request, md, callOptions);
      watch(call);
      return converting(call);
    };
  }
  if (!m.responseStream) {
    return async (requests: Iterable<unknown> | AsyncIterable<unknown>, opts?: CallOptions) => {
      const { md, callOptions, watch } = setup(opts);
      let call!: grpc.ClientWritableStream<unknown>;
      const done = new Promise((resolve, reject) => {
        call = client.makeClientStreamRequest(m.path, serialize, deserialize, md, callOptions, (err, res) =>
          err ? reject(fromGrpcError(err)) : resolve(res),
        );
      });
      watch(call);
      try {
        for await (const r of requests) {
          if (!call.write(r)) await new Promise((resolve) => call.once('drain', resolve));
        }
      } finally {
        call.end();
      }
      return done;
    };
  }
  return (opts?: CallOptions): BidiCall<unknown, unknown> => {
    const { md, callOptions, watch } = setup(opts);
    const call = client.makeBidiStreamRequest(m.path, serialize, deserialize, md, callOptions);
    watch(call);
    const responses = converting(call)[Symbol.asyncIterator]();
    return {
      send: (request) => new Promise<void>((resolve, reject) => call.write(request, (err?: Error | null) => (err ? reject(fromGrpcError(err)) : resolve()))),
      recv: async () => {
        const r = await responses.next();
        return r.done ? undefined : r.value;
      },
      end: () => call.end(),
      cancel: () => call.cancel(),
      [Symbol.asyncIterator]: () => responses,
    };
  };
}

/**
 * The stream's messages, with errors converted to BerthErrors. grpc-js ends the stream and then
 * emits 'error' (without destroying it), so an error emitted before iteration starts would
 * otherwise be lost (or, with no listener, crash the process): it is recorded here at once and
 * thrown after the last message.
 */
function converting(stream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>): AsyncGenerator<unknown, void, undefined> {
  let failure: unknown;
  stream.on('error', (err: unknown) => {
    failure ??= err;
  });
  return (async function* () {
    try {
      for await (const message of stream) yield message;
    } catch (err) {
      throw fromGrpcError(err);
    }
    if (failure !== undefined) throw fromGrpcError(failure);
  })();
}
