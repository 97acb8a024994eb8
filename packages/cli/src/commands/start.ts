import { SnapshotsClient } from '@berth/client';
import { parseArgs } from '../args';
import { findContainer, taskOf, withCtx } from '../context';
import type { Globals } from '../globals';
import { createTask, runAttached, startDetached } from '../task-io';

/** `berth start [-a] [-i] CONTAINER...`: (re)starts containers, output to their logs, or attached with `-a`. */
export default async function start(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { attach: { kind: 'bool', short: 'a' }, interactive: { kind: 'bool', short: 'i' } });
  return withCtx(g, async (ctx) => {
    if (flags.attach || flags.interactive) {
      const c = await findContainer(ctx, args[0] ?? '');
      const t = await taskOf(ctx, c.id);
      if (t) await ctx.tasks.delete(c.id);
      const rootfs = await new SnapshotsClient(ctx.conn, c.snapshotter).mounts(c.snapshotKey);
      const tty = c.spec.process?.terminal ?? false;
      return runAttached(ctx, { containerId: c.id }, (stdio) => createTask(() => ctx.tasks.create(c.id, rootfs, stdio)), { interactive: flags.interactive, tty, log: true });
    }
    for (const ref of args) {
      const c = await findContainer(ctx, ref);
      await startDetached(ctx, c);
      process.stdout.write(`${ref}\n`);
    }
    return 0;
  });
}
