import { readdirSync, readFileSync } from 'node:fs';
import { closeSync } from 'node:fs';
import { isSysError, pidfdOpen, reapPid, setChildSubreaper, waitPidfd, type ExitStatus } from '@berth/sys';

/**
 * The shim's reaper. The shim is a child subreaper, so every process the runtime double-forks
 * (the container's init, exec processes) becomes the shim's child when the runtime exits, and
 * so does any other orphan below it. Two kinds of wait:
 *
 * - `watch(pid)`: a process whose exit matters (init, exec). Waited through a pidfd on a thread
 *   of its own, which reaps it and hands back its status, or reaped by the SIGCHLD handler if
 *   that comes first.
 * - orphans nobody watches: reaped by a scan on SIGCHLD, so no zombie is left behind.
 *
 * The scan must not steal the exit of a child that a runtime invocation (reaped through its
 * pidfd, or by libuv when it went through `child_process`) or a watch is about to collect, so it
 * only reaps zombies that are not watched, and only while no runtime invocation is in flight
 * (`track`): a runtime call that ends has been reaped before its promise settles, and a pid the
 * call produced is watched before the call counts as finished.
 */
export class Reaper {
  /** `waitPidfd` by default; tests give a slower one. */
  constructor(private readonly waitExit: (pidfd: number) => Promise<ExitStatus> = waitPidfd) {}

  /** Watched pids → settles their `watch` promise (once; later calls do nothing). */
  private readonly watched = new Map<number, (status: ExitStatus) => void>();
  private inflight = 0;
  private readonly onSigchld = (): void => {
    this.reapWatched();
    this.scan();
  };

  /** Becomes a child subreaper and starts reaping orphans. */
  start(): void {
    setChildSubreaper(true);
    process.on('SIGCHLD', this.onSigchld);
  }

  stop(): void {
    process.off('SIGCHLD', this.onSigchld);
  }

  /**
   * Resolves with `pid`'s exit status once it exits (reaping it). `pid` must be a child of this
   * process, alive or a zombie. The exit is taken by whichever comes first: the pidfd's wait
   * thread, or the SIGCHLD handler (the wait thread can take milliseconds to be scheduled on a
   * busy machine, and an exit's delete and Wait answer wait for it).
   */
  watch(pid: number): Promise<ExitStatus> {
    let fd: number;
    try {
      fd = pidfdOpen(pid);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<ExitStatus>((resolve, reject) => {
      let settled = false;
      const settle = (status: ExitStatus): void => {
        if (settled) return;
        settled = true;
        this.watched.delete(pid);
        resolve(status);
      };
      this.watched.set(pid, settle);
      this.waitExit(fd)
        .then(settle, (err: unknown) => {
          // ECHILD: the SIGCHLD handler reaped it first (and settled it).
          if (!settled) {
            settled = true;
            this.watched.delete(pid);
            reject(err);
          }
        })
        .finally(() => closeSync(fd));
    });
  }

  /** Reaps the watched pids that have exited, settling their watches. */
  private reapWatched(): void {
    for (const [pid, settle] of [...this.watched]) {
      let status: ExitStatus | null;
      try {
        status = reapPid(pid);
      } catch (err) {
        if (isSysError(err, 'ECHILD')) continue; // the wait thread took it: it settles the watch
        throw err;
      }
      if (status) settle(status);
    }
  }

  /** Runs `fn` (a runtime invocation and whatever registers the pids it produced) with the scan held off. */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0) this.scan();
    }
  }

  /**
   * `runtime` with every call tracked (see `track`): each call spawns the runtime binary, whose
   * exit that call must reap itself.
   */
  tracked<T extends object>(runtime: T): T {
    return new Proxy(runtime, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => this.track(() => Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)));
      },
    });
  }

  /** Reaps every zombie child that no one watches; returns how many. */
  scan(): number {
    if (this.inflight > 0) return 0;
    let reaped = 0;
    for (const pid of childPids()) {
      if (this.watched.has(pid) || !isZombie(pid)) continue;
      try {
        if (reapPid(pid)) reaped++;
      } catch (err) {
        if (!isSysError(err, 'ECHILD')) throw err;
      }
    }
    return reaped;
  }
}

/** This process's children, from /proc/self/task/<tid>/children (reparented orphans attach to any thread). */
export function childPids(): number[] {
  const pids = new Set<number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return [];
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const word of text.split(' ')) {
      const pid = Number(word);
      if (Number.isInteger(pid) && pid > 0) pids.add(pid);
    }
  }
  return [...pids];
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..."; comm may hold spaces and parentheses, the state follows the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
