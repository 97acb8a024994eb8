import { parseArgs } from '../args';
import { findContainer, table, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { PS_COLUMNS, procRow } from '../proc';

/**
 * `berth top CONTAINER`: the container's processes (Tasks.ListPids) as `ps -ef` shows them, read
 * from the host's /proc: berth runs on berthd's host. ps options are not supported.
 */
export default async function top(g: Globals, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  if (args.length !== 1) throw new CliError('"top" requires exactly 1 argument: berth top CONTAINER', 125);
  return withCtx(g, async (ctx) => {
    const c = await findContainer(ctx, args[0]!);
    const t = await taskOf(ctx, c.id);
    if (!t || t.status !== 'running') throw new CliError(`Error response from daemon: container ${c.id} is not running`);
    const now = new Date();
    const rows = (await ctx.tasks.pids(c.id))
      .sort((a, b) => a - b)
      .flatMap((pid) => {
        const r = procRow(pid, now);
        return r ? [PS_COLUMNS.map((k) => r[k])] : [];
      });
    process.stdout.write(table(PS_COLUMNS, rows));
    return 0;
  });
}
