import { parseArgs } from '../args';
import { forEachContainer, withCtx } from '../context';
import type { Globals } from '../globals';
import { startDetached } from '../task-io';
import { stopContainer } from './stop';

/**
 * `berth restart [-t SECONDS] [-s SIGNAL] CONTAINER...`: as Docker, stop (the stop signal, SIGKILL
 * after the timeout, default 10 s) then start detached; a stopped or created container is just
 * started. Each container is reported on its own: exit 1 if any failed.
 */
export default async function restart(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { time: { kind: 'string', short: 't' }, timeout: { kind: 'string' }, signal: { kind: 'string', short: 's' } });
  const seconds = Number(flags.time ?? flags.timeout ?? 10);
  return withCtx(g, (ctx) =>
    forEachContainer(ctx, args, async (c, ref) => {
      await stopContainer(ctx, c, seconds, flags.signal);
      await startDetached(ctx, c);
    }),
  );
}
