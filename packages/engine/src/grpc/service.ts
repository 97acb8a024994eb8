import * as grpc from '@grpc/grpc-js';
import type { AnyMethodDefinition, MessageCodec, MessageInit, ServiceDefinition } from '@berth/api';
import { toGrpcStatus } from '@berth/errdefs';
import { callContext, type CallContext } from './context';

/** How one rpc is served; the kind must match the method's streaming flags. */
export type MethodImpl<Req, Res> =
  | { kind: 'unary'; handle(request: Req, ctx: CallContext): Promise<MessageInit<Res>> }
  | { kind: 'serverStream'; handle(request: Req, ctx: CallContext, send: (response: MessageInit<Res>) => Promise<void>): Promise<void> }
  | { kind: 'clientStream'; handle(requests: AsyncIterable<Req>, ctx: CallContext): Promise<MessageInit<Res>> }
  | { kind: 'bidi'; handle(requests: AsyncIterable<Req>, ctx: CallContext, send: (response: MessageInit<Res>) => Promise<void>): Promise<void> };

type ImplOf<D> = D extends { requestType: MessageCodec<infer Req>; responseType: MessageCodec<infer Res> } ? MethodImpl<Req, Res> : never;

/** An implementation of every rpc of a service. */
export type GrpcServiceImpl<M extends Record<string, AnyMethodDefinition>> = { [K in keyof M]: ImplOf<M[K]> };

export const unary = <Req, Res>(handle: (request: Req, ctx: CallContext) => Promise<MessageInit<Res>>): MethodImpl<Req, Res> => ({ kind: 'unary', handle });
export const serverStream = <Req, Res>(
  handle: (request: Req, ctx: CallContext, send: (response: MessageInit<Res>) => Promise<void>) => Promise<void>,
): MethodImpl<Req, Res> => ({ kind: 'serverStream', handle });
export const bidi = <Req, Res>(
  handle: (requests: AsyncIterable<Req>, ctx: CallContext, send: (response: MessageInit<Res>) => Promise<void>) => Promise<void>,
): MethodImpl<Req, Res> => ({ kind: 'bidi', handle });
export const clientStream = <Req, Res>(handle: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<MessageInit<Res>>): MethodImpl<Req, Res> => ({
  kind: 'clientStream',
  handle,
});

interface StreamFlags {
  requestStream?: boolean;
  responseStream?: boolean;
}

function kindOfMethod(m: AnyMethodDefinition): MethodImpl<unknown, unknown>['kind'] {
  const f = m as StreamFlags;
  if (f.requestStream && f.responseStream) return 'bidi';
  if (f.requestStream) return 'clientStream';
  if (f.responseStream) return 'serverStream';
  return 'unary';
}

/** Sees every call when it ends: its method path, how long the handler took, and its error if it failed. */
export type CallObserver = (path: string, ms: number, error?: unknown) => void;

/**
 * Adds `service` to a grpc-js server with `impl`: messages are (de)serialized with the codecs
 * generated from proto/, errors become gRPC statuses through @berth/errdefs (so NotFound
 * stays NotFound on the wire), and every handler gets a CallContext. Throws at registration
 * when an implementation's kind does not match its method's streaming flags.
 */
export function addService<M extends Record<string, AnyMethodDefinition>>(
  server: grpc.Server,
  service: ServiceDefinition<M>,
  impl: GrpcServiceImpl<M>,
  observe?: CallObserver,
): void {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const handlers: Record<string, grpc.UntypedHandleCall> = {};
  for (const [key, method] of Object.entries(service.methods)) {
    const m = method as AnyMethodDefinition;
    const kind = kindOfMethod(m);
    const mi = impl[key as keyof M] as MethodImpl<unknown, unknown>;
    if (mi.kind !== kind) throw new Error(`${m.path}: implemented as ${mi.kind}, but the method is ${kind}`);
    definition[key] = {
      path: m.path,
      requestStream: kind === 'bidi' || kind === 'clientStream',
      responseStream: kind === 'bidi' || kind === 'serverStream',
      requestSerialize: (v: unknown) => Buffer.from((m.requestType as MessageCodec<unknown>).encode(v as never)),
      requestDeserialize: (b: Buffer) => m.requestType.decode(b),
      responseSerialize: (v: unknown) => Buffer.from((m.responseType as MessageCodec<unknown>).encode(v as never)),
      responseDeserialize: (b: Buffer) => m.responseType.decode(b),
      originalName: key,
    };
    handlers[key] = handlerFor(mi, observe && timed(m.path, observe));
  }
  server.addService(definition as grpc.ServiceDefinition, handlers);
}

