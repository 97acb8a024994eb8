import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderField } from './hpack';

/**
 * A client HTTP/2 connection (RFC 9113) with what gRPC uses of it: streams of HEADERS and DATA
 * in both directions, trailers, RST_STREAM, flow control both ways, SETTINGS, PING and GOAWAY.
 * No server push (disabled in our SETTINGS), no priorities, no TLS: berthd listens on a Unix
 * socket or plain TCP. Node's own `http2` does all this and more, but loading it costs a short
 * command ~9 ms; this is the part a gRPC client needs.
 */

const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const Setting = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5 } as const;

/** HTTP/2 error codes (RST_STREAM, GOAWAY). */
export const H2Code = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DEFAULT_WINDOW = 65535;
const DEFAULT_MAX_FRAME = 16384;
/** Bytes a stream queues for sending before `write` asks the caller to wait for 'drain'. */
const WRITE_HIGH_WATER = 64 << 10;

/** Response headers or trailers: lower-case names; `:status` is a number, as Node's http2 gives it. */
export type H2Headers = Record<string, string | number>;

/** Options of a session. */
export interface H2SessionOptions {
  /** The window each stream opens to the server (our SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow: number;
  /** The connection's receive window. */
  connectionWindow: number;
}

function frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  out.set(payload, 9);
  return out;
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment & 0x7fffffff, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/**
 * One connection. Streams are made by `request`; the connection ends when the socket does
 * ('close'), after `close()` once its streams are done, or at `destroy()`. Socket errors are
 * `lastError`, and every open stream fails with it as the `cause` of its 'error'.
 */
export class H2Session extends EventEmitter {
  readonly #socket: Socket;
  readonly #options: H2SessionOptions;
  readonly #streams = new Map<number, H2Stream>();
  readonly #decoder = new HpackDecoder();
  #nextId = 1;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #sendWindow = DEFAULT_WINDOW;
  #received = 0;
  #pending: Buffer = Buffer.alloc(0);
  #headerBlock: { streamId: number; endStream: boolean; parts: Buffer[] } | undefined;
  #closing = false;
  #goaway = false;
  /** Frames made in this tick, written together at its end (one write for the calls a command makes at once). */
  #out: Buffer[] = [];
  #afterSend: (() => void)[] = [];
  destroyed = false;
  lastError: Error | undefined;

