import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, ContentClient, LeasesClient, type Connection } from '@berth/client';
import { readBlob, writeBlob } from '@berth/content';
import { startEngine } from '@berth/engine';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What the conformance suites cannot show about @berth/client itself: the namespace header,
// cancellation through AbortSignal, and the error kind of a berthd that is not there.

let base: string;
let berthd: Awaited<ReturnType<typeof startEngine>>;
let conn: Connection;

async function kindOfRejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return kindOf(err);
  }
  return 'resolved';
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-conformance-client-'));
  berthd = await startEngine({ root: join(base, 'root'), state: join(base, 'state') });
  const plain = connect(berthd.address, { namespace: 'client' });
  const lease = await new LeasesClient(plain).create({ id: 'client-test' });
  conn = plain.with({ lease: lease.id });
});

afterAll(async () => {
  conn?.close();
  await berthd?.stop();
  await rm(base, { recursive: true, force: true });
});

describe('@berth/client against berthd', () => {
  it('sends the namespace: a blob written in one namespace is NotFound in another', async () => {
    const data = Buffer.from('namespaced through the header');
    const digest = await writeBlob(new ContentClient(conn), 'ns-ref', data);
    expect((await readBlob(new ContentClient(conn), { digest })).equals(data)).toBe(true);
    const other = new ContentClient(conn.with({ namespace: 'client-other' }));
    expect(await kindOfRejection(other.info(digest))).toBe(ErrorKind.NotFound);
  });

  it('an aborted signal cancels calls with Canceled, and the connection stays usable', async () => {
    const store = new ContentClient(conn);
    const digest = await writeBlob(store, 'cancel-ref', Buffer.alloc(2 << 20, 1));
    const aborted = AbortSignal.abort();
    expect(await kindOfRejection(store.info(digest, { signal: aborted }))).toBe(ErrorKind.Canceled);

    // A read stream cancelled mid-way errors with Canceled.
    const controller = new AbortController();
    const reader = await store.readerAt({ digest });
    const stream = reader.createReadStream({ chunkSize: 64 << 10, signal: controller.signal });
    let received = 0;
    const read = (async () => {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received >= 128 << 10) controller.abort();
      }
    })();
    expect(await kindOfRejection(read)).toBe(ErrorKind.Canceled);
    expect(received).toBeLessThan(2 << 20);

    // A walk whose callback throws stops (cancelling the List call) with that error.
    const boom = new Error('stop walking');
    await expect(store.walk(() => Promise.reject(boom))).rejects.toBe(boom);
    expect((await store.info(digest)).size).toBe(2 << 20);
  });

  it('a berthd that is not there is Unavailable', async () => {
    const gone = connect(join(base, 'nobody.sock'));
    try {
      expect(await kindOfRejection(new ContentClient(gone).info(`sha256:${'0'.repeat(64)}`))).toBe(ErrorKind.Unavailable);
    } finally {
      gone.close();
    }
  });
});
