import { parseArgs } from '../args';
import { findContainer, parseSignal, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/** `berth kill [-s SIGNAL] CONTAINER...`: signals a running container (default SIGKILL). */
export default async function kill(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { signal: { kind: 'string', short: 's' } });
  const sig = parseSignal(flags.signal ?? 'SIGKILL');
  return withCtx(g, async (ctx) => {
    let code = 0;
    for (const ref of args) {
      try {
        const c = await findContainer(ctx, ref);
        const t = await taskOf(ctx, c.id);
        if (!t || t.status !== 'running') throw new CliError(`Error response from daemon: cannot kill container: ${ref}: container ${c.id} is not running`);
        await ctx.tasks.kill({ containerId: c.id }, sig);
        process.stdout.write(`${ref}\n`);
      } catch (err) {
        process.stderr.write(`berth: ${(err as Error).message}\n`);
        code = 1;
      }
    }
    return code;
  });
}
