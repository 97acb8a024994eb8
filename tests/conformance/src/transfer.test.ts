import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentService, imagesService, leasesService, type transferTypes } from '@berth/api';
import { ErrorKind } from '@berth/errdefs';
import { createRegistryClient } from '@berth/registry';
import { startRegistry, startTcpProxy, type TcpProxy, type TestRegistry } from '@berth/registry/testing';
import { MediaType, defaultPlatform, digestOf, type Descriptor } from '@berth/spec';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, TransferClient, pullRequest, pushRequest, type TransferOptions } from '@berth/client';
import { startEngine, type Berthd } from '@berth/engine';
import { createGrpcClient, ctr, hasCtr, rejectionKind } from '@berth/engine/testing';

/** Runs a Transfer on the berthd at `address` through @berth/client. */
async function transferOn(address: string, request: ReturnType<typeof pullRequest>, opts: TransferOptions & { namespace?: string } = {}): Promise<void> {
  const { namespace, ...rest } = opts;
  const conn = connect(address, namespace ? { namespace } : {});
  try {
    await new TransferClient(conn).transfer(request, rest);
  } finally {
    conn.close();
  }
}

/**
 * Server-side pull and push through containerd 2's Transfer service, against Debian's reference
 * registry on 127.0.0.1: a berthd (`seed`) imports the test images with ctr and pushes them with
 * `ctr images push --plain-http`; a second berthd pulls them with Transfer, so every byte
 * crosses the registry, then runs what it pulled.
 */

const canRun = process.getuid?.() === 0 && hasCtr && existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/htpasswd');

let base: string;
let registry: TestRegistry;
let seed: Berthd;
let berthd: Berthd;
const images: Record<'busybox' | 'layers', Awaited<ReturnType<typeof testImage>>> = {} as never;

beforeAll(async () => {
  if (!canRun) return;
  base = await mkdtemp(join(tmpdir(), 'berth-transfer-'));
  registry = await startRegistry();
  seed = await startEngine({ root: join(base, 'seed', 'root'), state: join(base, 'seed', 'state') });
  berthd = await startEngine({ root: join(base, 'b', 'root'), state: join(base, 'b', 'state') });
  for (const name of ['busybox', 'layers'] as const) {
    images[name] = await testImage(name, 'oci');
    await ctr(seed.address, '-n', 'seed', 'images', 'import', images[name].path);
    await seedPush(registry.host, name, `${name}:latest`);
  }
}, 180_000);

