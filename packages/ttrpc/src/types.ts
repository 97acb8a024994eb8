import type { AnyMethodDefinition, MessageInit, MethodDefinition, ServiceDefinition } from '@berth/api';

/** What a server method gets besides its request. */
export interface CallContext {
  /** The caller's metadata: each key with all the values sent for it, in order. */
  metadata: Record<string, string[]>;
  /**
   * Aborted when the call no longer has a caller: the connection closed (reason `Canceled`),
   * the server is closing, or the caller's timeout passed (reason `DeadlineExceeded`). A
   * long-blocking method (Wait) should stop waiting then; its result is dropped either way.
   */
  signal: AbortSignal;
}

/**
 * The implementation of a service whose method map is `S` (`(typeof task.Task)['methods']`):
 * one async function per rpc, under the same lowerCamel key. A method resolves with the
 * response (partial; missing fields are defaults) or throws: a `BerthError` travels as its
 * kind's code with its message, anything else as `Unknown` with its message.
 */
export type ServiceImpl<S extends Record<string, AnyMethodDefinition>> = {
  [K in keyof S]: S[K] extends MethodDefinition<infer Req, infer Res>
    ? (request: Req, ctx: CallContext) => Promise<MessageInit<Res>>
    : never;
};

/**
 * A ttrpc server on a unix socket. Requests are handled concurrently (a blocking Wait does not
 * hold back other calls on its connection) and answered in completion order. An unknown
 * service or method is answered `Unimplemented`; so are streams, which this server does not
 * support. A connection that sends an oversized frame (> 4 MiB) or an unknown frame type is
 * closed; the server logs nothing.
 */
export interface TtrpcServer {
  /**
   * Serves `service` with `impl`. Throws `AlreadyExists` when the service (by proto name) is
   * registered already. May be called before or after `listen`.
   */
  register<S extends Record<string, AnyMethodDefinition>>(service: ServiceDefinition<S>, impl: ServiceImpl<S>): void;
  /**
   * Listens on the unix socket `path`. A socket file left there by a dead server (nothing
   * answers on it) is removed first; `AlreadyExists` when a server answers there or the path is
   * not a socket. `FailedPrecondition` when this server listens already or was closed.
   */
  listen(path: string): Promise<void>;
  /**
   * Stops accepting, closes every connection (aborting the signals of calls in flight, whose
   * results are dropped) and resolves once the listening socket is closed. Idempotent.
   */
  close(): Promise<void>;
}

/** Options of one call. */
export interface CallOptions {
  /**
   * Fail with `DeadlineExceeded` after this long; the server learns the deadline too
   * (`timeout_nano`). Default: no deadline.
   */
  timeoutMs?: number;
  /** Aborting fails the call with `Canceled` (the server is not told; its answer is dropped). */
  signal?: AbortSignal;
  /** Sent as the request's metadata. */
  metadata?: Record<string, string>;
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** Fail with `DeadlineExceeded` when the connection is not up after this long. Default: none. */
  timeoutMs?: number;
}

/**
 * A client connection to a ttrpc server. Calls are multiplexed on it (each on its own odd
 * stream id) and may complete in any order.
 *
 * The socket keeps the process alive only while calls are pending: an idle connection does not
 * stop a CLI from exiting.
 */
export interface TtrpcConnection {
  /**
   * Calls `service`/`method` (proto names: `containerd.task.v2.Task`, `State`) with an encoded
   * request and resolves with the encoded response. Rejects with a `BerthError`: the kind the
   * server's status maps to, with the server's message; `Unavailable` when the connection is
   * (or gets) lost before the answer; `DeadlineExceeded` on `timeoutMs`; `Canceled` on `signal`
   * or `close()`; `ResourceExhausted` when the request is over the 4 MiB frame limit.
   */
  call(service: string, method: string, payload: Uint8Array, opts?: CallOptions): Promise<Uint8Array>;
  /** Closes the connection; pending calls fail with `Canceled`. Resolves as `closed` does. */
  close(): Promise<void>;
  /** Resolves once the connection is closed, from either side. Never rejects. */
  readonly closed: Promise<void>;
}

/**
 * A typed client of a service whose method map is `S`: one method per rpc under the same
 * lowerCamel key, taking a partial request and resolving with the full response
 * (`client.create({ id, bundle }) → Promise<CreateTaskResponse>`). Errors as `TtrpcConnection.call`;
 * a request of the wrong shape rejects with `InvalidArgument` before anything is sent.
 */
export type Client<S extends Record<string, AnyMethodDefinition>> = {
  [K in keyof S]: S[K] extends MethodDefinition<infer Req, infer Res>
    ? (init: MessageInit<Req>, opts?: CallOptions) => Promise<Res>
    : never;
};
