import { removeContainer } from '@berth/client';
import { withCtx } from '../context';
import type { Globals } from '../globals';
import { removeContainerFiles } from '../task-io';

/**
 * Hidden `berth __autoremove ID`: the helper `run -d --rm` leaves behind, detached. It waits for
 * the container's exit and removes it (task, snapshot, record, logs), as Docker's daemon does.
 * A lost connection (berthd restarting) is retried for a minute.
 */
export default async function autoremove(g: Globals, argv: string[]): Promise<number> {
  const id = argv[0]!;
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      return await withCtx(g, async (ctx) => {
        try {
          await ctx.tasks.wait({ containerId: id });
        } catch (err) {
          if ((err as { kind?: string }).kind !== 'NotFound') throw err;
        }
        await removeContainer(ctx.conn, id, { force: true }).catch((err: unknown) => {
          if ((err as { kind?: string }).kind !== 'NotFound') throw err;
        });
        removeContainerFiles(ctx, id);
        return 0;
      });
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return 1;
}