afterAll(async () => {
  await berthd?.stop();
  await seed?.stop();
  await registry?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

/** `ctr images push --plain-http` of the seed's imported `name` to `host/<repoTag>`. */
async function seedPush(host: string, name: string, repoTag: string, extra: string[] = []): Promise<void> {
  const remote = `${host}/${repoTag}`;
  await ctr(seed.address, '-n', 'seed', 'images', 'tag', '--force', `docker.io/library/${name}:latest`, remote);
  await ctr(seed.address, '-n', 'seed', 'images', 'push', '--plain-http', ...extra, remote);
}

function pull(address: string, ns: string, ref: string, opts: Parameters<typeof pullRequest>[1] = {}): Promise<transferTypes.Progress[]> {
  const events: transferTypes.Progress[] = [];
  return transferOn(address, pullRequest(ref, { plainHttp: true, ...opts }), { namespace: ns, onProgress: (p) => events.push(p) }).then(() => events);
}

function grpc(address: string, ns: string) {
  return {
    images: createGrpcClient(address, imagesService.Images, { namespace: ns }),
    content: createGrpcClient(address, contentService.Content, { namespace: ns }),
    leases: createGrpcClient(address, leasesService.Leases, { namespace: ns }),
  };
}

async function contentDigests(address: string, ns: string): Promise<Set<string>> {
  const c = grpc(address, ns).content;
  const out = new Set<string>();
  for await (const r of c.list({ filters: [] })) for (const i of r.info) out.add(i.digest);
  c.close();
  return out;
}

describe.skipIf(!canRun)('Transfer: pull from a registry', () => {
  it('pulls busybox and layers over plain HTTP, streams progress, unpacks, and ctr runs the image', async () => {
    for (const name of ['busybox', 'layers'] as const) {
      const ref = `${registry.host}/${name}:latest`;
      const events = await pull(berthd.address, 'pull', ref);
      const img = images[name];
      const kinds = new Set(events.map((e) => e.event));
      expect(kinds).toContain('resolved');
      expect(kinds).toContain('complete');
      expect(kinds).toContain('unpacking');
      expect(kinds).toContain('saved');
      const completed = events.filter((e) => e.event === 'complete').map((e) => e.desc?.digest);
      expect(new Set(completed)).toEqual(new Set([img.manifest.digest, img.config.digest, ...img.layers.map((l) => l.digest)]));
      const { images: ic } = grpc(berthd.address, 'pull');
      const { image } = await ic.get({ name: ref });
      expect(image?.target?.digest).toBe(img.manifest.digest);
      ic.close();
    }
    const out = await ctr(berthd.address, '-n', 'pull', 'run', '--rm', `${registry.host}/busybox:latest`, 'pulled', 'echo', 'hello from a server-side pull');
    expect(out).toBe('hello from a server-side pull\n');
    // The labels containerd's pull sets: the repository each blob came from, and gc refs to children.
    const c = grpc(berthd.address, 'pull').content;
    const { info: manifest } = await c.info({ digest: images.busybox.manifest.digest });
    expect(manifest?.labels[`containerd.io/distribution.source.${registry.host}`]).toBe('busybox');
    expect(manifest?.labels['containerd.io/gc.ref.content.config']).toBe(images.busybox.config.digest);
    const { info: config } = await c.info({ digest: images.busybox.config.digest });
    expect(config?.labels['containerd.io/gc.ref.snapshot.overlayfs']).toMatch(/^sha256:/);
    c.close();
    // The pull's own lease is gone once the image holds everything.
    const l = grpc(berthd.address, 'pull').leases;
    expect((await l.list({ filters: [] })).leases).toEqual([]);
    l.close();
  });

  it('pulling again downloads nothing', async () => {
    const events = await pull(berthd.address, 'pull', `${registry.host}/layers:latest`);
    expect(events.filter((e) => e.event === 'downloading' || e.event === 'complete')).toEqual([]);
    expect(events.filter((e) => e.event === 'already exists').length).toBe(2 + images.layers.layers.length);
  });

  it('a multi-platform index gives the host platform manifest; all platforms fetch every manifest', async () => {
    // An index over busybox (the host's platform) and layers (claimed to be another one), in one repository.
    await seedPush(registry.host, 'busybox', 'multi:busybox');
    await seedPush(registry.host, 'layers', 'multi:layers');
    const host = defaultPlatform();
    const other = { os: 'linux', architecture: host.architecture === 'arm64' ? 'amd64' : 'arm64' };
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          { ...images.layers.manifest, platform: other },
          { ...images.busybox.manifest, platform: host },
        ],
      }),
    );
    const desc: Descriptor = { mediaType: MediaType.OciIndex, digest: digestOf(index), size: index.length };
    const client = createRegistryClient({ hosts: { [registry.host]: { server: `http://${registry.host}` } } });
    await client.pusher(`${registry.host}/multi`).push(desc, index);
    await client.pusher(`${registry.host}/multi`).tag('latest', desc, index);
    client.close();

    const ref = `${registry.host}/multi:latest`;
    await pull(berthd.address, 'multi', ref);
    const got = await contentDigests(berthd.address, 'multi');
    expect(got).toContain(images.busybox.layers[0]!.digest);
    expect(got).not.toContain(images.layers.manifest.digest);
    const { images: ic } = grpc(berthd.address, 'multi');
    expect((await ic.get({ name: ref })).image?.target?.digest).toBe(desc.digest);
    ic.close();
    expect(await ctr(berthd.address, '-n', 'multi', 'run', '--rm', ref, 'multi', 'echo', 'host manifest')).toBe('host manifest\n');

    await pull(berthd.address, 'multi-all', ref, { platforms: 'all' });
    const all = await contentDigests(berthd.address, 'multi-all');
    for (const l of [...images.busybox.layers, ...images.layers.layers]) expect(all).toContain(l.digest);
  });

  it('pushes an imported image to the registry and pulls it back into another namespace with the same digests', async () => {
    const img = images.layers;
    const ref = `${registry.host}/pushed/layers:v1`;
    const events: transferTypes.Progress[] = [];
    await transferOn(seed.address, pushRequest('docker.io/library/layers:latest', ref, { plainHttp: true }), { namespace: 'seed', onProgress: (p) => events.push(p) });
    expect(events.some((e) => e.event === 'pushed' && e.desc?.digest === img.manifest.digest)).toBe(true);
    await pull(berthd.address, 'roundtrip', ref);
    const got = await contentDigests(berthd.address, 'roundtrip');
    for (const d of [img.manifest, img.config, ...img.layers]) expect(got).toContain(d.digest);
    const { images: ic } = grpc(berthd.address, 'roundtrip');
    expect((await ic.get({ name: ref })).image?.target?.digest).toBe(img.manifest.digest);
    ic.close();
  });

  it('an unknown tag is NotFound and leaves no image', async () => {
    const ref = `${registry.host}/nope:latest`;
    expect(await rejectionKind(pull(berthd.address, 'pull', ref))).toBe(ErrorKind.NotFound);
    const { images: ic } = grpc(berthd.address, 'pull');
    expect(await rejectionKind(ic.get({ name: ref }))).toBe(ErrorKind.NotFound);
    ic.close();
  });
});

