import { removeContainer } from '@berth/client';
import { parseArgs } from '../args';
import { forEachContainer, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { removeContainerFiles } from '../task-io';

/** `berth rm [-f] CONTAINER...`: removes stopped containers (running ones with `-f`, killed first). */
export default async function rm(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { force: { kind: 'bool', short: 'f' }, volumes: { kind: 'bool', short: 'v' } });
  return withCtx(g, (ctx) =>
    forEachContainer(ctx, args, async (c, ref) => {
      const t = await taskOf(ctx, c.id);
      if (t && (t.status === 'running' || t.status === 'paused') && !flags.force) {
        throw new CliError(`Error response from daemon: You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
      }
      await removeContainer(ctx.conn, c, { force: flags.force });
      removeContainerFiles(ctx, c.id);
    }),
  );
}