/**
 * The call's cancellation as an AbortSignal, made only if the handler asks for it (`get`), and
 * no longer watched once the handler has settled (`done`).
 */
function cancellationOf(call: { on(event: 'cancelled', f: () => void): unknown; off(event: 'cancelled', f: () => void): unknown; cancelled?: boolean }): {
  get: () => AbortSignal;
  done: () => void;
} {
  let ac: AbortController | undefined;
  const abort = () => ac?.abort();
  return {
    get() {
      if (!ac) {
        ac = new AbortController();
        if (call.cancelled) ac.abort();
        else call.on('cancelled', abort);
      }
      return ac.signal;
    },
    done() {
      if (ac) call.off('cancelled', abort);
    },
  };
}

/** Wraps a handler's promise so that `observe` sees when it settles. */
function timed(path: string, observe: CallObserver): <T>(p: Promise<T>) => Promise<T> {
  return (p) => {
    const start = performance.now();
    return p.then(
      (v) => (observe(path, performance.now() - start), v),
      (err: unknown) => {
        observe(path, performance.now() - start, err);
        throw err;
      },
    );
  };
}

function handlerFor(mi: MethodImpl<unknown, unknown>, wrap: <T>(p: Promise<T>) => Promise<T> = (p) => p): grpc.UntypedHandleCall {
  switch (mi.kind) {
    case 'unary':
      return ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const cancel = cancellationOf(call);
        const ctx = callContext(call.metadata, cancel.get);
        wrap(mi.handle(call.request, ctx)).finally(cancel.done).then(
          (res) => callback(null, res),
          (err: unknown) => callback(toGrpcStatus(err)),
        );
      }) as grpc.handleUnaryCall<unknown, unknown>;
    case 'serverStream':
      return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        const cancel = cancellationOf(call);
        const ctx = callContext(call.metadata, cancel.get);
        wrap(mi.handle(call.request, ctx, (res) => write(call, res))).finally(cancel.done).then(
          () => call.end(),
          // grpc-js sends a streaming call's status on 'error'; destroy() would send none.
          (err: unknown) => call.emit('error', toGrpcStatus(err)),
        );
      }) as grpc.handleServerStreamingCall<unknown, unknown>;
    case 'clientStream':
      return ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const cancel = cancellationOf(call);
        const ctx = callContext(call.metadata, cancel.get);
        wrap(mi.handle(call.iterator({ destroyOnReturn: false }) as AsyncIterable<unknown>, ctx)).finally(cancel.done).then(
          (res) => callback(null, res),
          (err: unknown) => callback(toGrpcStatus(err)),
        );
      }) as grpc.handleClientStreamingCall<unknown, unknown>;
    case 'bidi':
      return ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const cancel = cancellationOf(call);
        const ctx = callContext(call.metadata, cancel.get);
        // Leaving a `for await` over the call itself would destroy it before the final status.
        const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterable<unknown>;
        wrap(mi.handle(requests, ctx, (res) => write(call, res))).finally(cancel.done).then(
          () => call.end(),
          (err: unknown) => call.emit('error', toGrpcStatus(err)),
        );
      }) as grpc.handleBidiStreamingCall<unknown, unknown>;
  }
}

/** Writes one message, waiting for 'drain' when the stream's buffer is full (backpressure). */
function write(stream: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, message: unknown): Promise<void> {
  if (stream.write(message)) return Promise.resolve();
  return new Promise((resolve) => stream.once('drain', () => resolve()));
}
