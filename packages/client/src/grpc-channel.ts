import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { H2Code, H2Session, type H2Stream } from './h2/session';
import { frameMessage, grpcTimeout, GrpcCode, GrpcStatusError, localStatus, MessageParser, statusOf, type CallStatus } from './grpc-frames';

/** Where a channel connects: a Unix socket, or TCP. */
export type ChannelTarget = { path: string } | { host: string; port: number };

/**
 * The target of an address: a Unix socket path (`/run/berth/berthd.sock`), `unix:///path` or
 * `unix:path`; or TCP, `host:port` or `dns:///host:port`. InvalidArgument-like TypeError otherwise.
 */
export function parseTarget(address: string): ChannelTarget {
  if (address.startsWith('unix://')) return { path: address.slice('unix://'.length) };
  if (address.startsWith('unix:')) return { path: address.slice('unix:'.length) };
  if (address.startsWith('/') || address.startsWith('.')) return { path: address };
  const hostPort = address.replace(/^dns:(\/\/[^/]*\/)?/, '');
  const m = /^(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(hostPort);
  if (!m) throw new TypeError(`not a berthd address: ${address} (a socket path, unix:///path or host:port)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Options of a channel. */
export interface ChannelOptions {
  /** The largest message sent or received (bytes); larger ones fail the call with RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
}

/** What a call sends with its request headers, besides gRPC's own. */
export interface CallHeaders {
  [name: string]: string;
}

/** The HTTP/2 window a channel opens for each call and for the whole connection (bytes). */
const STREAM_WINDOW = 1 << 20;
const SESSION_WINDOW = 16 << 20;

/**
 * One HTTP/2 connection to a gRPC server, made by the first call and made again by the first
 * call after it closed (the server restarted, or went away). Calls share it. While calls are in
 * flight it keeps the process alive; idle, it does not.
 */
export class GrpcChannel {
  readonly #target: ChannelTarget;
  readonly #options: ChannelOptions;
  #session: H2Session | undefined;
  #active = 0;
  #closed = false;

  constructor(target: ChannelTarget, options: ChannelOptions) {
    this.#target = target;
    this.#options = options;
  }

  /** Starts a call of `path` (`/package.Service/Method`). */
  call<Req, Res>(path: string, headers: CallHeaders, encode: (m: Req) => Uint8Array, decode: (b: Buffer) => Res, deadline?: Date): GrpcCall<Req, Res> {
    if (this.#closed) return GrpcCall.failed(localStatus(GrpcCode.UNAVAILABLE, 'channel closed'));
    const session = this.#open();
    const timeoutMs = deadline === undefined ? undefined : deadline.getTime() - Date.now();
    const stream = session.request([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', this.#authority],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...(timeoutMs === undefined ? [] : [['grpc-timeout', grpcTimeout(timeoutMs)] as [string, string]]),
      ...Object.entries(headers),
    ]);
    this.#active++;
    session.ref();
    stream.once('close', () => {
      if (--this.#active === 0 && !session.destroyed) session.unref();
    });
    return new GrpcCall(stream, encode, decode, this.#options.maxMessageBytes, () => session.lastError, timeoutMs);
  }

  /** Closes the connection: calls in flight finish, later calls fail with UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    this.#session?.close();
    this.#session = undefined;
  }

  get #authority(): string {
    const target = this.#target;
    return 'path' in target ? 'localhost' : `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  }

  #open(): H2Session {
    const current = this.#session;
    if (current && !current.closed) return current;
    const target = this.#target;
    const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
    const session = new H2Session(socket, { streamWindow: STREAM_WINDOW, connectionWindow: SESSION_WINDOW });
    // A server going away (GOAWAY) lets its calls finish; new ones open a new connection.
    const forget = () => {
      if (this.#session === session) this.#session = undefined;
    };
    session.once('goaway', forget);
    session.once('close', forget);
    this.#session = session;
    return session;
  }
}

/**
 * One call on a channel: messages are written with `write` (`end` half-closes), responses arrive
 * as 'data', and the call ends with 'end' (OK only) then 'status', or with 'error' (a
 * GrpcStatusError) then 'status'. `pause`/`resume` hold back reading (HTTP/2 flow control then
 * holds the server back). `cancel` ends it with CANCELLED on both sides. The same events and
 * methods as a grpc-js duplex call, which is what the rest of the client was written against.
 */
export class GrpcCall<Req, Res> extends EventEmitter {
  readonly #stream: H2Stream | undefined;
  readonly #encode: (m: Req) => Uint8Array;
  readonly #decode: (b: Buffer) => Res;
  readonly #parser: MessageParser;
  readonly #maxBytes: number;
  readonly #connectionError: () => Error | undefined;
  #status: CallStatus | undefined;
  #received: CallStatus | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** A call that failed before it started (the channel was closed). */
  static failed<Req, Res>(status: CallStatus): GrpcCall<Req, Res> {
    const call = new GrpcCall<Req, Res>(undefined, () => new Uint8Array(), () => undefined as Res, 0, () => undefined);
    process.nextTick(() => call.#finish(status));
    return call;
  }

  constructor(
    stream: H2Stream | undefined,
    encode: (m: Req) => Uint8Array,
    decode: (b: Buffer) => Res,
    maxBytes: number,
    connectionError: () => Error | undefined,
    timeoutMs?: number,
  ) {
    super();
    this.#stream = stream;
    this.#encode = encode;
    this.#decode = decode;
    this.#maxBytes = maxBytes;
    this.#parser = new MessageParser(maxBytes);
    this.#connectionError = connectionError;
    if (!stream) return;
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => this.#abort(localStatus(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.max(0, timeoutMs));
    }
    stream.on('response', (headers) => {
      const status = statusOf(headers);
      if (status) this.#received = status; // Trailers-Only: the status comes with the headers
      else if (headers[':status'] !== 200) this.#received = localStatus(GrpcCode.UNKNOWN, `unexpected HTTP status ${headers[':status']}`);
    });
    stream.on('data', (chunk: Buffer) => {
      if (this.#status) return;
      let messages: Buffer[];
      try {
        messages = this.#parser.push(chunk);
      } catch (err) {
        return this.#abort(statusFromError(err as GrpcStatusError)); // the parser throws only those
      }
      for (const bytes of messages) {
        let message: Res;
        try {
          message = this.#decode(bytes);
        } catch (err) {
          return this.#abort(localStatus(GrpcCode.INTERNAL, `response message parsing error: ${(err as Error).message}`));
        }
        this.emit('data', message);
        if (this.#status) return; // a listener cancelled the call
      }
    });
    stream.on('trailers', (trailers) => {
      this.#received = statusOf(trailers) ?? localStatus(GrpcCode.UNKNOWN, 'no status received');
    });
    // The outcome is decided at 'end' or 'close' (a failed connection is the session's lastError).
    stream.on('error', () => {});
    stream.on('drain', () => this.emit('drain'));
    // The server's side ended (after its last message was read): the call ends with the status
    // it sent, even while our side is still open (a Write the server refused), which is then
    // closed too.
    stream.on('end', () => {
      let status = this.#received ?? localStatus(GrpcCode.UNKNOWN, 'no status received');
      if (status.code === GrpcCode.OK && this.#parser.partial) status = localStatus(GrpcCode.INTERNAL, 'the response ended inside a message');
      this.#finish(status);
      // Our side still open (a Write the server refused): close it too, once the stream had its say.
      process.nextTick(() => {
        if (!stream.closed) stream.close(H2Code.NO_ERROR);
      });
    });
    stream.on('close', () => this.#finish(this.#closedWithoutStatus(stream)));
  }

  /** Sends one message; false when the caller should wait for 'drain'. */
  write(message: Req, callback?: (err?: Error | null) => void): boolean {
    if (!this.#stream || this.#status || this.#stream.writableEnded) {
      if (callback) process.nextTick(callback);
      return false;
    }
    const bytes = this.#encode(message);
    if (bytes.byteLength > this.#maxBytes) {
      this.#abort(localStatus(GrpcCode.RESOURCE_EXHAUSTED, `sent message larger than max (${bytes.byteLength} vs. ${this.#maxBytes})`));
      if (callback) process.nextTick(callback);
      return false;
    }
    return this.#stream.write(frameMessage(bytes), callback);
  }

  /** Half-closes the call (the server sees the end of the requests), optionally after one last message. */
  end(message?: Req): void {
    if (message !== undefined) this.write(message);
    if (this.#stream && !this.#stream.writableEnded && !this.#status) this.#stream.end();
  }

  /** Cancels the call: the server sees it cancelled; the call ends with CANCELLED (unless it had ended). */
  cancel(): void {
    this.#abort(localStatus(GrpcCode.CANCELLED, 'Cancelled on client'));
  }

  /** Stops reading responses until `resume`. */
  pause(): this {
    this.#stream?.pause();
    return this;
  }

  resume(): this {
    this.#stream?.resume();
    return this;
  }

  #abort(status: CallStatus): void {
    if (this.#status) return;
    this.#finish(status);
    if (this.#stream && !this.#stream.closed) this.#stream.close(H2Code.CANCEL);
  }

  #closedWithoutStatus(stream: H2Stream): CallStatus {
    const connection = this.#connectionError();
    if (connection) return localStatus(GrpcCode.UNAVAILABLE, `No connection established. Last error: ${connection.message}`);
    if (stream.rstCode === H2Code.REFUSED_STREAM) return localStatus(GrpcCode.UNAVAILABLE, 'the server refused the stream');
    if (stream.rstCode === H2Code.CANCEL) return localStatus(GrpcCode.CANCELLED, 'the call was cancelled');
    if (stream.rstCode !== undefined && stream.rstCode !== H2Code.NO_ERROR) return localStatus(GrpcCode.INTERNAL, `received RST_STREAM with code ${stream.rstCode}`);
    return localStatus(GrpcCode.UNAVAILABLE, 'the connection closed before the call ended');
  }

  #finish(status: CallStatus): void {
    if (this.#status) return;
    this.#status = status;
    if (this.#timer) clearTimeout(this.#timer);
    if (status.code === GrpcCode.OK) this.emit('end');
    else this.emit('error', new GrpcStatusError(status));
    this.emit('status', status);
  }
}

function statusFromError(err: GrpcStatusError): CallStatus {
  return { code: err.code, details: err.details, metadata: err.metadata };
}
