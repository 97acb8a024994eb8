import { protobuf, streamingService } from '@berth/api';
import { invalidArgument } from '@berth/errdefs';
import { bidi, type GrpcServiceImpl } from '../grpc/service';
import { anyTypeName } from '../transfer/any';
import type { ClientStream, StreamManager } from '../transfer/streams';

const STREAM_INIT = 'containerd.services.streaming.v1.StreamInit';

/**
 * containerd.services.streaming.v1.Streaming (containerd 2): the client's first message is a
 * StreamInit Any naming the stream (InvalidArgument otherwise; AlreadyExists for an id open in
 * the namespace); the server answers with an Empty Any and registers the stream in `streams`
 * until the client ends or cancels it, or the server's user closes it (the call then ends OK).
 * Further client messages are queued for `recv`.
 */
export function streamingImpl(streams: StreamManager): GrpcServiceImpl<(typeof streamingService.Streaming)['methods']> {
  return {
    stream: bidi(async (requests, call, send) => {
      const ns = call.namespace();
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done) return;
      if (anyTypeName(first.value.typeUrl) !== STREAM_INIT) throw invalidArgument(`stream: first message must be ${STREAM_INIT}, got ${JSON.stringify(first.value.typeUrl)}`);
      const { id } = streamingService.StreamInit.decode(first.value.value);
      if (!id) throw invalidArgument('stream id must not be empty');

      const queue: protobuf.Any[] = [];
      const waiters: Array<(m: protobuf.Any | undefined) => void> = [];
      let ended = false;
      let closeStream!: () => void;
      const closed = new Promise<void>((resolve) => (closeStream = resolve));
      const stream: ClientStream = {
        id,
        async send(message) {
          if (ended) throw invalidArgument(`stream "${id}": closed`);
          await send(message);
        },
        async recv(signal) {
          if (queue.length > 0) return queue.shift();
          if (ended) return undefined;
          return new Promise<protobuf.Any | undefined>((resolve, reject) => {
            const onAbort = (): void => reject(signal!.reason);
            signal?.addEventListener('abort', onAbort, { once: true });
            waiters.push((m) => {
              signal?.removeEventListener('abort', onAbort);
              resolve(m);
            });
          });
        },
        close() {
          ended = true;
          closeStream();
        },
        closed,
      };
      const unregister = streams.register(ns, stream);
      try {
        await send({ typeUrl: 'google.protobuf.Empty', value: protobuf.Empty.encode({}) });
        const reading = (async () => {
          for (let r = await it.next(); !r.done; r = await it.next()) {
            const waiter = waiters.shift();
            if (waiter) waiter(r.value);
            else queue.push(r.value);
          }
        })();
        await Promise.race([closed, reading.catch(() => {}), new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true }))]);
      } finally {
        ended = true;
        closeStream();
        unregister();
        for (const w of waiters.splice(0)) w(undefined);
      }
    }),
  };
}
