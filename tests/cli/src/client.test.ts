import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import {
  ContainersClient,
  ContentClient,
  ImagesClient,
  LeasesClient,
  SnapshotsClient,
  connect,
  createContainer,
  importArchive,
  removeContainer,
  runContainer,
  type Connection,
} from '@berth/client';
import { ErrorKind } from '@berth/errdefs';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from './harness';

// @berth/client's run path (the one the CLI uses) against a live berthd: import, run, clean up (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;
let conn: Connection;

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemon('berth-cli-client-');
  conn = connect(d.address, { namespace: 'client-test' });
}, 60_000);

afterAll(async () => {
  conn?.close();
  await d?.stop();
}, 60_000);

async function snapshotNames(): Promise<string[]> {
  const names: string[] = [];
  await new SnapshotsClient(conn).walk((info) => void names.push(info.name));
  return names;
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b: Buffer) => (text += b.toString()));
  return { stream, text: () => text };
}

describe.skipIf(!isRoot)('@berth/client', () => {
  it('imports an OCI archive and unpacks it into overlayfs', async () => {
    const image = await testImage('busybox', 'oci');
    const loaded = await importArchive(conn, image.path);
    expect(loaded.map((i) => i.name)).toEqual(['docker.io/library/busybox:latest']);
    expect(loaded[0]!.target.digest).toBe(image.manifest.digest);
    const records = await new ImagesClient(conn).list();
    expect(records.map((r) => r.name)).toEqual(['docker.io/library/busybox:latest']);
    // The top snapshot is the chain ID of the single layer (its diff ID).
    const top = await new SnapshotsClient(conn).stat(image.diffIds[0]!);
    expect(top.kind).toBe('committed');
    // A second import changes nothing and does not fail.
    expect((await importArchive(conn, image.path)).length).toBe(1);
  });

  it('runContainer gives the output and exit status and removes the container', async () => {
    const out = collect();
    const err = collect();
    const r = await runContainer(conn, { image: 'busybox', args: ['sh', '-c', 'echo out; echo err >&2; exit 5'], stdout: out.stream, stderr: err.stream, fifoDir: join(d.dir, 'fifo') });
    expect(r.exitStatus).toBe(5);
    expect(r.id).toMatch(/^[0-9a-f]{64}$/);
    expect(out.text()).toBe('out\n');
    expect(err.text()).toBe('err\n');
    expect(await new ContainersClient(conn).list()).toEqual([]);
  });

  it('runContainer feeds stdin and then EOF', async () => {
    const out = collect();
    const r = await runContainer(conn, { image: 'busybox', args: ['sh', '-c', 'wc -c'], stdin: Readable.from([Buffer.from('12345')]), stdout: out.stream, fifoDir: join(d.dir, 'fifo') });
    expect(r.exitStatus).toBe(0);
    expect(out.text().trim()).toBe('5');
  });

  it('readBlob reads a whole blob in one call; NotFound when missing, DataLoss on a size mismatch', async () => {
    const image = await testImage('busybox', 'oci');
    const content = new ContentClient(conn);
    const manifest = await content.readBlob(image.manifest);
    expect(manifest.length).toBe(image.manifest.size);
    expect(JSON.parse(manifest.toString()).layers).toHaveLength(1);
    await expect(content.readBlob({ digest: `sha256:${'0'.repeat(64)}` as const })).rejects.toMatchObject({ kind: ErrorKind.NotFound });
    await expect(content.readBlob({ digest: image.manifest.digest, size: image.manifest.size + 1 })).rejects.toMatchObject({ kind: ErrorKind.DataLoss });
  });

  it('createContainer unpacks an image whose snapshots are gone, and leaves no lease or snapshot behind', async () => {
    const image = await testImage('busybox', 'oci');
    const snapshots = new SnapshotsClient(conn);
    await snapshots.remove(image.diffIds[0]!);
    const { container, mounts } = await createContainer(conn, { image: 'busybox', args: ['true'] });
    expect((await snapshots.stat(image.diffIds[0]!)).kind).toBe('committed');
    expect(mounts.map((m) => m.type)).toEqual(['overlay']);
    expect(await new LeasesClient(conn).list()).toEqual([]);
    await removeContainer(conn, container);
    expect(await snapshotNames()).toEqual([image.diffIds[0]]);
  });

  it('a create that fails after its snapshot was prepared removes it again', async () => {
    const image = await testImage('busybox', 'oci');
    await expect(createContainer(conn, { image: 'busybox', args: ['true'], user: 'nosuchuser' })).rejects.toThrow(/nosuchuser/);
    expect(await snapshotNames()).toEqual([image.diffIds[0]]);
    expect(await new ContainersClient(conn).list()).toEqual([]);
    expect(await new LeasesClient(conn).list()).toEqual([]);
  });

  it('createContainer with the id of an existing container is AlreadyExists and leaves that one alone', async () => {
    const image = await testImage('busybox', 'oci');
    const { container } = await createContainer(conn, { image: 'busybox', args: ['true'] });
    await expect(createContainer(conn, { image: 'busybox', args: ['true'], id: container.id })).rejects.toMatchObject({ kind: ErrorKind.AlreadyExists });
    expect((await new ContainersClient(conn).list()).map((c) => c.id)).toEqual([container.id]);
    expect((await snapshotNames()).sort()).toEqual([image.diffIds[0], container.id].sort());
    await removeContainer(conn, container);
    expect(await snapshotNames()).toEqual([image.diffIds[0]]);
  });

  it("createContainer on a connection with a lease records the snapshot in it and leaves the lease to the caller", async () => {
    const leases = new LeasesClient(conn);
    const lease = await leases.create({ id: 'caller-lease' });
    const { container } = await createContainer(conn.with({ lease: lease.id }), { image: 'busybox', args: ['true'] });
    expect((await leases.list()).map((l) => l.id)).toEqual(['caller-lease']);
    await leases.delete(lease.id);
    await removeContainer(conn, container);
    expect(await new ContainersClient(conn).list()).toEqual([]);
  });

  it('aborting the signal kills the container', async () => {
    const ac = new AbortController();
    const running = runContainer(conn, { image: 'busybox', args: ['sleep', '1000'], signal: ac.signal, fifoDir: join(d.dir, 'fifo') });
    // Abort once the task runs: the container is listed as soon as it exists.
    for (let i = 0; i < 200 && (await new ContainersClient(conn).list()).length === 0; i++) await new Promise((res) => setTimeout(res, 25));
    ac.abort();
    expect((await running).exitStatus).toBe(137);
  });
});
