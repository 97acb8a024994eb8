import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { unavailable } from '@berth/errdefs';
import { errnoCode, isEnoent } from './fs-util';

/**
 * A per-ref ingest lock that works across processes: a `lock` file in the ingest directory,
 * created with O_EXCL, holding the owner's pid, the owner's process start time (so a reused
 * pid is not mistaken for the owner) and a random token.
 *
 * A lock whose owner is alive gives `Unavailable` — also to the owning process itself, so two
 * writers in one process exclude each other too. A lock whose owner is dead (killed, crashed)
 * is taken over. Takeovers are serialized through a second O_EXCL file, `lock.takeover`, so two
 * processes that both find a stale lock cannot both win.
 */
export interface IngestLock {
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  start?: string;
  token: string;
}

const self: Owner = { pid: process.pid, start: startTime(process.pid), token: '' };

/** Takes the lock in `dir` (which must exist) for `ref`; `Unavailable` if a live owner holds it. */
export async function acquireIngestLock(dir: string, ref: string): Promise<IngestLock> {
  const path = join(dir, 'lock');
  const owner: Owner = { ...self, token: randomBytes(8).toString('hex') };
  if (await createExclusive(path, owner)) return handle(path, owner.token);
  const current = await readOwner(path);
  if (current && isAlive(current)) throw unavailable(`ref "${ref}": locked by process ${current.pid}`);
  // The owner is gone (or the file is unreadable, i.e. a crash while creating it): take over.
  const takeover = `${path}.takeover`;
  if (!(await createExclusive(takeover, owner))) {
    const other = await readOwner(takeover);
    if (other && isAlive(other)) throw unavailable(`ref "${ref}": lock is being taken over`);
    await unlink(takeover).catch(() => {});
    throw unavailable(`ref "${ref}": stale lock takeover, retry`);
  }
  try {
    const again = await readOwner(path);
    if (again && (again.token !== current?.token || isAlive(again))) {
      throw unavailable(`ref "${ref}": locked by process ${again.pid}`);
    }
    await unlink(path).catch((err: unknown) => {
      if (!isEnoent(err)) throw err;
    });
    if (!(await createExclusive(path, owner))) throw unavailable(`ref "${ref}": locked`);
    return handle(path, owner.token);
  } finally {
    await unlink(takeover).catch(() => {});
  }
}

/** Whether the ref's lock in `dir` is held by a live process. */
export async function isIngestLocked(dir: string): Promise<boolean> {
  const owner = await readOwner(join(dir, 'lock'));
  return owner !== undefined && isAlive(owner);
}

function handle(path: string, token: string): IngestLock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const owner = await readOwner(path);
      if (owner?.token === token) await unlink(path).catch(() => {});
    },
  };
}

async function createExclusive(path: string, owner: Owner): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o644);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(JSON.stringify(owner));
  } finally {
    await fh.close();
  }
  return true;
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    const value = JSON.parse(text) as Owner;
    return typeof value.pid === 'number' ? value : undefined;
  } catch (err) {
    if (isEnoent(err)) return undefined;
    // Empty or torn: the creator died between open and write. Old enough means stale.
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => Infinity);
    return age < 2000 ? { pid: process.pid, token: 'partial' } : undefined;
  }
}

/** Whether `owner` is a running process (not a zombie) that started when the lock says. */
function isAlive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') return false;
  }
  const stat = procStat(owner.pid);
  if (stat === undefined) return true; // no /proc: trust kill(0)
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return owner.start === undefined || owner.start === stat.start;
}

function startTime(pid: number): string | undefined {
  return procStat(pid)?.start;
}

function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces and parentheses).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, start: fields[19]! };
  } catch {
    return undefined;
  }
}
