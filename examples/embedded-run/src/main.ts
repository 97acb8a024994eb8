/**
 * A container run with no daemon at all, from the libraries alone: import the busybox test image
 * into a content store, unpack it into an overlayfs snapshot, generate the OCI spec from the
 * image config, and let berth-shim run it (create → start → wait → delete), reading its output
 * from FIFOs the way ctr does. Prints the output and the exit code.
 *
 *   node examples/embedded-run/dist/main.js [--root DIR] [--runtime crun|runc] [-- cmd args...]
 *   (default root /var/lib/berth, default command: echo hello from berth)
 */
import { createReadStream, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { createLocalStore, readBlob } from '@berth/content';
import { createApplier } from '@berth/diff';
import { createMemoryImageStore, importArchive, resolveManifest, unpack } from '@berth/images';
import { detectRuntimes, generateSpec } from '@berth/runtime';
import { connectShim, startShim } from '@berth/shim';
import { createOverlaySnapshotter, withMounts } from '@berth/snapshots';
import type { ImageConfig } from '@berth/spec';
import { mkfifo } from '@berth/sys';
import { testImage } from '@berth/testimages';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Reads a FIFO to its end without blocking on the open (the way ctr's fifo package does). */
function readFifo(path: string): Promise<string> {
  const s = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  let text = '';
  s.setEncoding('utf8').on('data', (d: string) => (text += d));
  return new Promise((resolve, reject) => {
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('containers need root: run this as root');
  const root = option('--root') ?? '/var/lib/berth';
  const dash = process.argv.indexOf('--');
  const args = dash >= 0 ? process.argv.slice(dash + 1) : ['echo', 'hello from berth'];
  const runtime = option('--runtime') ?? (await detectRuntimes()).default;
  if (!runtime) throw new Error('neither crun nor runc works on this host');

  // 1. content: import the image archive (verified, content-addressed).
  const content = createLocalStore({ root: join(root, 'content') });
  const images = createMemoryImageStore();
  const { images: [image] } = await importArchive(content, images, createReadStream((await testImage('busybox', 'oci')).path));
  const { manifestDesc } = await resolveManifest(content, image!.target);
  const manifest = JSON.parse((await readBlob(content, manifestDesc)).toString('utf8'));
  const config = JSON.parse((await readBlob(content, manifest.config)).toString('utf8')) as ImageConfig;

  // 2. unpack into snapshots, then an active snapshot on top for the container's writes.
  const snapshotter = await createOverlaySnapshotter({ root: join(root, 'snapshots', 'overlayfs') });
  const id = `embedded-${process.pid}`;
  const bundle = join('/run/berth/embedded', id);
  try {
    const { chainId } = await unpack({ content, snapshotter, applier: createApplier({ content }), snapshotterName: 'overlayfs', image: image! });
    const mounts = await snapshotter.prepare(id, chainId);
    try {
      // 3. the OCI spec from the image config (user and groups are read from the image's /etc).
      const spec = await withMounts(mounts, (rootfs) => generateSpec({ image: config, rootfs, id, args }));
      spec.root = { path: 'rootfs', readonly: false };
      await mkdir(join(bundle, 'rootfs'), { recursive: true });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));

      // 4. the shim: started (or reused) detached, it mounts the rootfs and runs the runtime.
      const shim = await startShim({ group: 'embedded-run', runtime, idleExitMs: 5_000 });
      const client = await connectShim(shim.address);
      const fifos = await mkdtemp('/run/berth/embedded/fifo-');
      const [stdout, stderr] = [join(fifos, 'stdout'), join(fifos, 'stderr')];
      mkfifo(stdout, 0o600);
      mkfifo(stderr, 0o600);
      const output = Promise.all([readFifo(stdout), readFifo(stderr)]);
      try {
        await client.create({ id, bundle, rootfs: mounts.map((m) => ({ ...m, target: m.target ?? '' })), stdout, stderr });
        await client.start({ id });
        const { exitStatus } = await client.wait({ id });
        const [out, err] = await output;
        await client.delete({ id });
        process.stdout.write(out);
        process.stderr.write(err);
        console.log(`exit code ${exitStatus} (${runtime}, shim pid ${shim.pid}${shim.reused ? ', reused' : ''})`);
        return exitStatus;
      } catch (err) {
        // Whatever got created goes: kill, reap, delete (each may find nothing to do).
        await client.kill({ id, signal: 9, all: true }).catch(() => {});
        await client.delete({ id }).catch(() => {});
        throw err;
      } finally {
        client.close();
        await rm(fifos, { recursive: true, force: true });
      }
    } finally {
      await snapshotter.remove(id);
      await rm(bundle, { recursive: true, force: true });
    }
  } finally {
    await snapshotter.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`embedded-run: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 125;
  },
);
