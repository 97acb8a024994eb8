import { appendFileSync, existsSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';

/**
 * When a container's output was written, for `berth logs -t/--since/--until`.
 *
 * The log files stay raw bytes (the shim appends a detached container's output to them itself,
 * so no berth process sees it go by). Beside each, `<log>.times` holds lines
 * `<end offset> <unix ms>`: "the log had reached `end offset` bytes by `unix ms`". A byte's
 * time is that of the first entry at or past it. Entries are written by whoever watches the
 * output: a foreground `berth run` as it copies each chunk (exact), and for detached containers
 * the `__monitor` helper (runs with `--rm` or `-i`), which watches the file (inotify) and
 * records the file's mtime each time it grows (the time of the burst's last write). Output no
 * entry covers (a plain `run -d`) falls back to the file's mtime.
 */

/** The time index beside `log`. */
export function timesPath(log: string): string {
  return `${log}.times`;
}

/** Records that `log` had `end` bytes at `ms`. */
export function appendTime(log: string, end: number, ms: number): void {
  appendFileSync(timesPath(log), `${end} ${Math.round(ms)}\n`);
}

/** A log's time index, offsets ascending. */
export interface LogTimes {
  ends: number[];
  times: number[];
  /** The time of bytes past the last entry (the file's mtime). */
  fallback: number;
}

/** Reads the index of `log` (empty when there is none). */
export function readTimes(log: string): LogTimes {
  const ends: number[] = [];
  const times: number[] = [];
  const path = timesPath(log);
  if (existsSync(path)) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [e, t] = line.split(' ');
      if (!e || !t) continue;
      const end = Number(e);
      if (ends.length && end <= ends.at(-1)!) continue;
      ends.push(end);
      times.push(Number(t));
    }
  }
  const fallback = existsSync(log) ? statSync(log).mtimeMs : Date.now();
  return { ends, times, fallback };
}

/** The time (unix ms) of the byte before `end`: the first entry at or past `end`, else the fallback. */
export function timeOf(index: LogTimes, end: number): number {
  let lo = 0;
  let hi = index.ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (index.ends[mid]! >= end) hi = mid;
    else lo = mid + 1;
  }
  return lo < index.ends.length ? index.times[lo]! : index.fallback;
}

/** Docker's `--timestamps` format: RFC 3339 with nine fraction digits, UTC. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/**
 * Watches log files and appends an entry each time one grows, until `stop()`, which records a
 * last entry for anything written since. Files that do not exist yet are checked at `stop()`.
 */
export class LogTimeWatcher {
  readonly #logs: string[];
  readonly #sizes = new Map<string, number>();
  readonly #watchers: FSWatcher[] = [];

  constructor(logs: string[]) {
    this.#logs = logs;
    for (const log of logs) {
      const times = readTimes(log);
      this.#sizes.set(log, times.ends.at(-1) ?? 0);
      this.#check(log);
      if (!existsSync(log)) continue;
      try {
        const w = watch(log, { persistent: true }, () => this.#check(log));
        w.on('error', () => w.close());
        this.#watchers.push(w);
      } catch {
        // removed meanwhile: nothing to watch
      }
    }
  }

  /** Stops watching after a final check. */
  stop(): void {
    for (const w of this.#watchers.splice(0)) w.close();
    for (const log of this.#logs) this.#check(log);
  }

  #check(log: string): void {
    try {
      const st = statSync(log);
      if (st.size > this.#sizes.get(log)!) {
        this.#sizes.set(log, st.size);
        appendTime(log, st.size, st.mtimeMs);
      }
    } catch {
      // the log is gone (container removed)
    }
  }
}
