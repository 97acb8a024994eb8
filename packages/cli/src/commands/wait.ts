import { parseArgs } from '../args';
import { findContainer, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/** `berth wait CONTAINER...`: blocks until each exits, printing its exit code. */
export default async function wait(g: Globals, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  return withCtx(g, async (ctx) => {
    for (const ref of args) {
      const c = await findContainer(ctx, ref);
      const t = await taskOf(ctx, c.id);
      if (!t) throw new CliError(`container ${ref} has not been started: start it with berth start ${ref}`);
      const { exitStatus } = await ctx.tasks.wait({ containerId: c.id });
      process.stdout.write(`${exitStatus}\n`);
    }
    return 0;
  });
}
