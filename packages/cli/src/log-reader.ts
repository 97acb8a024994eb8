import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { formatTimestamp, readTimes, timeOf } from './log-times';

/** Line-wise output of `logs`: timestamps and a time window (unix ms, both ends included). */
export interface LineFilter {
  timestamps: boolean;
  since?: number;
  until?: number;
}

/**
 * Reads a log file from where it last stopped and writes what is new to `out`. Without a
 * `LineFilter` the bytes go out as they are (a partial last line too); with one, complete lines
 * go out with their times (see log-times.ts), and a partial last line waits for its newline or
 * for `flush()`.
 */
export class LogReader {
  #pos = 0;
  #partial = Buffer.alloc(0);
  #first = true;

  constructor(
    readonly path: string,
    readonly out: NodeJS.WritableStream,
    readonly lines?: LineFilter,
  ) {}

  /** Starts from the file's current end (what is there is not written), as an attach does. */
  skipToEnd(): void {
    this.#first = false;
    this.#pos = existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /** Writes what is new; the first call with `tail` keeps only the last `tail` lines. */
  readAll(tail?: number): void {
    const first = this.#first;
    this.#first = false;
    if (!existsSync(this.path)) return;
    const size = statSync(this.path).size;
    if (size <= this.#pos) return;
    const buf = Buffer.alloc(size - this.#pos);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buf, 0, buf.length, this.#pos);
    } finally {
      closeSync(fd);
    }
    const start = this.#pos;
    this.#pos = size;
    if (this.lines) return this.#writeLines(buf, start, first ? tail : undefined);
    let text = buf;
    if (first && tail !== undefined) {
      const lines = buf.toString('utf8').split('\n');
      const last = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
      text = Buffer.from(tail <= 0 ? '' : last.slice(-tail).map((l) => `${l}\n`).join(''));
    }
    if (text.length) this.out.write(text);
  }

  /** Writes a partial last line held back in line mode. */
  flush(): void {
    if (!this.lines || this.#partial.length === 0) return;
    const line = this.#partial;
    this.#partial = Buffer.alloc(0);
    this.#emit([{ line, end: this.#pos }]);
  }

  #writeLines(buf: Buffer, start: number, tail: number | undefined): void {
    const data = Buffer.concat([this.#partial, buf]);
    const base = start - this.#partial.length;
    const out: { line: Buffer; end: number }[] = [];
    let from = 0;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, from)) {
      out.push({ line: data.subarray(from, nl + 1), end: base + nl + 1 });
      from = nl + 1;
    }
    this.#partial = Buffer.from(data.subarray(from));
    if (tail !== undefined) {
      // --tail counts lines including a partial last one, which then goes out at once.
      const pending = this.#partial.length ? [{ line: this.#partial, end: this.#pos }] : [];
      this.#partial = Buffer.alloc(0);
      this.#emit(tail <= 0 ? [] : [...out, ...pending].slice(-tail));
      return;
    }
    this.#emit(out);
  }

  #emit(lines: { line: Buffer; end: number }[]): void {
    if (lines.length === 0) return;
    const times = readTimes(this.path);
    const f = this.lines!;
    const parts: Buffer[] = [];
    for (const { line, end } of lines) {
      const t = timeOf(times, end);
      if (f.since !== undefined && t < f.since) continue;
      if (f.until !== undefined && t > f.until) continue;
      if (f.timestamps) parts.push(Buffer.from(`${formatTimestamp(t)} `));
      parts.push(line);
    }
    if (parts.length) this.out.write(Buffer.concat(parts));
  }
}
