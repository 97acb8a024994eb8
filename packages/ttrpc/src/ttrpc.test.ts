// Client and server over real unix sockets in a temp dir, with the generated Task service.
import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { task, ttrpc } from '@berth/api';
import { BerthError, ErrorKind, failedPrecondition, kindOf, notFound, notImplemented } from '@berth/errdefs';
import { createClient, connect, createServer } from './index';
import { FrameReader, MAX_DATA_LENGTH, MessageType, encodeFrame, encodeHeader, type Frame } from './frame';
import type { CallContext, ServiceImpl, TtrpcConnection, TtrpcServer } from './types';

type TaskMethods = (typeof task.Task)['methods'];

/** A Task implementation where every rpc is NotImplemented unless overridden. */
function fakeTask(overrides: Partial<ServiceImpl<TaskMethods>>): ServiceImpl<TaskMethods> {
  const impl: Record<string, unknown> = {};
  for (const key of Object.keys(task.Task.methods)) {
    impl[key] = async () => {
      throw notImplemented(`fake task: ${key}`);
    };
  }
  return { ...impl, ...overrides } as ServiceImpl<TaskMethods>;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The settled error's kind (fails the test when the promise resolves). */
async function rejectionKind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return kindOf(err);
  }
  throw new Error('expected a rejection');
}

/** Reads frames from a raw socket. */
function frameSource(socket: Socket): { next(): Promise<Frame> } {
  const reader = new FrameReader();
  const queue: Frame[] = [];
  const waiters: ((f: Frame) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      const w = waiters.shift();
      if (w) w(f);
      else queue.push(f);
    }
  });
  return {
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))),
  };
}

const requestFrame = (streamId: number, service: string, method: string, payload: Uint8Array, timeoutNano = 0): Buffer =>
  encodeFrame({
    streamId,
    type: MessageType.Request,
    flags: 0,
    data: ttrpc.Request.encode({ service, method, payload, timeoutNano }),
  });

const rawConnect = (path: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createConnection({ path }, () => resolve(s));
    s.once('error', reject);
  });

/** Leaves a socket file with nobody behind it at `p`, as a killed server does. */
function staleSocket(p: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  expect(lstatSync(p).isSocket()).toBe(true);
}

