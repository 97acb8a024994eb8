import { constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStore, readBlob } from '@berth/content';
import { createApplier } from '@berth/diff';
import { createMemoryImageStore, importArchive, resolveManifest, unpack } from '@berth/images';
import { createRuntime, detectRuntimes, generateSpec, type OciRuntime } from '@berth/runtime';
import { connectShim, startShim, type ShimClient, type ShimHandle } from '@berth/shim';
import { createOverlaySnapshotter, mountAll, unmountAll, withMounts, type OverlaySnapshotter } from '@berth/snapshots';
import type { ImageConfig, Spec as RuntimeSpec } from '@berth/spec';
import { mkfifo } from '@berth/sys';
import { testImage } from '@berth/testimages';
import { containerdMissing, startContainerd, type Containerd } from '@berth/engine/testing';
import { pidsMatching, pssKiB } from './proc-memory';
import type { Benchmark, BenchmarkResult } from './harness';

const IMAGE = 'docker.io/library/busybox:latest';

/** busybox imported and unpacked into a private overlay snapshotter, plus a spec generator. */
interface BerthImage {
  dir: string;
  snapshotter: OverlaySnapshotter;
  chainId: string;
  spec(id: string, args: string[]): RuntimeSpec;
  close(): Promise<void>;
}

async function prepareImage(base: string): Promise<BerthImage> {
  const archive = await testImage('busybox', 'oci');
  const content = createLocalStore({ root: join(base, 'content') });
  const { images } = await importArchive(content, createMemoryImageStore(), createReadStream(archive.path));
  const image = images[0]!;
  const snapshotter = await createOverlaySnapshotter({ root: join(base, 'snapshots') });
  const { chainId } = await unpack({ content, snapshotter, applier: createApplier({ content }), snapshotterName: 'overlayfs', image });
  const { manifestDesc } = await resolveManifest(content, image.target);
  const manifest = JSON.parse((await readBlob(content, manifestDesc)).toString('utf8'));
  const config = JSON.parse((await readBlob(content, manifest.config)).toString('utf8')) as ImageConfig;
  // One spec template (user and groups read from the image once); per container only the id differs.
  const viewKey = `template-${process.pid}`;
  const template = await withMounts(await snapshotter.view(viewKey, chainId), (rootfs) => generateSpec({ image: config, rootfs, id: 'template', args: ['true'] }));
  await snapshotter.remove(viewKey);
  return {
    dir: base,
    snapshotter,
    chainId,
    spec(id, args) {
      const spec = structuredClone(template);
      spec.root = { path: 'rootfs', readonly: false };
      spec.process!.args = args;
      spec.linux!.cgroupsPath = `/berth-bench/${id}`;
      return spec;
    },
    close: () => snapshotter.close(),
  };
}

/** Reads a FIFO to its end, opened without blocking (as ctr does). */
function drainFifo(path: string): Promise<void> {
  const s = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  s.resume();
  return new Promise((resolve, reject) => {
    s.on('end', resolve);
    s.on('error', reject);
  });
}

/** Creates (not starts) container `id` through the shim: snapshot, bundle, FIFOs as ctr makes them. */
async function createThroughShim(img: BerthImage, client: ShimClient, id: string, args: string[], withStdio: boolean): Promise<{ bundle: string; output: Promise<unknown> }> {
  const mounts = await img.snapshotter.prepare(id, img.chainId);
  const bundle = join(img.dir, 'bundles', id);
  await mkdir(join(bundle, 'rootfs'), { recursive: true });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(img.spec(id, args)));
  let stdout = '';
  let stderr = '';
  let output: Promise<unknown> = Promise.resolve();
  if (withStdio) {
    stdout = join(bundle, 'stdout');
    stderr = join(bundle, 'stderr');
    mkfifo(stdout, 0o600);
    mkfifo(stderr, 0o600);
    output = Promise.all([drainFifo(stdout), drainFifo(stderr)]);
  }
  await client.create({ id, bundle, rootfs: mounts.map((m) => ({ ...m, target: m.target ?? '' })), stdout, stderr });
  return { bundle, output };
}

