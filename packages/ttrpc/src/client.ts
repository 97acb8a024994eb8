import { createConnection, type Socket } from 'node:net';
import { ttrpc, type AnyMethodDefinition, type ServiceDefinition } from '@berth/api';
import {
  BerthError,
  canceled,
  deadlineExceeded,
  internal,
  permissionDenied,
  resourceExhausted,
  unavailable,
} from '@berth/errdefs';
import { FrameReader, MessageType, encodeFrame, type Frame } from './frame';
import { errorOfStatus, isOk } from './status';
import type { CallOptions, Client, ConnectOptions, TtrpcConnection } from './types';

/**
 * Connects to the ttrpc server on the unix socket `path`. `Unavailable` when nothing listens
 * there (no socket file, or nobody accepting), `PermissionDenied` when the socket may not be
 * opened, `DeadlineExceeded` after `opts.timeoutMs`.
 */
export function connect(path: string, opts: ConnectOptions = {}): Promise<TtrpcConnection> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            reject(deadlineExceeded(`ttrpc ${path}: connect: no connection after ${opts.timeoutMs} ms`));
          }, opts.timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(connectError(path, err));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(new ClientConnection(socket, path));
    });
  });
}

function connectError(path: string, err: NodeJS.ErrnoException): BerthError {
  const message = `ttrpc ${path}: connect: ${err.code ?? err.message}`;
  if (err.code === 'EACCES' || err.code === 'EPERM') return permissionDenied(message, { cause: err });
  // ENOENT, ECONNREFUSED (a stale socket file), ENOTSOCK, ...: nothing to talk to there.
  return unavailable(
    err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `ttrpc ${path}: nothing listens (${err.code})` : message,
    { cause: err },
  );
}

interface PendingCall {
  resolve(payload: Uint8Array): void;
  reject(err: BerthError): void;
  /** `/service/method`, for messages. */
  path: string;
}

/** The highest stream id; a connection that used them all takes no more calls. */
const MAX_STREAM_ID = 0xffffffff;

class ClientConnection implements TtrpcConnection {
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, PendingCall>();
  private nextStreamId = 1;
  /** Set once the connection is over (or going): why calls fail from then on. */
  private failure: BerthError | undefined;
  private lastError: Error | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly path: string,
  ) {
    // Idle connections must not keep the process alive; `track` refs while calls are pending.
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => (this.lastError = err));
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        const reason =
          this.failure ??
          unavailable(`ttrpc ${path}: connection closed${this.lastError ? ` (${this.lastError.message})` : ''}`, {
            cause: this.lastError,
          });
        this.failure = reason;
        for (const [streamId, call] of this.pending) this.settle(streamId, call, reason);
        resolve();
      });
    });
  }

  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    const path = `/${service}/${method}`;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (opts.signal?.aborted) return reject(canceled(`${path}: canceled`, { cause: opts.signal.reason }));
      if (this.nextStreamId > MAX_STREAM_ID) {
        return reject(resourceExhausted(`ttrpc ${this.path}: stream ids exhausted; open a new connection`));
      }
      let frame: Buffer;
      const streamId = this.nextStreamId;
      try {
        const data = ttrpc.Request.encode({
          service,
          method,
          payload,
          timeoutNano: opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? Math.round(opts.timeoutMs * 1e6) : 0,
          metadata: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
        });
        frame = encodeFrame({ streamId, type: MessageType.Request, flags: 0, data });
      } catch (err) {
        return reject(BerthError.isInstance(err) ? err : internal(`${path}: ${(err as Error).message}`, { cause: err }));
      }
      this.nextStreamId += 2;

      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.fail(streamId, canceled(`${path}: canceled`, { cause: opts.signal?.reason }));
      const done = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(streamId, {
        path,
        resolve: (p) => (done(), resolve(p)),
        reject: (e) => (done(), reject(e)),
      });
      if (this.pending.size === 1) this.socket.ref();
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(
          () => this.fail(streamId, deadlineExceeded(`${path}: deadline exceeded after ${opts.timeoutMs} ms`)),
          opts.timeoutMs,
        );
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // Node queues what the socket cannot take yet; calls wait for their answers anyway.
      this.socket.write(frame);
    });
  }

  close(): Promise<void> {
    if (!this.failure) {
      this.failure = canceled(`ttrpc ${this.path}: connection closed by the client`);
      this.socket.destroy();
    }
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.failure ??= unavailable(`ttrpc ${this.path}: ${(err as Error).message}; connection closed`, { cause: err });
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      // Data frames and requests from the server belong to streams, which this client does not open.
      if (frame.type === MessageType.Response) this.onResponse(frame);
    }
  }

  private onResponse(frame: Frame): void {
    const call = this.pending.get(frame.streamId);
    // No caller: it timed out or was canceled; the late answer is dropped.
    if (!call) return;
    let response: ttrpc.Response;
    try {
      response = ttrpc.Response.decode(frame.data);
    } catch (err) {
      return this.settle(frame.streamId, call, internal(`${call.path}: malformed response: ${(err as Error).message}`, { cause: err }));
    }
    this.settle(frame.streamId, call, isOk(response.status) ? response.payload : errorOfStatus(response.status!));
  }

  private fail(streamId: number, err: BerthError): void {
    const call = this.pending.get(streamId);
    if (call) this.settle(streamId, call, err);
  }

  private settle(streamId: number, call: PendingCall, outcome: Uint8Array | BerthError): void {
    this.pending.delete(streamId);
    if (this.pending.size === 0) this.socket.unref();
    if (outcome instanceof Uint8Array) call.resolve(outcome);
    else call.reject(outcome);
  }
}

/**
 * A typed client of `service` over `conn`: `createClient(conn, task.Task).state({ id })`.
 * Each method encodes its request with the service's codecs, calls, and decodes the response.
 */
export function createClient<S extends Record<string, AnyMethodDefinition>>(
  conn: TtrpcConnection,
  service: ServiceDefinition<S>,
): Client<S> {
  const client: Record<string, (init: unknown, opts?: CallOptions) => Promise<unknown>> = {};
  for (const [key, def] of Object.entries(service.methods)) {
    client[key] = async (init, opts) => {
      const payload = def.requestType.encode((init ?? {}) as never);
      return def.responseType.decode(await conn.call(service.name, def.name, payload, opts));
    };
  }
  return client as Client<S>;
}