  constructor(socket: Socket, options: H2SessionOptions) {
    super();
    this.#socket = socket;
    this.#options = options;
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(Setting.ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(options.streamWindow, 8);
    socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, settings), windowUpdate(0, options.connectionWindow - DEFAULT_WINDOW)]));
    socket.on('data', (chunk: Buffer) => this.#onBytes(chunk));
    socket.on('error', (err: Error) => {
      this.lastError ??= err;
    });
    socket.on('close', () => this.#teardown());
  }

  /** True once no new stream can be made on it (closing, told to go away, or gone). */
  get closed(): boolean {
    return this.#closing || this.#goaway || this.destroyed;
  }

  /** Opens a stream with a request header block (no END_STREAM: the body follows). */
  request(fields: HeaderField[]): H2Stream {
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new H2Stream(this, id, this.#peerInitialWindow, this.#options.streamWindow);
    this.#streams.set(id, stream);
    if (this.destroyed) {
      process.nextTick(() => stream._fail(this.lastError ?? new Error('the connection is closed')));
      return stream;
    }
    const block = encodeHeaders(fields);
    const frames: Buffer[] = [];
    for (let at = 0; at === 0 || at < block.length; at += this.#peerMaxFrame) {
      const last = at + this.#peerMaxFrame >= block.length;
      frames.push(frame(at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, id, block.subarray(at, at + this.#peerMaxFrame)));
    }
    for (const f of frames) this.#send(f);
    return stream;
  }

  /** No new streams; the connection ends once the open ones are done. */
  close(): void {
    this.#closing = true;
    if (this.#streams.size === 0) this.#end();
  }

  /** Ends the connection now; open streams fail. */
  destroy(err?: Error): void {
    if (err) this.lastError ??= err;
    this.#socket.destroy();
    this.#teardown();
  }

  /** Keeps the process alive while the connection is open (the default), or not. */
  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  // --- used by streams ---

  /** Sends what the stream has queued, as far as the flow-control windows allow. */
  _flush(stream: H2Stream): void {
    if (this.destroyed) return;
    const out: Buffer[] = [];
    const callbacks: (() => void)[] = [];
    for (;;) {
      const chunk = stream._nextChunk(Math.min(this.#sendWindow, this.#peerMaxFrame));
      if (!chunk) break;
      this.#sendWindow -= chunk.data.length;
      out.push(frame(FrameType.DATA, chunk.end ? Flag.END_STREAM : 0, stream.id, chunk.data));
      if (chunk.done) callbacks.push(chunk.done);
    }
    if (out.length === 0) return;
    for (const f of out) this.#send(f);
    if (callbacks.length > 0) this.#afterSend.push(...callbacks);
    stream._afterFlush();
  }

  _reset(stream: H2Stream, code: number): void {
    if (this.destroyed) return;
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(code, 0);
    this.#send(frame(FrameType.RST_STREAM, 0, stream.id, payload));
  }

  /** The stream consumed `n` more bytes: opens its window by as much (WINDOW_UPDATE). */
  _consumed(stream: H2Stream, n: number): void {
    if (this.destroyed || n === 0) return;
    this.#send(windowUpdate(stream.id, n));
  }

  _done(stream: H2Stream): void {
    this.#streams.delete(stream.id);
    if (this.#closing && this.#streams.size === 0) this.#end();
  }

  #send(f: Buffer): void {
    if (this.#out.length === 0) process.nextTick(() => this.#flushOut());
    this.#out.push(f);
  }

  #flushOut(): void {
    if (this.#out.length === 0) return;
    const out = this.#out;
    const callbacks = this.#afterSend;
    this.#out = [];
    this.#afterSend = [];
    if (this.destroyed) return;
    this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out), callbacks.length === 0 ? undefined : () => {
      for (const cb of callbacks) cb();
    });
  }

  // --- reading ---

  #onBytes(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    try {
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const streamId = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + length);
        buf = buf.subarray(9 + length);
        this.#onFrame(type, flags, streamId, payload);
        if (this.destroyed) return;
      }
    } catch (err) {
      this.#protocolError((err as Error).message, err instanceof HpackError ? H2Code.COMPRESSION_ERROR : H2Code.PROTOCOL_ERROR);
      return;
    }
    this.#pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  #onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.#headerBlock && type !== FrameType.CONTINUATION) throw new Error('HTTP/2: expected CONTINUATION');
    switch (type) {
      case FrameType.DATA: {
        this.#received += payload.length;
        if (this.#received >= this.#options.connectionWindow / 2) {
          this.#send(windowUpdate(0, this.#received));
          this.#received = 0;
        }
        const data = flags & Flag.PADDED ? unpad(payload) : payload;
        this.#streams.get(streamId)?._onData(data, payload.length, (flags & Flag.END_STREAM) !== 0);
        return;
      }
      case FrameType.HEADERS: {
        let fragment = flags & Flag.PADDED ? unpad(payload) : payload;
        if (flags & Flag.PRIORITY) fragment = fragment.subarray(5);
        this.#headerBlock = { streamId, endStream: (flags & Flag.END_STREAM) !== 0, parts: [fragment] };
        if (flags & Flag.END_HEADERS) this.#endHeaders();
        return;
      }
      case FrameType.CONTINUATION:
        if (!this.#headerBlock || this.#headerBlock.streamId !== streamId) throw new Error('HTTP/2: unexpected CONTINUATION');
        this.#headerBlock.parts.push(payload);
        if (flags & Flag.END_HEADERS) this.#endHeaders();
        return;
      case FrameType.RST_STREAM:
        this.#streams.get(streamId)?._onReset(payload.readUInt32BE(0));
        return;
      case FrameType.SETTINGS:
        if (flags & Flag.ACK) return;
        for (let at = 0; at + 6 <= payload.length; at += 6) this.#applySetting(payload.readUInt16BE(at), payload.readUInt32BE(at + 2));
        this.#send(frame(FrameType.SETTINGS, Flag.ACK, 0));
        for (const s of this.#streams.values()) this._flush(s);
        return;
      case FrameType.PING:
        if (!(flags & Flag.ACK)) this.#send(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY: {
        const last = payload.readUInt32BE(0) & 0x7fffffff;
        this.#goaway = true;
        for (const s of [...this.#streams.values()]) if (s.id > last) s._onReset(H2Code.REFUSED_STREAM);
        this.emit('goaway');
        if (this.#streams.size === 0) this.#end();
        return;
      }
      case FrameType.WINDOW_UPDATE: {
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) {
          this.#sendWindow += increment;
          for (const s of this.#streams.values()) this._flush(s);
        } else {
          const s = this.#streams.get(streamId);
          if (s) {
            s._grow(increment);
            this._flush(s);
          }
        }
        return;
      }
      case FrameType.PUSH_PROMISE:
        throw new Error('HTTP/2: PUSH_PROMISE with push disabled');
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  #endHeaders(): void {
    const { streamId, endStream, parts } = this.#headerBlock!;
    this.#headerBlock = undefined;
    // Decoded even for a stream we no longer know: the table must follow every block.
    const fields = this.#decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    const headers: H2Headers = {};
    for (const [name, value] of fields) {
      if (name === ':status') headers[name] = Number(value);
      else headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    this.#streams.get(streamId)?._onHeaders(headers, endStream);
  }

  #applySetting(id: number, value: number): void {
    if (id === Setting.INITIAL_WINDOW_SIZE) {
      const delta = value - this.#peerInitialWindow;
      this.#peerInitialWindow = value;
      for (const s of this.#streams.values()) s._grow(delta);
    } else if (id === Setting.MAX_FRAME_SIZE) this.#peerMaxFrame = value;
    // HEADER_TABLE_SIZE: our encoder uses no dynamic table; the rest do not concern a client.
  }

  #protocolError(message: string, code: number): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(this.#nextId > 1 ? this.#nextId - 2 : 0, 0);
    payload.writeUInt32BE(code, 4);
    this.#send(frame(FrameType.GOAWAY, 0, 0, payload));
    this.#flushOut();
    this.destroy(new Error(message));
  }

  #end(): void {
    if (this.destroyed) return;
    const payload = Buffer.alloc(8);
    this.#send(frame(FrameType.GOAWAY, 0, 0, payload));
    this.#flushOut();
    this.#socket.end();
    this.#teardown();
  }

  #teardown(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const err = this.lastError ?? new Error('the connection closed');
    for (const s of [...this.#streams.values()]) s._fail(err);
    this.#streams.clear();
    this.emit('close');
  }
}

function unpad(payload: Buffer): Buffer {
  const pad = payload[0] ?? 0;
  if (pad >= payload.length) throw new Error('HTTP/2: padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}

/**
 * One stream: the request body goes out with `write` (false: wait for 'drain') and `end`; the
 * response arrives as 'response' (headers), 'data', 'trailers', then 'end'; 'close' comes last,
 * once both sides are done or the stream was reset (`rstCode`) or failed ('error' first).
 * `pause`/`resume` stop and restart delivery; while paused the window is not reopened, so the
 * server stops after `streamWindow` bytes.
 */
export class H2Stream extends EventEmitter {
  readonly id: number;
  readonly #session: H2Session;
  readonly #window: number;
  #sendWindow: number;
  #queue: { data: Buffer; done?: () => void }[] = [];
  #queued = 0;
  #needDrain = false;
  #endQueued = false;
  #endSent = false;
  #responded = false;
  #paused = false;
  #inbox: Buffer[] = [];
  #remoteEnded = false;
  #endEmitted = false;
  #unacked = 0;
  rstCode: number | undefined;
  closed = false;

  constructor(session: H2Session, id: number, sendWindow: number, receiveWindow: number) {
    super();
    this.#session = session;
    this.id = id;
    this.#sendWindow = sendWindow;
    this.#window = receiveWindow;
  }

  /** True once `end()` was called. */
  get writableEnded(): boolean {
    return this.#endQueued;
  }

  write(data: Uint8Array, done?: () => void): boolean {
    if (this.#endQueued || this.closed) {
      if (done) process.nextTick(done);
      return false;
    }
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#queue.push(done ? { data: buf, done } : { data: buf });
    this.#queued += buf.length;
    this.#session._flush(this);
    if (this.#queued >= WRITE_HIGH_WATER) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.#endQueued || this.closed) return;
    this.#endQueued = true;
    this.#session._flush(this);
  }

  /** Resets the stream (RST_STREAM `code`) unless it is done already. */
  close(code: number = H2Code.NO_ERROR): void {
    if (this.closed) return;
    this.#session._reset(this, code);
    this.rstCode = code;
    this.#finish();
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    if (!this.#paused) return this;
    this.#paused = false;
    this.#deliver();
    return this;
  }

  // --- used by the session ---

  _nextChunk(connectionWindow: number): { data: Buffer; end: boolean; done?: () => void } | undefined {
    if (this.closed || this.#endSent) return undefined;
    if (this.#queue.length === 0) {
      if (!this.#endQueued) return undefined;
      this.#endSent = true;
      return { data: Buffer.alloc(0), end: true };
    }
    const room = Math.min(connectionWindow, this.#sendWindow);
    if (room <= 0) return undefined;
    const head = this.#queue[0]!;
    const n = Math.min(room, head.data.length);
    const data = head.data.subarray(0, n);
    this.#sendWindow -= n;
    this.#queued -= n;
    let done: (() => void) | undefined;
    if (n === head.data.length) {
      this.#queue.shift();
      done = head.done;
    } else head.data = head.data.subarray(n);
    const end = this.#queue.length === 0 && this.#endQueued;
    if (end) this.#endSent = true;
    return done ? { data, end, done } : { data, end };
  }

  /** After `_flush` wrote this stream's frames (its END_STREAM among them, maybe). */
  _afterFlush(): void {
    if (this.#endSent) this.#maybeDone();
    if (this.#needDrain && this.#queued < WRITE_HIGH_WATER) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  _grow(increment: number): void {
    this.#sendWindow += increment;
  }

  _onHeaders(headers: H2Headers, endStream: boolean): void {
    if (this.closed) return;
    if (!this.#responded) {
      this.#responded = true;
      this.emit('response', headers);
    } else this.emit('trailers', headers);
    if (endStream) this._onData(Buffer.alloc(0), 0, true);
  }

  _onData(data: Buffer, flowLength: number, endStream: boolean): void {
    if (this.closed) return;
    if (data.length > 0) this.#inbox.push(data);
    this.#unacked += flowLength - data.length; // padding counts, and is consumed at once
    if (endStream) this.#remoteEnded = true;
    this.#deliver();
  }

  _onReset(code: number): void {
    if (this.closed) return;
    this.rstCode = code;
    this.#finish();
  }

  _fail(err: Error): void {
    if (this.closed) return;
    const failure = Object.assign(new Error(`the stream was closed: ${err.message}`), { code: 'ERR_HTTP2_STREAM_CANCEL', cause: err });
    this.emit('error', failure);
    this.#finish();
  }

  #deliver(): void {
    while (!this.#paused && this.#inbox.length > 0 && !this.closed) {
      const chunk = this.#inbox.shift()!;
      this.#unacked += chunk.length;
      this.emit('data', chunk);
    }
    if (this.#unacked >= this.#window / 2 && !this.#remoteEnded) {
      this.#session._consumed(this, this.#unacked);
      this.#unacked = 0;
    }
    if (!this.#paused && this.#inbox.length === 0 && this.#remoteEnded && !this.#endEmitted && !this.closed) {
      this.#endEmitted = true;
      this.emit('end');
      this.#maybeDone();
    }
  }

  #maybeDone(): void {
    if (this.#endEmitted && this.#endSent) this.#finish();
  }

  #finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.#queue = [];
    this.#inbox = [];
    this.#session._done(this);
    process.nextTick(() => this.emit('close'));
  }
}