const closedEvent = (s: Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

let dir: string;
let path: string;
let server: TtrpcServer;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-ttrpc-'));
  path = join(dir, 's.sock');
  server = createServer();
  cleanups.push(() => server.close());
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

async function serveTask(overrides: Partial<ServiceImpl<TaskMethods>>): Promise<TtrpcConnection> {
  server.register(task.Task, fakeTask(overrides));
  await server.listen(path);
  const conn = await connect(path);
  cleanups.push(() => conn.close());
  return conn;
}

describe('unary calls', () => {
  it('round-trips connect and state through the generated Task service', async () => {
    let seen: { req: task.StateRequest; ctx: CallContext } | undefined;
    const conn = await serveTask({
      connect: async (req) => ({ shimPid: 42, taskPid: 7, version: `v1 for ${req.id}` }),
      state: async (req, ctx) => {
        seen = { req, ctx };
        return { id: req.id, execId: req.execId, pid: 99, status: 2, exitedAt: { seconds: 5, nanos: 6 } };
      },
    });
    const client = createClient(conn, task.Task);
    expect(await client.connect({ id: 'c1' })).toEqual({ shimPid: 42, taskPid: 7, version: 'v1 for c1' });
    const state = await client.state({ id: 'c1', execId: 'e1' }, { metadata: { who: 'test' } });
    expect(state).toMatchObject({ id: 'c1', execId: 'e1', pid: 99, status: 2, bundle: '', exitedAt: { seconds: 5, nanos: 6 } });
    expect(seen!.req).toEqual(task.StateRequest.create({ id: 'c1', execId: 'e1' }));
    expect(seen!.ctx.metadata).toEqual({ who: ['test'] });
    expect(seen!.ctx.signal.aborted).toBe(false);
  });

  it('answers 50 concurrent calls on one connection in whatever order the server finishes them', async () => {
    const waiting: { id: string; release: () => void }[] = [];
    const all = deferred();
    const conn = await serveTask({
      state: async (req) => {
        const gate = deferred();
        waiting.push({ id: req.id, release: gate.resolve });
        if (waiting.length === 50) all.resolve();
        await gate.promise;
        return { id: req.id, pid: Number(req.id.slice(1)) };
      },
    });
    const client = createClient(conn, task.Task);
    const finished: string[] = [];
    const calls = new Map(
      Array.from({ length: 50 }, (_, i) => [
        `c${i}`,
        client.state({ id: `c${i}` }).then((res) => {
          finished.push(res.id);
          return res;
        }),
      ]),
    );
    await all.promise;
    // Answer in reverse arrival order, each once the previous answer reached its caller.
    for (const w of [...waiting].reverse()) {
      w.release();
      await calls.get(w.id);
    }
    const results = await Promise.all(calls.values());
    results.forEach((res, i) => expect(res).toMatchObject({ id: `c${i}`, pid: i }));
    expect(finished).toEqual(waiting.map((w) => w.id).reverse());
    expect(finished).toHaveLength(50);
  });

  it('lets other calls complete while a Wait blocks on the same connection', async () => {
    const exited = deferred();
    const conn = await serveTask({
      wait: async () => {
        await exited.promise;
        return { exitStatus: 3 };
      },
      state: async (req) => ({ id: req.id }),
    });
    const client = createClient(conn, task.Task);
    let waitDone = false;
    const wait = client.wait({ id: 'c1' }).then((r) => ((waitDone = true), r));
    expect((await client.state({ id: 'c1' })).id).toBe('c1');
    expect(waitDone).toBe(false);
    exited.resolve();
    expect((await wait).exitStatus).toBe(3);
  });

  it('leaves the socket referenced only while calls are pending', async () => {
    const gate = deferred();
    const conn = await serveTask({
      state: async (req) => (await gate.promise, { id: req.id }),
    });
    const pipes = (): number => process.getActiveResourcesInfo().filter((r) => r === 'PipeWrap').length;
    await new Promise((r) => setTimeout(r, 10));
    const idle = pipes();
    const call = createClient(conn, task.Task).state({ id: 'c1' });
    expect(pipes()).toBe(idle + 1);
    gate.resolve();
    await call;
    expect(pipes()).toBe(idle);
  });
});

describe('errors', () => {
  it.each([
    ['NotFound', () => notFound('task c1: not found'), ErrorKind.NotFound, 'task c1: not found'],
    ['FailedPrecondition', () => failedPrecondition('task c1: running'), ErrorKind.FailedPrecondition, 'task c1: running'],
    ['a plain Error', () => new Error('boom'), ErrorKind.Unknown, 'boom'],
  ])('maps %s from the handler to the same kind at the client', async (_name, make, kind, message) => {
    const conn = await serveTask({
      delete: async () => {
        throw make();
      },
    });
    const call = createClient(conn, task.Task).delete({ id: 'c1' });
    await expect(call).rejects.toSatisfy((e) => kindOf(e) === kind && (e as Error).message === message);
  });

  it('answers an unknown method or service with Unimplemented', async () => {
    const conn = await serveTask({});
    const unknownMethod = conn.call('containerd.task.v2.Task', 'Nope', new Uint8Array(0));
    await expect(unknownMethod).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.NotImplemented && /Nope/.test((e as Error).message),
    );
    const unknownService = conn.call('containerd.task.v9.Task', 'State', new Uint8Array(0));
    await expect(unknownService).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.NotImplemented && /containerd\.task\.v9\.Task/.test((e as Error).message),
    );
  });

  it('answers a request whose payload does not decode with InvalidArgument', async () => {
    const conn = await serveTask({ state: async (req) => ({ id: req.id }) });
    expect(await rejectionKind(conn.call('containerd.task.v2.Task', 'State', Uint8Array.of(0x0a, 0x05)))).toBe(
      ErrorKind.InvalidArgument,
    );
  });

  it('answers data frames (streams) with Unimplemented and keeps the connection', async () => {
    server.register(task.Task, fakeTask({ state: async (req) => ({ id: req.id }) }));
    await server.listen(path);
    const raw = await rawConnect(path);
    cleanups.push(() => void raw.destroy());
    const frames = frameSource(raw);
    raw.write(encodeFrame({ streamId: 1, type: MessageType.Data, flags: 0, data: Uint8Array.of(1) }));
    const res = ttrpc.Response.decode((await frames.next()).data);
    expect(res.status?.code).toBe(12);
    raw.write(requestFrame(3, 'containerd.task.v2.Task', 'State', task.StateRequest.encode({ id: 'x' })));
    const ok = await frames.next();
    expect(ok.streamId).toBe(3);
    expect(task.StateResponse.decode(ttrpc.Response.decode(ok.data).payload).id).toBe('x');
  });

  it('fails a call with DeadlineExceeded after timeoutMs and tells the server the deadline', async () => {
    const serverAbort = deferred<unknown>();
    const conn = await serveTask({
      wait: (_req, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            serverAbort.resolve(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        }),
    });
    const started = Date.now();
    expect(await rejectionKind(createClient(conn, task.Task).wait({ id: 'c1' }, { timeoutMs: 50 }))).toBe(
      ErrorKind.DeadlineExceeded,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    // The connection stays up, so the server's abort comes from timeout_nano.
    expect(kindOf(await serverAbort.promise)).toBe(ErrorKind.DeadlineExceeded);
  });

  it('fails a call with Canceled when its signal aborts', async () => {
    const conn = await serveTask({ wait: () => new Promise(() => {}) });
    const controller = new AbortController();
    const call = createClient(conn, task.Task).wait({ id: 'c1' }, { signal: controller.signal });
    controller.abort();
    expect(await rejectionKind(call)).toBe(ErrorKind.Canceled);
    const already = createClient(conn, task.Task).wait({ id: 'c1' }, { signal: controller.signal });
    expect(await rejectionKind(already)).toBe(ErrorKind.Canceled);
  });

  it('rejects a request over 4 MiB with ResourceExhausted and keeps the connection', async () => {
    const conn = await serveTask({ state: async (req) => ({ id: req.id }) });
    const client = createClient(conn, task.Task);
    expect(await rejectionKind(client.state({ id: 'x'.repeat(MAX_DATA_LENGTH + 1) }))).toBe(ErrorKind.ResourceExhausted);
    expect((await client.state({ id: 'ok' })).id).toBe('ok');
  });
});

