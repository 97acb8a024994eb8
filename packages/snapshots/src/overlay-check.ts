import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, notImplemented } from '@berth/errdefs';
import { unmountAll } from './mount';
import { sys } from './sys';

/**
 * Finds the overlay options this host needs by mounting a tiny overlay (two lower dirs, an
 * upper and a work dir) in a temp dir under `dir`, writing a file through it, and unmounting:
 *
 * - `index=off` whenever the kernel knows the `index` feature (containerd does the same): with
 *   the index on, reusing a lower dir under another upper can fail with ESTALE;
 * - `userxattr` when the plain mount fails and the variant with it works (an unprivileged user
 *   namespace on Linux 5.11+, where trusted.* xattrs are not available).
 *
 * Throws NotImplemented when the kernel has no overlayfs, FailedPrecondition when it has one
 * but the probe mount fails here (no privilege, or a file system under `dir` overlay cannot
 * use as upper: tmpfs without xattrs, another overlay, NFS, …). The temp dir is always removed.
 */
export async function probeOverlay(dir: string): Promise<string[]> {
  if (!kernelHasOverlay()) throw notImplemented('overlay snapshotter: the kernel has no overlayfs');
  const base = existsSync('/sys/module/overlay/parameters/index') ? ['index=off'] : [];
  const candidates = [base, [...base, 'userxattr']];
  const tmp = await mkdtemp(join(dir, 'new-probe-'));
  let lastError: unknown;
  try {
    for (const options of candidates) {
      try {
        await tryMount(tmp, options);
        return options;
      } catch (err) {
        lastError = err;
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  throw failedPrecondition(`overlay snapshotter: cannot mount overlayfs under ${dir}`, { cause: lastError });
}

async function tryMount(tmp: string, options: string[]): Promise<void> {
  const run = join(tmp, String(Math.random()).slice(2, 10));
  const [l1, l2, upper, work, merged] = ['l1', 'l2', 'upper', 'work', 'merged'].map((d) => join(run, d)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  for (const d of [l1, l2, upper, work, merged]) await mkdir(d, { recursive: true });
  await writeFile(join(l2, 'probe'), 'lower');
  sys.mountOverlay({ lowerdirs: [l1, l2], upperdir: upper, workdir: work, target: merged, options });
  try {
    if ((await readFile(join(merged, 'probe'), 'utf8')) !== 'lower') throw new Error('overlay probe: lower file not visible');
    await writeFile(join(merged, 'probe'), 'upper');
    if ((await readFile(join(upper, 'probe'), 'utf8')) !== 'upper') throw new Error('overlay probe: copy-up failed');
  } finally {
    await unmountAll(merged);
  }
}

function kernelHasOverlay(): boolean {
  try {
    if (/\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))) return true;
  } catch {
    return false;
  }
  // Not registered yet: a module that mount(2) would autoload still counts.
  return existsSync('/sys/module/overlay') || existsSync(`/lib/modules/${readRelease()}/kernel/fs/overlayfs`);
}

function readRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return '';
  }
}
