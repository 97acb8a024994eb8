import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '@berth/errdefs';

/**
 * Takes `<root>/berthd.lock` (a file holding the owner's pid, created exclusively). Another live
 * berthd on the same root makes this fail with FailedPrecondition naming its pid; a lock left by
 * a dead one is taken over. Returns the release function.
 */
export function lockRoot(root: string): () => void {
  const path = join(root, 'berthd.lock');
  if (heldHere.has(path)) throw failedPrecondition(`another berthd (pid ${process.pid}) is using root ${root}; stop it first or pick another --root`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        if (ownerOf(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = ownerOf(path);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      throw failedPrecondition(`another berthd (pid ${owner}) is using root ${root}; stop it first or pick another --root`);
    }
    rmSync(path, { force: true });
  }
  throw failedPrecondition(`cannot take the lock ${path}`);
}

/** Locks taken by this process (a second engine in one process must be refused too). */
const heldHere = new Set<string>();

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