describe.skipIf(!canRun)('Transfer: a registry that fails', () => {
  let bad: TestRegistry;
  let proxy: TcpProxy | undefined;
  // A berthd of its own: content another namespace of `berthd` has would be shared, not fetched.
  let fresh: Berthd;
  beforeAll(async () => {
    fresh = await startEngine({ root: join(base, 'c', 'root'), state: join(base, 'c', 'state') });
    bad = await startRegistry();
    await seedPush(bad.host, 'layers', 'layers:latest');
    await seedPush(bad.host, 'busybox', 'busybox:latest');
  }, 120_000);
  afterAll(async () => {
    await fresh?.stop();
    await proxy?.close();
    await bad?.stop();
  });

  it('an interrupted pull keeps what it has (not collected) and resumes the partial blob with a Range request', async () => {
    const big = [...images.layers.layers].sort((a, b) => b.size - a.size)[0]!;
    let down = 0;
    let dead = false;
    const ranges: string[] = [];
    proxy = await startTcpProxy(bad.host, {
      downstream(chunk) {
        if (dead) return 'cut';
        down += chunk.length;
        if (down > big.size / 2) {
          dead = true;
          return 'cut';
        }
        return chunk;
      },
      upstream(chunk) {
        const m = /^range: *bytes=(\d+)-/im.exec(chunk.toString('latin1'));
        if (m) ranges.push(m[1]!);
      },
    });
    const ref = `${proxy.host}/layers:latest`;
    const kind = await rejectionKind(pull(fresh.address, 'resume', ref));
    expect(kind).toBe(ErrorKind.Unavailable);
    // A collection now (forced by a sync delete) must keep the committed blobs (the pull's lease) and the ingest.
    await pull(fresh.address, 'resume', `${bad.host}/busybox:latest`);
    const c = grpc(fresh.address, 'resume').content;
    const statuses = (await c.listStatuses({ filters: [] })).statuses;
    const partial = statuses.find((s) => s.ref === `pull-${big.digest}`);
    expect(partial?.offset).toBeGreaterThan(0);
    await createGrpcClient(fresh.address, imagesService.Images, { namespace: 'resume' }).delete({ name: `${bad.host}/busybox:latest`, sync: true });
    expect((await c.info({ digest: images.layers.manifest.digest })).info?.digest).toBe(images.layers.manifest.digest);
    expect((await c.listStatuses({ filters: [] })).statuses.some((s) => s.ref === `pull-${big.digest}`)).toBe(true);

    dead = false;
    down = -Infinity;
    ranges.length = 0;
    const events = await pull(fresh.address, 'resume', ref);
    expect(ranges.map(Number).some((r) => r > 0)).toBe(true);
    expect(events.filter((e) => e.event === 'complete').map((e) => e.desc?.digest)).not.toContain(images.layers.manifest.digest);
    const { images: ic } = grpc(fresh.address, 'resume');
    expect((await ic.get({ name: ref })).image?.target?.digest).toBe(images.layers.manifest.digest);
    ic.close();
    c.close();
  }, 120_000);

  it('wrong bytes from the registry are DataLoss: no image, no committed blob, no ingest left', async () => {
    const layer = images.busybox.layers[0]!;
    const hex = layer.digest.slice('sha256:'.length);
    const data = join(bad.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const fh = await open(data, 'r+');
    await fh.write(Buffer.from('corrupted by the test'), 0, undefined, 1000);
    await fh.close();
    const ref = `${bad.host}/busybox:latest`;
    expect(await rejectionKind(pull(fresh.address, 'corrupt', ref))).toBe(ErrorKind.DataLoss);
    const { images: ic, content: c } = grpc(fresh.address, 'corrupt');
    expect(await rejectionKind(ic.get({ name: ref }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(c.info({ digest: layer.digest }))).toBe(ErrorKind.NotFound);
    expect((await c.listStatuses({ filters: [] })).statuses.map((s) => s.ref)).not.toContain(`pull-${layer.digest}`);
    ic.close();
    c.close();
  });
});

describe.skipIf(!canRun)('Transfer: a registry with Basic auth', () => {
  it("takes registry settings from containerd's hosts.toml directories: berthd's config path, and a request's host_dir", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-transfer-hosts-'));
    // A domain nobody resolves, served by the test registry as its mirror.
    const domain = 'mirror-test.invalid';
    const hostsToml = `server = "https://${domain}"\n[host."http://${registry.host}"]\n  capabilities = ["pull", "resolve"]\n`;
    for (const d of ['config-path', 'host-dir']) {
      await mkdir(join(dir, d, domain), { recursive: true });
      await writeFile(join(dir, d, domain, 'hosts.toml'), hostsToml);
    }
    const configured = await startEngine({ root: join(dir, 'root'), state: join(dir, 'state'), registry: { configPath: `${join(dir, 'nothing-here')}:${join(dir, 'config-path')}` } });
    try {
      const ref = `${domain}/busybox:latest`;
      await transferOn(configured.address, pullRequest(ref), { namespace: 'hosts' });
      expect(await ctr(configured.address, '-n', 'hosts', 'run', '--rm', ref, 'mirrored', 'echo', 'from the mirror')).toBe('from the mirror\n');
      await transferOn(berthd.address, pullRequest(ref, { hostDir: join(dir, 'host-dir') }), { namespace: 'hosts' });
      expect(await rejectionKind(transferOn(berthd.address, pullRequest(ref), { namespace: 'no-hosts' }))).toBe(ErrorKind.Unavailable);
    } finally {
      await configured.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('pushes and pulls with credentials from the engine host docker config.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-transfer-auth-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, execFileSync('/usr/bin/htpasswd', ['-Bbn', 'alice', 's3cret']));
    const secured = await startRegistry({ htpasswd });
    const dockerConfig = join(dir, 'config.json');
    await writeFile(dockerConfig, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const authed = await startEngine({ root: join(dir, 'root'), state: join(dir, 'state'), registry: { dockerConfig } });
    try {
      const ref = `${secured.host}/private/busybox:latest`;
      await ctr(authed.address, '-n', 'src', 'images', 'import', images.busybox.path);
      await transferOn(authed.address, pushRequest('docker.io/library/busybox:latest', ref, { plainHttp: true }), { namespace: 'src' });
      expect(await rejectionKind(pull(berthd.address, 'noauth', ref))).toBe(ErrorKind.Unauthenticated);
      await pull(authed.address, 'dst', ref);
      expect(await ctr(authed.address, '-n', 'dst', 'run', '--rm', ref, 'authed', 'echo', 'authenticated')).toBe('authenticated\n');
    } finally {
      await authed.stop();
      await secured.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