async function removeThroughShim(img: BerthImage, client: ShimClient, id: string, bundle: string): Promise<void> {
  await client.delete({ id });
  await img.snapshotter.remove(id);
  await rm(bundle, { recursive: true, force: true });
}

interface Setup {
  base: string;
  img: BerthImage;
  containerd: Containerd;
  runtimes: { name: string; runtime: OciRuntime }[];
  shims: { shim: ShimHandle; client: ShimClient; runtime: string }[];
}

async function setupAll(label: string): Promise<Setup | { skip: string }> {
  const missing = containerdMissing();
  if (missing) return { skip: missing };
  const detection = await detectRuntimes();
  // The default runtime first: it is the subject.
  const working = detection.runtimes
    .filter((r) => r.works)
    .map((r) => r.flavor)
    .sort((a, b) => Number(b === detection.default) - Number(a === detection.default));
  if (working.length === 0) return { skip: 'neither crun nor runc works here' };
  const base = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), `berth-bench-${label}-`));
  const img = await prepareImage(base);
  const containerd = await startContainerd();
  await containerd.ctr('images', 'import', (await testImage('busybox', 'oci')).path);
  const runtimes = working.map((name) => ({ name, runtime: createRuntime({ binary: name, root: join(base, `rt-${name}`) }) }));
  const shims = [];
  for (const name of working) {
    const shim = await startShim({ group: `bench-${label}-${name}-${process.pid}`, socketDir: join(base, 's'), runtime: name, runtimeRoot: join(base, `rt-${name}`), idleExitMs: 600_000 });
    shims.push({ shim, client: await connectShim(shim.address), runtime: name });
  }
  return { base, img, containerd, runtimes, shims };
}

async function teardownAll(s: Setup): Promise<void> {
  for (const { client } of s.shims) {
    await client.shutdown({ now: true }).catch(() => {});
    client.close();
  }
  await s.containerd.stop();
  await s.img.close();
  await rm(s.base, { recursive: true, force: true });
}

/**
 * One container from nothing to gone, running `true`: berth (snapshot prepare, bundle, create
 * through a warm berth-shim with stdio FIFOs, start, wait, delete, snapshot remove) against
 * `ctr run --rm` on Debian's containerd (which does the same steps, behind a client process and
 * a fresh containerd-shim-runc-v2 per container), and against the floor: the runtime's own
 * `run` of a ready bundle (no snapshot, no shim, no stdio).
 */
export const containerRunBenchmark: Benchmark = {
  name: 'container-run',
  description: 'create + start + wait + delete of `true` (busybox): berth-shim vs `ctr run --rm` vs raw `<runtime> run`',
  iterations: 15,
  warmup: 2,
  async setup() {
    const s = await setupAll('run');
    if ('skip' in s) return s;
    let n = 0;
    const floorBundle = join(s.base, 'floor');
    await mkdir(join(floorBundle, 'rootfs'), { recursive: true });
    await mountAll(await s.img.snapshotter.prepare('floor', s.img.chainId), join(floorBundle, 'rootfs'));
    const shimContenders = s.shims.map(({ client, runtime }) => ({
      name: `berth-shim (${runtime})`,
      async run() {
        const id = `run-${runtime}-${n++}`;
        const { bundle, output } = await createThroughShim(s.img, client, id, ['true'], true);
        await client.start({ id });
        const { exitStatus } = await client.wait({ id });
        await output;
        if (exitStatus !== 0) throw new Error(`${id}: exit status ${exitStatus}`);
        await removeThroughShim(s.img, client, id, bundle);
      },
    }));
    const floors = s.runtimes.map(({ name, runtime }) => ({
      name: `${name} run (floor)`,
      async run() {
        const id = `floor-${name}-${n++}`;
        await writeFile(join(floorBundle, 'config.json'), JSON.stringify(s.img.spec(id, ['true'])));
        const code = await runtime.run(id, floorBundle);
        if (code !== 0) throw new Error(`${name} run: exit status ${code}`);
      },
    }));
    return {
      subject: shimContenders[0]!,
      baselines: [
        ...shimContenders.slice(1),
        { name: 'ctr run --rm (containerd, runc)', run: () => s.containerd.ctr('run', '--rm', IMAGE, `ctr-${n++}`, 'true') },
        // The part of containerd's figure that is ctr's own process and connection.
        { name: 'ctr version (client floor)', run: () => s.containerd.ctr('version') },
        ...floors,
      ],
      async teardown() {
        await unmountAll(join(floorBundle, 'rootfs'));
        await teardownAll(s);
      },
    };
  },
};

