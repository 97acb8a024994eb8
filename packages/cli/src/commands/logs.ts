import { parseArgs, UsageError } from '../args';
import { findContainer, logFiles, taskOf, withCtx } from '../context';
import type { Globals } from '../globals';
import { LogReader, type LineFilter } from '../log-reader';
import { parseTimeArg } from '../time-args';

/**
 * `berth logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER`: the container's stdout
 * and stderr from its log files (to this stdout and stderr). `-t` prefixes each line with the
 * time it was written (RFC 3339, nanosecond digits); `--since`/`--until` keep the lines written
 * in that window. With `-f`, follows until the container exits.
 */
export default async function logs(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    follow: { kind: 'bool', short: 'f' },
    tail: { kind: 'string', short: 'n' },
    timestamps: { kind: 'bool', short: 't' },
    since: { kind: 'string' },
    until: { kind: 'string' },
  });
  if (args.length !== 1) throw new UsageError('"logs" requires exactly 1 argument.\nUsage:  berth logs [OPTIONS] CONTAINER');
  // Docker's daemon reads a --tail that is not a number as "all".
  const tail = flags.tail === undefined || !/^-?\d+$/.test(flags.tail) ? undefined : Number(flags.tail);
  const lines: LineFilter | undefined =
    flags.timestamps || flags.since !== undefined || flags.until !== undefined
      ? {
          timestamps: flags.timestamps,
          ...(flags.since !== undefined ? { since: parseTimeArg(flags.since, 'since') } : {}),
          ...(flags.until !== undefined ? { until: parseTimeArg(flags.until, 'until') } : {}),
        }
      : undefined;
  return withCtx(g, async (ctx) => {
    const c = await findContainer(ctx, args[0]!);
    const files = logFiles(g, c.id);
    const readers = [new LogReader(files.stdout, process.stdout, lines), new LogReader(files.stderr, process.stderr, lines)];
    for (const r of readers) r.readAll(tail);
    if (flags.follow) {
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
    }
    for (const r of readers) r.flush();
    return 0;
  });
}
