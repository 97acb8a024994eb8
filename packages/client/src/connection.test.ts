import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AnyMethodDefinition } from '@berth/api';
import { ErrorKind } from '@berth/errdefs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, type Connection } from './connection';
import { MessageParser, frameMessage, grpcTimeout, statusOf } from './grpc-frames';

// The client's own gRPC transport (Node's http2) against grpc-js's server, the one berthd runs.

type Json = Record<string, unknown>;
const jsonCodec = { encode: (v: unknown) => Buffer.from(JSON.stringify(v)), decode: (b: Buffer) => JSON.parse(b.toString()) as Json };
const method = (name: string) => ({ path: `/test.Echo/${name}`, requestType: jsonCodec, responseType: jsonCodec }) as unknown as AnyMethodDefinition;
const serverDef = (name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Json, Json> => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: jsonCodec.encode,
  requestDeserialize: jsonCodec.decode,
  responseSerialize: jsonCodec.encode,
  responseDeserialize: jsonCodec.decode,
});

const dir = mkdtempSync(join(tmpdir(), 'berth-client-conn-'));
let servers: grpc.Server[] = [];
let conns: Connection[] = [];
let seq = 0;

afterEach(() => {
  for (const c of conns) c.close();
  for (const s of servers) s.forceShutdown();
  conns = [];
  servers = [];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(impl: grpc.UntypedServiceImplementation, path = join(dir, `s${seq++}.sock`)): Promise<string> {
  const server = new grpc.Server();
  const defs: grpc.ServiceDefinition = {
    Unary: serverDef('Unary', false, false),
    List: serverDef('List', false, true),
    Chat: serverDef('Chat', true, true),
  };
  server.addService(defs, impl);
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  servers.push(server);
  return path;
}

function client(path: string, opts: Parameters<typeof connect>[1] = {}): Connection {
  const c = connect(path, { namespace: 'ns1', ...opts });
  conns.push(c);
  return c;
}

describe('wire framing', () => {
  it('cuts messages out of any chunking, and refuses compressed or oversized ones', () => {
    const body = Buffer.concat([frameMessage(Buffer.from('hello')), frameMessage(Buffer.alloc(0)), frameMessage(Buffer.alloc(70_000, 7))]);
    for (const size of [1, 3, 5, 6, 4096, body.length]) {
      const parser = new MessageParser(1 << 20);
      const got: Buffer[] = [];
      for (let i = 0; i < body.length; i += size) got.push(...parser.push(body.subarray(i, i + size)));
      expect(got.map((b) => b.length)).toEqual([5, 0, 70_000]);
      expect(got[0]!.toString()).toBe('hello');
      expect(parser.partial).toBe(false);
    }
    const cut = new MessageParser(100);
    cut.push(frameMessage(Buffer.from('abc')).subarray(0, 6));
    expect(cut.partial).toBe(true);
    expect(() => new MessageParser(10).push(frameMessage(Buffer.alloc(11)))).toThrow(/larger than max/);
    const compressed = frameMessage(Buffer.from('x'));
    compressed[0] = 1;
    expect(() => new MessageParser(10).push(compressed)).toThrow(/compress/);
  });

  it('reads statuses and writes timeouts as the protocol spells them', () => {
    expect(statusOf({ ':status': 200 } as never)).toBeUndefined();
    expect(statusOf({ 'grpc-status': '5', 'grpc-message': 'no%20such%20%E2%9C%93', 'x-extra': 'y' })).toEqual({ code: 5, details: 'no such ✓', metadata: { 'x-extra': 'y' } });
    expect(grpcTimeout(250)).toBe('250m');
    expect(grpcTimeout(2e8)).toBe('200000S');
  });
});

describe('Connection over its own HTTP/2 transport', () => {
  it('makes unary calls with the namespace and lease headers', async () => {
    const path = await serve({
      Unary: (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) =>
        cb(null, { echo: call.request, ns: call.metadata.get('containerd-namespace'), lease: call.metadata.get('containerd-lease') }),
    });
    const c = client(path);
    expect(await c.unary(method('Unary'), { a: 1 } as never)).toEqual({ echo: { a: 1 }, ns: ['ns1'], lease: [] });
    expect(await c.with({ lease: 'l1', namespace: 'ns2' }).unary(method('Unary'), {} as never)).toMatchObject({ ns: ['ns2'], lease: ['l1'] });
    // Concurrent calls share the connection.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => c.unary(method('Unary'), { i } as never)));
    expect(many.map((r) => (r as { echo: { i: number } }).echo.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('turns a status into a BerthError of its kind, with the details as message', async () => {
    const path = await serve({
      Unary: (_call: unknown, cb: grpc.sendUnaryData<Json>) => cb({ code: grpc.status.NOT_FOUND, details: 'image "x ✓" not found' }),
    });
    const err = await client(path).unary(method('Unary'), {} as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: ErrorKind.NotFound, message: 'image "x ✓" not found', cause: { code: 5 } });
  });

  it('fails with Unavailable when nothing listens, and reconnects once something does', async () => {
    const path = join(dir, 'later.sock');
    const c = client(path);
    await expect(c.unary(method('Unary'), {} as never)).rejects.toMatchObject({ kind: ErrorKind.Unavailable, message: expect.stringMatching(/No connection established.*ENOENT/) });
    await serve({ Unary: (_c: unknown, cb: grpc.sendUnaryData<Json>) => cb(null, { ok: true }) }, path);
    expect(await c.unary(method('Unary'), {} as never)).toEqual({ ok: true });
  });

  it('a deadline ends the call with DeadlineExceeded; an aborted signal with Canceled, seen by the server', async () => {
    let cancelled = 0;
    const path = await serve({
      Unary: (call: grpc.ServerUnaryCall<Json, Json>) => call.on('cancelled', () => cancelled++),
    });
    const c = client(path);
    await expect(c.unary(method('Unary'), {} as never, { deadline: 100 })).rejects.toMatchObject({ kind: ErrorKind.DeadlineExceeded });
    const ac = new AbortController();
    const call = c.unary(method('Unary'), {} as never, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(call).rejects.toMatchObject({ kind: ErrorKind.Canceled });
    for (let i = 0; i < 100 && cancelled < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelled).toBe(2);
  });

  it('refuses a response larger than the limit with ResourceExhausted', async () => {
    const path = await serve({ Unary: (_c: unknown, cb: grpc.sendUnaryData<Json>) => cb(null, { big: 'x'.repeat(2000) }) });
    await expect(client(path, { maxMessageBytes: 1000 }).unary(method('Unary'), {} as never)).rejects.toMatchObject({ kind: ErrorKind.ResourceExhausted });
  });

  it('streams responses in order, holding the server back while the reader is slow', async () => {
    let written = 0;
    let cancelled = false;
    const path = await serve({
      List: async (call: grpc.ServerWritableStream<Json, Json>) => {
        call.on('cancelled', () => (cancelled = true));
        const n = (call.request as { n: number }).n;
        for (let i = 0; i < n && !cancelled; i++) {
          written++;
          if (!call.write({ i, pad: 'p'.repeat(60_000) })) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      },
    });
    const c = client(path);
    const all: number[] = [];
    for await (const m of c.serverStream(method('List'), { n: 50 } as never)) all.push((m as { i: number }).i);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i));

    written = 0;
    const seen: number[] = [];
    for await (const m of c.serverStream(method('List'), { n: 2000 } as never)) {
      seen.push((m as { i: number }).i);
      await new Promise((r) => setTimeout(r, 20));
      if (seen.length === 5) break;
    }
    for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelled).toBe(true);
    // 2000 messages are 120 MB: flow control stopped the server after a few MB.
    expect(written).toBeLessThan(200);
  });

  it('runs a bidirectional call to its end, and reports a refusal while its own side is still open', async () => {
    const path = await serve({
      Chat: (call: grpc.ServerDuplexStream<Json, Json>) => {
        call.on('data', (m: Json) => {
          if (m.fail) call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'refused' });
          else call.write({ got: m.n });
        });
        call.on('end', () => call.end());
      },
    });
    const c = client(path);
    const ok = c.duplex(method('Chat'));
    const got: unknown[] = [];
    ok.on('data', (m: Json) => got.push(m.got));
    const ended = new Promise((resolve) => ok.on('status', resolve));
    ok.write({ n: 1 } as never);
    ok.write({ n: 2 } as never);
    ok.end();
    expect(await ended).toMatchObject({ code: 0 });
    expect(got).toEqual([1, 2]);

    const refused = c.duplex(method('Chat'));
    const events: string[] = [];
    refused.on('error', (e: { code: number }) => events.push(`error ${e.code}`));
    const status = new Promise((resolve) => refused.on('status', resolve));
    refused.write({ fail: true } as never); // and never ends its side
    expect(await status).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: 'refused' });
    expect(events).toEqual([`error ${grpc.status.FAILED_PRECONDITION}`]);
  });
});
