import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isNotFound } from '@berth/errdefs';
import { createRuntime } from '@berth/runtime';
import { unmountAll } from '@berth/snapshots/mount';
import { readExit } from '../server/exit-file';
import { bundleAddress } from './paths';

/** What `cleanupTask` reports: the init's pid and exit (137 when it had to be killed). */
export interface CleanupResult {
  pid: number;
  exitStatus: number;
  /** Milliseconds since the epoch. */
  exitedAt: number;
}

/**
 * Cleans up after a dead shim (containerd's `shim delete`): force-deletes the container in its
 * runtime (killing whatever still runs), unmounts `<bundle>/rootfs`, removes the files the shim
 * kept in the bundle and its stale socket, and reports the exit: the one the shim recorded on
 * disk before dying, else 137 (killed now). Safe to run twice. `runtime`/`runtimeRoot` are only
 * needed when the bundle has no `runtime.json` (the shim died before Create finished).
 */
export async function cleanupTask(opts: { bundle: string; id: string; runtime?: string; runtimeRoot?: string }): Promise<CleanupResult> {
  const { bundle, id } = opts;
  const recorded = readRuntimeRecord(bundle);
  const binary = recorded?.binary ?? opts.runtime;
  const root = recorded?.root ?? opts.runtimeRoot;
  let killedAt = Date.now();
  if (binary && root) {
    const runtime = createRuntime({ binary, root, sealedCopy: false });
    await runtime.delete(id, { force: true }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    killedAt = Date.now();
  }
  await unmountAll(join(bundle, 'rootfs'));
  const exit = readExit(bundle);
  const pid = exit?.pid || readPidQuietly(join(bundle, 'init.pid'));
  const socket = bundleAddress(bundle);
  if (socket) rmSync(socket, { force: true });
  for (const name of ['address', 'runtime.json', 'init.pid']) rmSync(join(bundle, name), { force: true });
  rmSync(join(bundle, 'exits'), { recursive: true, force: true });
  return exit ? { pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt } : { pid, exitStatus: 137, exitedAt: killedAt };
}

function readRuntimeRecord(bundle: string): { binary: string; root: string } | undefined {
  try {
    const r = JSON.parse(readFileSync(join(bundle, 'runtime.json'), 'utf8')) as { binary?: unknown; root?: unknown };
    return typeof r.binary === 'string' && typeof r.root === 'string' ? { binary: r.binary, root: r.root } : undefined;
  } catch {
    return undefined;
  }
}

function readPidQuietly(path: string): number {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
