import { lstat, unlink } from 'node:fs/promises';
import { createConnection, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { ttrpc, type AnyMethodDefinition, type MessageInit, type ServiceDefinition } from '@berth/api';
import {
  BerthError,
  alreadyExists,
  canceled,
  deadlineExceeded,
  failedPrecondition,
  internal,
  invalidArgument,
  notImplemented,
  permissionDenied,
  resourceExhausted,
  unavailable,
} from '@berth/errdefs';
import { Flags, FrameReader, MAX_DATA_LENGTH, MessageType, encodeFrame, type Frame } from './frame';
import { statusOfError } from './status';
import type { CallContext, ServiceImpl, TtrpcServer } from './types';

type Handler = (request: unknown, ctx: CallContext) => Promise<MessageInit<unknown>>;

interface RegisteredMethod {
  def: AnyMethodDefinition;
  handler: Handler;
}

/** Creates a ttrpc server; register services, then `listen`. */
export function createServer(): TtrpcServer {
  return new UnixSocketServer();
}

class UnixSocketServer implements TtrpcServer {
  /** `service/method` (proto names) → definition and implementation. */
  private readonly methods = new Map<string, RegisteredMethod>();
  private readonly services = new Set<string>();
  private readonly connections = new Set<ServerConnection>();
  private server: Server | undefined;
  private closing: Promise<void> | undefined;

  register<S extends Record<string, AnyMethodDefinition>>(service: ServiceDefinition<S>, impl: ServiceImpl<S>): void {
    if (this.services.has(service.name)) throw alreadyExists(`ttrpc service ${service.name}: already registered`);
    this.services.add(service.name);
    const handlers = impl as unknown as Record<string, Handler | undefined>;
    for (const [key, def] of Object.entries(service.methods)) {
      // A method the implementation lacks (possible from untyped code) stays unimplemented.
      const handler = handlers[key];
      if (typeof handler === 'function') this.methods.set(`${service.name}/${def.name}`, { def, handler: handler.bind(impl) });
    }
  }

  async listen(path: string): Promise<void> {
    if (this.closing) throw failedPrecondition(`ttrpc server: closed`);
    if (this.server) throw failedPrecondition(`ttrpc server: already listening`);
    const server = createNetServer((socket) => this.accept(socket));
    this.server = server;
    try {
      await removeStaleSocket(path);
      if (this.closing) throw failedPrecondition(`ttrpc server: closed`);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.server = undefined;
      throw listenError(path, err);
    }
    // Accept errors (EMFILE) surface here; the server keeps listening and logs nothing.
    server.on('error', () => {});
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const conn of this.connections) conn.destroy();
      if (!this.server?.listening) return resolve();
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  /** The method to run, or the `NotImplemented` error to answer with. */
  private lookup(service: string, method: string): RegisteredMethod | BerthError {
    const found = this.methods.get(`${service}/${method}`);
    if (found) return found;
    if (!this.services.has(service)) return notImplemented(`ttrpc service ${service}: not implemented`);
    return notImplemented(`ttrpc method /${service}/${method}: not implemented`);
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(socket, (service, method) => this.lookup(service, method));
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }
}

/**
 * One accepted connection: reads frames, runs each request concurrently and writes each
 * response when it is ready, tagged with its stream id.
 */
class ServerConnection {
  private readonly reader = new FrameReader();
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly lookup: (service: string, method: string) => RegisteredMethod | BerthError,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // 'close' follows every error; nothing to log.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const controller of this.inFlight) controller.abort(canceled('ttrpc: connection closed'));
    });
    // Backpressure: while the peer does not read our responses, stop reading its requests.
    socket.on('drain', () => socket.resume());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch {
      // Oversized frame: the stream is unrecoverable, as containerd's ttrpc treats it.
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      switch (frame.type) {
        case MessageType.Request:
          void this.handle(frame).catch(() => this.socket.destroy());
          break;
        case MessageType.Data:
          this.respondError(frame.streamId, notImplemented(`ttrpc stream ${frame.streamId}: streams are not supported`));
          break;
        default:
          // A response or an unknown type from a client: not the protocol we speak.
          this.socket.destroy();
          return;
      }
    }
  }

  private async handle(frame: Frame): Promise<void> {
    const { streamId } = frame;
    if (streamId % 2 === 0) {
      return this.respondError(streamId, invalidArgument(`ttrpc stream ${streamId}: client stream ids must be odd`));
    }
    if (frame.flags & Flags.RemoteOpen) {
      return this.respondError(streamId, notImplemented(`ttrpc stream ${streamId}: streams are not supported`));
    }
    let req: ttrpc.Request;
    try {
      req = ttrpc.Request.decode(frame.data);
    } catch (err) {
      return this.respondError(streamId, err);
    }
    const method = this.lookup(req.service, req.method);
    if (BerthError.isInstance(method)) return this.respondError(streamId, method);

    const controller = new AbortController();
    this.inFlight.add(controller);
    const deadline = (): void => controller.abort(deadlineExceeded(`${method.def.path}: deadline exceeded`));
    const timer = req.timeoutNano > 0 ? setTimeout(deadline, timeoutMs(req.timeoutNano)) : undefined;
    try {
      const request = method.def.requestType.decode(req.payload);
      const ctx: CallContext = { metadata: metadataOf(req.metadata), signal: controller.signal };
      const result = await method.handler(request, ctx);
      let payload: Uint8Array;
      try {
        payload = method.def.responseType.encode(result as never);
      } catch (err) {
        throw internal(`${method.def.path}: encode response: ${(err as Error).message}`, { cause: err });
      }
      this.respond(streamId, { payload });
    } catch (err) {
      this.respondError(streamId, err);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  private respondError(streamId: number, err: unknown): void {
    this.respond(streamId, { status: statusOfError(err) });
  }

  private respond(streamId: number, response: MessageInit<ttrpc.Response>): void {
    if (this.closed || this.socket.destroyed) return;
    let data = ttrpc.Response.encode(response);
    if (data.length > MAX_DATA_LENGTH) {
      data = ttrpc.Response.encode({
        status: statusOfError(
          resourceExhausted(`ttrpc stream ${streamId}: response of ${data.length} bytes exceeds the ${MAX_DATA_LENGTH}-byte limit`),
        ),
      });
    }
    if (!this.socket.write(encodeFrame({ streamId, type: MessageType.Response, flags: 0, data }))) this.socket.pause();
  }
}

function metadataOf(pairs: ttrpc.KeyValue[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { key, value } of pairs) (out[key] ??= []).push(value);
  return out;
}

/** setTimeout's limit is 2^31-1 ms; a longer deadline is as good as none. */
function timeoutMs(nanos: number): number {
  return Math.min(Math.ceil(nanos / 1e6), 2 ** 31 - 1);
}

/**
 * Removes a socket file nobody answers on (left by a server that died). Leaves anything else
 * alone: a live server's socket or a non-socket file make `listen` fail.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw alreadyExists(`ttrpc ${path}: exists and is not a socket`);
  const answered = await new Promise<boolean>((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answered) throw alreadyExists(`ttrpc ${path}: another server listens there`);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

function listenError(path: string, err: unknown): BerthError {
  if (BerthError.isInstance(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const message = `ttrpc ${path}: listen: ${(err as Error).message}`;
  if (code === 'EADDRINUSE') return alreadyExists(message, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return permissionDenied(message, { cause: err });
  return unavailable(message, { cause: err });
}
