import { leasesService, type MethodDefinition, type ServiceDefinition } from '@berth/api';
import { ErrorKind, kindOf, notFound } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService, bidi, clientStream, serverStream, unary } from '../grpc/service';
import { createGrpcClient, startTestEngine, type GrpcClient, type TestEngine } from '.';

type Resource = leasesService.Resource;
const R = leasesService.Resource;

/** A made-up service with one method of each kind, all carrying leases.v1.Resource. */
const Echo: ServiceDefinition<{
  one: MethodDefinition<Resource, Resource>;
  many: MethodDefinition<Resource, Resource, false, true>;
  sum: MethodDefinition<Resource, Resource, true, false>;
  chat: MethodDefinition<Resource, Resource, true, true>;
}> = {
  name: 'berth.test.Echo',
  methods: {
    one: { name: 'One', path: '/berth.test.Echo/One', requestType: R, responseType: R, requestStream: false, responseStream: false },
    many: { name: 'Many', path: '/berth.test.Echo/Many', requestType: R, responseType: R, requestStream: false, responseStream: true },
    sum: { name: 'Sum', path: '/berth.test.Echo/Sum', requestType: R, responseType: R, requestStream: true, responseStream: false },
    chat: { name: 'Chat', path: '/berth.test.Echo/Chat', requestType: R, responseType: R, requestStream: true, responseStream: true },
  },
};

let engine: TestEngine;
let client: GrpcClient<typeof Echo.methods>;

beforeAll(async () => {
  engine = await startTestEngine((server) =>
    addService(server, Echo, {
      // Echoes the headers it got: id = namespace (or '-'), type = lease (or '-').
      one: unary(async (req, ctx) => {
        if (req.id === 'missing') throw notFound(`thing "${req.id}": not found`);
        return { id: ctx.metadata.get('containerd-namespace')[0]?.toString() ?? '-', type: ctx.lease ?? '-' };
      }),
      many: serverStream(async (req, _ctx, send) => {
        for (let i = 0; i < Number(req.id); i++) await send({ id: String(i), type: req.type });
      }),
      sum: clientStream(async (requests) => {
        const ids: string[] = [];
        for await (const r of requests) ids.push(r.id);
        return { id: ids.join(','), type: 'sum' };
      }),
      chat: bidi(async (requests, _ctx, send) => {
        for await (const r of requests) await send({ id: r.id.toUpperCase(), type: r.type });
      }),
    }),
  );
  client = createGrpcClient(engine.address, Echo, { namespace: 'default' });
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});

describe('createGrpcClient', () => {
  it('sends the namespace and lease headers, per client and per call', async () => {
    expect(await client.one({})).toEqual({ id: 'default', type: '-' });
    expect(await client.one({}, { namespace: 'other', lease: 'l1' })).toEqual({ id: 'other', type: 'l1' });
    expect(await client.one({}, { namespace: null })).toEqual({ id: '-', type: '-' });
  });

  it('turns gRPC errors into BerthErrors of the matching kind', async () => {
    await expect(client.one({ id: 'missing' })).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.NotFound && (e as Error).message === 'thing "missing": not found',
    );
  });

  it('cancels a call through its signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(client.one({}, { signal: ac.signal })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.Canceled);
  });

  it('iterates a server stream', async () => {
    const got: Resource[] = [];
    for await (const r of client.many({ id: '3', type: 't' })) got.push(r);
    expect(got).toEqual([
      { id: '0', type: 't' },
      { id: '1', type: 't' },
      { id: '2', type: 't' },
    ]);
  });

  it('sends a client stream', async () => {
    async function* requests() {
      for (const id of ['a', 'b', 'c']) yield { id };
    }
    expect(await client.sum(requests())).toEqual({ id: 'a,b,c', type: 'sum' });
    expect(await client.sum([])).toEqual({ id: '', type: 'sum' });
  });

  it('runs a bidirectional call in lock step', async () => {
    const call = client.chat();
    await call.send({ id: 'x', type: '1' });
    expect(await call.recv()).toEqual({ id: 'X', type: '1' });
    await call.send({ id: 'y', type: '2' });
    expect(await call.recv()).toEqual({ id: 'Y', type: '2' });
    call.cancel();
  });

  /**
   * Expected to fail until grpc/service.ts is fixed. Its bidi handler gives the handler the
   * grpc-js ServerDuplexStream itself; `for await` over a Node stream destroys it when the loop
   * ends (autoDestroy), so the later `call.end()` never sends the OK status and the client waits
   * (here until the deadline). Passing `call.iterator({ destroyOnReturn: false })` fixes it.
   * Once fixed, vitest reports this test as passing unexpectedly: turn `it.fails` into `it`.
   */
  it('ends a bidirectional call with OK once the client half-closes', async () => {
    const call = client.chat({ deadline: 1000 });
    await call.send({ id: 'z' });
    expect(await call.recv()).toEqual({ id: 'Z', type: '' });
    call.end();
    expect(await call.recv()).toBeUndefined();
  });
});
