import { startRegistry } from '@berth/registry/testing';
import { testImage } from '@berth/testimages';
import { connect, TransferClient } from '@berth/client';
import { startBothEngines } from './berthd';
import type { Benchmark } from './harness';

/**
 * Pull + unpack of the large test image (≈163 MiB, several layers) from Debian's docker-registry
 * on 127.0.0.1 over plain HTTP: berthd's server-side pull (Transfer; downloads 3 blobs at a time
 * straight into the content store and unpacks each layer while later ones download) against
 * `ctr images pull --plain-http` on Debian's containerd (a client-side pull through the content
 * API, then unpack). The image is pushed to the registry once; after every round it is removed
 * from the daemon with `images rm --sync`, so each round starts from an empty store.
 */
export const registryPullBenchmark: Benchmark = {
  name: 'registry-pull',
  description: 'pull + unpack of the large image from a local docker-registry: berthd Transfer vs `ctr images pull` on containerd',
  iterations: 5,
  warmup: 1,
  async setup() {
    const engines = await startBothEngines();
    if ('skip' in engines) return engines;
    const { berthd, containerd } = engines;
    const archive = await testImage('large', 'oci');
    const registry = await startRegistry();
    const ref = `${registry.host}/large:latest`;
    // Seed the registry once, then leave berthd empty.
    await berthd.ctr('images', 'import', archive.path);
    await berthd.ctr('images', 'tag', 'docker.io/library/large:latest', ref);
    await berthd.ctr('images', 'push', '--plain-http', ref);
    await berthd.ctr('images', 'rm', '--sync', 'docker.io/library/large:latest', ref);
    return {
      subject: {
        name: 'berthd Transfer pull',
        run: async () => {
          const conn = connect(berthd.address, { namespace: 'bench' });
          try {
            await new TransferClient(conn).pull(ref, { plainHttp: true });
          } finally {
            conn.close();
          }
        },
        after: async () => void (await berthd.ctr('images', 'rm', '--sync', ref)),
      },
      baselines: [
        {
          name: 'ctr images pull (containerd)',
          run: () => containerd.ctr('images', 'pull', '--plain-http', ref),
          after: async () => void (await containerd.ctr('images', 'rm', '--sync', ref)),
        },
      ],
      async teardown() {
        await engines.stop();
        await registry.stop();
      },
    };
  },
};