describe('connections', () => {
  it('closes a connection that sends an oversized frame; its pending calls fail Unavailable', async () => {
    const conn = await serveTask({ wait: () => new Promise(() => {}) });
    const pending = createClient(conn, task.Task).wait({ id: 'c1' });
    await new Promise((r) => setTimeout(r, 10));
    // The client never sends an oversized frame; write the header on its socket directly.
    const socket = (conn as unknown as { socket: Socket }).socket;
    socket.write(encodeHeader({ length: MAX_DATA_LENGTH + 1, streamId: 3, type: MessageType.Request, flags: 0 }));
    expect(await rejectionKind(pending)).toBe(ErrorKind.Unavailable);
    await conn.closed;
  });

  it('closes a raw connection that sends an oversized header, and keeps serving others', async () => {
    const conn = await serveTask({ state: async (req) => ({ id: req.id }) });
    const raw = await rawConnect(path);
    raw.on('error', () => {});
    raw.write(encodeHeader({ length: MAX_DATA_LENGTH + 1, streamId: 1, type: MessageType.Request, flags: 0 }));
    await closedEvent(raw);
    expect((await createClient(conn, task.Task).state({ id: 'still' })).id).toBe('still');
  });

  it('stops reading requests while the peer does not read its responses', async () => {
    let handled = 0;
    const big = new Uint8Array(256 * 1024).fill(1);
    server.register(task.Task, fakeTask({ stats: async () => (handled++, { stats: { typeUrl: 'x', value: big } }) }));
    await server.listen(path);
    const raw = await rawConnect(path);
    cleanups.push(() => void raw.destroy());
    raw.pause();
    const count = 32;
    for (let i = 0; i < count; i++) {
      raw.write(requestFrame(2 * i + 1, 'containerd.task.v2.Task', 'Stats', task.StatsRequest.encode({ id: `c${i}` })));
      await new Promise((r) => setTimeout(r, 2));
    }
    // The first answer fills the socket; the server then leaves the other requests unread.
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThan(count);
    const frames = frameSource(raw);
    raw.resume();
    const got = [];
    for (let i = 0; i < count; i++) got.push(await frames.next());
    expect(handled).toBe(count);
    expect(new Set(got.map((f) => f.streamId)).size).toBe(count);
    expect(task.StatsResponse.decode(ttrpc.Response.decode(got[0]!.data).payload).stats?.value.length).toBe(big.length);
  });

  it('closes a connection that sends a response frame (not a client frame)', async () => {
    await serveTask({});
    const raw = await rawConnect(path);
    raw.on('error', () => {});
    raw.write(encodeFrame({ streamId: 1, type: MessageType.Response, flags: 0, data: new Uint8Array(0) }));
    await closedEvent(raw);
  });

  it('fails the client pending calls with Unavailable when a server sends an oversized frame', async () => {
    const fake: Server = createNetServer((s) => {
      s.on('data', () => s.write(encodeHeader({ length: MAX_DATA_LENGTH + 1, streamId: 1, type: MessageType.Response, flags: 0 })));
    });
    await new Promise<void>((r) => fake.listen(path, r));
    cleanups.push(() => new Promise<void>((r) => fake.close(() => r())));
    const conn = await connect(path);
    expect(await rejectionKind(conn.call('s', 'm', new Uint8Array(0)))).toBe(ErrorKind.Unavailable);
    await conn.closed;
  });

  it('fails pending calls with Unavailable when the server closes, and aborts their handlers', async () => {
    const aborted = deferred<unknown>();
    const conn = await serveTask({
      wait: (_req, ctx) =>
        new Promise(() => ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason))),
    });
    const pending = createClient(conn, task.Task).wait({ id: 'c1' });
    await new Promise((r) => setTimeout(r, 10));
    await server.close();
    expect(await rejectionKind(pending)).toBe(ErrorKind.Unavailable);
    expect(kindOf(await aborted.promise)).toBe(ErrorKind.Canceled);
    await conn.closed;
    expect(await rejectionKind(conn.call('containerd.task.v2.Task', 'State', new Uint8Array(0)))).toBe(
      ErrorKind.Unavailable,
    );
  });

  it('fails pending calls with Canceled when the client closes', async () => {
    const conn = await serveTask({ wait: () => new Promise(() => {}) });
    const pending = createClient(conn, task.Task).wait({ id: 'c1' });
    await conn.close();
    expect(await rejectionKind(pending)).toBe(ErrorKind.Canceled);
  });

  it('gives Unavailable, naming the path, when nothing listens', async () => {
    await expect(connect(path)).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.Unavailable && (e as Error).message.includes(path),
    );
    staleSocket(path);
    await expect(connect(path)).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.Unavailable && /ECONNREFUSED/.test((e as Error).message),
    );
  });

  it('listens over a stale socket file but not over a live server or a regular file', async () => {
    staleSocket(path);
    await server.listen(path);
    const conn = await connect(path);
    cleanups.push(() => conn.close());

    const second = createServer();
    cleanups.push(() => second.close());
    expect(await rejectionKind(second.listen(path))).toBe(ErrorKind.AlreadyExists);
    // The live server's socket is still there and answering.
    await (await connect(path)).close();

    const file = join(dir, 'plain');
    await writeFile(file, 'not a socket');
    const third = createServer();
    cleanups.push(() => third.close());
    expect(await rejectionKind(third.listen(file))).toBe(ErrorKind.AlreadyExists);
  });
});

