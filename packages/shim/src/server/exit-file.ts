import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How a process ended, as kept on disk and reported by Wait/State/Delete. */
export interface ExitRecord {
  pid: number;
  /** The exit code, or 128+signal when killed (137 for SIGKILL). */
  exitStatus: number;
  /** When the shim reaped it, in milliseconds since the epoch. */
  exitedAt: number;
}

/** Where the exit statuses of a bundle's processes live: `<bundle>/exits/<init|exec-ID>.json`. */
export function exitPath(bundle: string, execId = ''): string {
  return join(bundle, 'exits', execId === '' ? 'init.json' : `exec-${execId}.json`);
}

/**
 * Writes a process's exit record atomically (temp file + rename), so a reader sees the whole
 * record or none. Kept until the process is deleted, so that a client that reconnects, or the
 * cleanup of a dead shim, still learns the status.
 */
export function writeExit(bundle: string, execId: string, record: ExitRecord): void {
  const path = exitPath(bundle, execId);
  mkdirSync(join(bundle, 'exits'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  renameSync(tmp, path);
}

/** The exit record of a process, or undefined when it has none (still running, or never written). */
export function readExit(bundle: string, execId = ''): ExitRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(exitPath(bundle, execId), 'utf8')) as Partial<ExitRecord>;
    if (typeof r.exitStatus !== 'number' || typeof r.exitedAt !== 'number') return undefined;
    return { pid: r.pid ?? 0, exitStatus: r.exitStatus, exitedAt: r.exitedAt };
  } catch {
    return undefined;
  }
}

export function removeExit(bundle: string, execId = ''): void {
  rmSync(exitPath(bundle, execId), { force: true });
}
