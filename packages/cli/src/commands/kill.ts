import { parseArgs } from '../args';
import { forEachContainer, parseSignal, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/** `berth kill [-s SIGNAL] CONTAINER...`: signals a running container (default SIGKILL). */
export default async function kill(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { signal: { kind: 'string', short: 's' } });
  const sig = parseSignal(flags.signal ?? 'SIGKILL');
  return withCtx(g, (ctx) =>
    forEachContainer(ctx, args, async (c, ref) => {
      const t = await taskOf(ctx, c.id);
      if (!t || t.status !== 'running') throw new CliError(`Error response from daemon: cannot kill container: ${ref}: container ${c.id} is not running`);
      await ctx.tasks.kill({ containerId: c.id }, sig);
    }),
  );
}
