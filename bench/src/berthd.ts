import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCtrDaemon, type CtrDaemon } from '@berth/engine/testing';

/** A berthd process on a private root, state dir and socket, driven by the same `ctr` as containerd. */
export type BerthdProcess = CtrDaemon;

const BERTHD = fileURLToPath(new URL('../../packages/engine/dist/berthd.js', import.meta.url));

/** Starts `berthd` (the built command) under a temp dir and waits until `ctr version` answers. */
export async function startBerthd(): Promise<BerthdProcess> {
  const dir = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-bench-berthd-'));
  const address = join(dir, 'berthd.sock');
  return startCtrDaemon('berthd', dir, address, process.execPath, [BERTHD, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address]);
}