const COUNT = 20;

const memory: Record<string, number> = {};

/**
 * 20 `sleep` containers started and left running: the time to start them, and the memory of
 * what supervises them: the PSS of the shim processes divided by the containers (berth: one
 * shim for all; containerd: one containerd-shim-runc-v2 each).
 */
export const containerMemoryBenchmark: Benchmark = {
  name: 'container-memory',
  description: `start ${COUNT} \`sleep\` containers (detached) and measure shim PSS per container, berth-shim vs containerd-shim-runc-v2`,
  iterations: 3,
  warmup: 0,
  async setup() {
    const s = await setupAll('mem');
    if ('skip' in s) return s;
    const { client, runtime, shim } = s.shims[0]!;
    let round = 0;
    let ids: { id: string; bundle: string }[] = [];
    return {
      subject: {
        name: `berth-shim (${runtime}, one shim)`,
        async run() {
          const r = round++;
          for (let i = 0; i < COUNT; i++) {
            const id = `mem-${r}-${i}`;
            const { bundle } = await createThroughShim(s.img, client, id, ['sleep', '1000'], false);
            await client.start({ id });
            ids.push({ id, bundle });
          }
        },
        async after() {
          memory.berth = pssKiB(shim.pid) / COUNT;
          for (const { id, bundle } of ids) {
            await client.kill({ id, signal: 9 });
            await client.wait({ id });
            await removeThroughShim(s.img, client, id, bundle);
          }
          ids = [];
        },
      },
      baselines: [
        {
          name: 'ctr run -d (containerd-shim-runc-v2 each)',
          async run() {
            const r = round++;
            for (let i = 0; i < COUNT; i++) await s.containerd.ctr('run', '-d', '--null-io', IMAGE, `cmem-${r}-${i}`, 'sleep', '1000');
            ids = Array.from({ length: COUNT }, (_, i) => ({ id: `cmem-${r}-${i}`, bundle: '' }));
          },
          async after() {
            const shims = pidsMatching('containerd-shim-runc-v2', s.containerd.address);
            memory.containerd = shims.reduce((sum, pid) => sum + pssKiB(pid), 0) / COUNT;
            memory.containerdShims = shims.length;
            for (const { id } of ids) {
              await s.containerd.ctr('tasks', 'kill', '-s', 'SIGKILL', id).catch(() => {});
            }
            for (const { id } of ids) {
              for (let i = 0; i < 100; i++) {
                try {
                  await s.containerd.ctr('tasks', 'rm', id);
                  break;
                } catch {
                  await new Promise((res) => setTimeout(res, 20));
                }
              }
              await s.containerd.ctr('containers', 'rm', id);
            }
            ids = [];
          },
        },
      ],
      teardown: () => teardownAll(s),
    };
  },
  describe(_result: BenchmarkResult): string[] {
    if (memory.berth === undefined || memory.containerd === undefined) return [];
    return [
      `PSS per container: berth-shim ${(memory.berth / 1024).toFixed(2)} MiB, containerd-shim-runc-v2 ${(memory.containerd / 1024).toFixed(2)} MiB ` +
        `(${memory.containerdShims} shims) → ratio ${(memory.berth / memory.containerd).toFixed(2)} (last round)`,
    ];
  },
};