describe('wire format', () => {
  it('sends a request frame with the exact golden bytes', async () => {
    const got = deferred<Buffer>();
    const fake = createNetServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (all.length >= 10 && all.length >= 10 + all.readUInt32BE(0)) got.resolve(all);
      });
    });
    await new Promise<void>((r) => fake.listen(path, r));
    cleanups.push(() => new Promise<void>((r) => fake.close(() => r())));
    const conn = await connect(path);
    cleanups.push(() => conn.close());
    void createClient(conn, task.Task).state({ id: 'c1' }).catch(() => {});
    const bytes = await got.promise;
    const data =
      '0a17' + Buffer.from('containerd.task.v2.Task').toString('hex') + // service
      '1205' + Buffer.from('State').toString('hex') + // method
      '1a04' + '0a026331'; // payload: StateRequest{id: 'c1'}
    expect(bytes.toString('hex')).toBe('00000026' + '00000001' + '01' + '00' + data);
  });

  it('numbers client streams 1, 3, 5, ... and sends timeout_nano and metadata', async () => {
    const frames: Frame[] = [];
    const three = deferred();
    const fake = createNetServer((s) => {
      const reader = new FrameReader();
      s.on('data', (c: Buffer) => {
        frames.push(...reader.push(c));
        if (frames.length === 3) three.resolve();
      });
    });
    await new Promise<void>((r) => fake.listen(path, r));
    cleanups.push(() => new Promise<void>((r) => fake.close(() => r())));
    const conn = await connect(path);
    cleanups.push(() => conn.close());
    for (let i = 0; i < 3; i++) void conn.call('s', 'm', new Uint8Array(0), { timeoutMs: 1500, metadata: { k: 'v' } }).catch(() => {});
    await three.promise;
    expect(frames.map((f) => f.streamId)).toEqual([1, 3, 5]);
    const req = ttrpc.Request.decode(frames[0]!.data);
    expect(req.timeoutNano).toBe(1.5e9);
    expect(req.metadata).toEqual([{ key: 'k', value: 'v' }]);
  });

  it('serves requests written byte by byte and several coalesced in one write', async () => {
    server.register(task.Task, fakeTask({ state: async (req) => ({ id: req.id }) }));
    await server.listen(path);
    const raw = await rawConnect(path);
    cleanups.push(() => void raw.destroy());
    const frames = frameSource(raw);
    const one = requestFrame(1, 'containerd.task.v2.Task', 'State', task.StateRequest.encode({ id: 'split' }));
    for (const byte of one) {
      raw.write(Uint8Array.of(byte));
      await new Promise((r) => setImmediate(r));
    }
    const first = await frames.next();
    expect(first.streamId).toBe(1);
    expect(task.StateResponse.decode(ttrpc.Response.decode(first.data).payload).id).toBe('split');

    raw.write(
      Buffer.concat([3, 5, 7].map((sid) => requestFrame(sid, 'containerd.task.v2.Task', 'State', task.StateRequest.encode({ id: `s${sid}` })))),
    );
    const got = await Promise.all([frames.next(), frames.next(), frames.next()]);
    const ids = got.map((f) => [f.streamId, task.StateResponse.decode(ttrpc.Response.decode(f.data).payload).id]);
    expect(ids.sort()).toEqual([
      [3, 's3'],
      [5, 's5'],
      [7, 's7'],
    ]);
  });
});
