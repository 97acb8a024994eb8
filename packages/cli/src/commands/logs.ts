import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { parseArgs, UsageError } from '../args';
import { findContainer, logFiles, taskOf, withCtx } from '../context';
import type { Globals } from '../globals';

/**
 * `berth logs [-f] [--tail N] CONTAINER`: the container's stdout and stderr from its log files
 * (to this stdout and stderr). With `-f`, follows until the container exits.
 */
export default async function logs(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { follow: { kind: 'bool', short: 'f' }, tail: { kind: 'string', short: 'n' } });
  if (args.length !== 1) throw new UsageError('"logs" requires exactly 1 argument.\nUsage:  berth logs [OPTIONS] CONTAINER');
  return withCtx(g, async (ctx) => {
    const c = await findContainer(ctx, args[0]!);
    const files = logFiles(g, c.id);
    const tail = flags.tail === undefined || flags.tail === 'all' ? undefined : Number(flags.tail);
    const readers = [new LogReader(files.stdout, process.stdout), new LogReader(files.stderr, process.stderr)];
    for (const r of readers) r.readAll(tail);
    if (!flags.follow) return 0;
    const t = await taskOf(ctx, c.id);
    if (t?.status === 'running') {
      const exited = ctx.tasks.wait({ containerId: c.id });
      let done = false;
      exited.then(
        () => (done = true),
        () => (done = true),
      );
      while (!done) {
        await new Promise((r) => setTimeout(r, 100));
        for (const r of readers) r.readAll();
      }
      for (const r of readers) r.readAll();
    }
    return 0;
  });
}

/** Reads a log file from where it last stopped. */
class LogReader {
  #pos = 0;
  constructor(
    readonly path: string,
    readonly out: NodeJS.WritableStream,
  ) {}

  /** Writes what is new; the first call with `tail` keeps only the last `tail` lines. */
  readAll(tail?: number): void {
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
    this.#pos = size;
    let text = buf;
    if (tail !== undefined) {
      const lines = buf.toString('utf8').split('\n');
      const last = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
      text = Buffer.from(tail <= 0 ? '' : last.slice(-tail).map((l) => `${l}\n`).join(''));
    }
    if (text.length) this.out.write(text);
  }
}
