import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerdMissing, startContainerd, startCtrDaemon, type Containerd, type CtrDaemon } from '@berth/engine/testing';
import { testImage, type ImageName } from '@berth/testimages';

/** A berthd process on a private root, state dir and socket, driven by the same `ctr` as containerd. */
export type BerthdProcess = CtrDaemon;

const BERTHD = fileURLToPath(new URL('../../packages/engine/dist/berthd.js', import.meta.url));

/** Starts `berthd` (the built command) under a temp dir and waits until `ctr version` answers. */
export async function startBerthd(): Promise<BerthdProcess> {
  const dir = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-bench-berthd-'));
  const address = join(dir, 'berthd.sock');
  return startCtrDaemon('berthd', dir, address, process.execPath, [BERTHD, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address]);
}

/** berthd and containerd side by side for one benchmark; `stop()` stops both. */
export interface BothEngines {
  berthd: BerthdProcess;
  containerd: Containerd;
  stop(): Promise<void>;
}

/**
 * Starts berthd and Debian's containerd, each on its own private root and socket, with the test
 * image `image` (if given) imported into both by the same ctr; or says why containerd cannot run.
 */
export async function startBothEngines(image?: ImageName): Promise<BothEngines | { skip: string }> {
  const missing = containerdMissing();
  if (missing) return { skip: missing };
  const berthd = await startBerthd();
  const containerd = await startContainerd();
  if (image) {
    const archive = (await testImage(image, 'oci')).path;
    await berthd.ctr('images', 'import', archive);
    await containerd.ctr('images', 'import', archive);
  }
  return {
    berthd,
    containerd,
    async stop() {
      await berthd.stop();
      await containerd.stop();
    },
  };
}
