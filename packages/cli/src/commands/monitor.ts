import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { removeContainer } from '@berth/client';
import { containerDir, logFiles, withCtx } from '../context';
import type { Globals } from '../globals';
import { LogTimeWatcher } from '../log-times';
import { removeContainerFiles } from '../task-io';

/**
 * Hidden `berth __monitor [--rm] ID`: the helper a detached start leaves behind (detached, no
 * stdio), doing for one run of the container what Docker's daemon does:
 * - records when the output was written (see log-times.ts), for `logs -t/--since/--until`;
 * - holds the container's stdin FIFO open (with `-i`), so that a `berth attach` that ends does
 *   not close the container's stdin, as Docker keeps it open for later attaches;
 * - with `--rm`, removes the container (task, snapshot, record, logs) once it exits.
 * It ends when the task exits. A lost connection (berthd restarting) is retried for a minute.
 */
export default async function monitor(g: Globals, argv: string[]): Promise<number> {
  const remove = argv.includes('--rm');
  const id = argv.find((a) => !a.startsWith('-'))!;
  const files = logFiles(g, id);
  const watcher = new LogTimeWatcher([files.stdout, files.stderr]);
  const stdin = holdOpen(join(containerDir(g, id), 'stdin'));
  try {
    for (let attempt = 0; attempt < 60; attempt++) {
      try {
        return await withCtx(g, async (ctx) => {
          try {
            await ctx.tasks.wait({ containerId: id });
          } catch (err) {
            if ((err as { kind?: string }).kind !== 'NotFound') throw err;
          }
          watcher.stop();
          if (!remove) return 0;
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
  } finally {
    watcher.stop();
    if (stdin !== undefined) closeSync(stdin);
  }
}

/** A write end of the FIFO at `path` when it exists and the shim reads it, else undefined. */
function holdOpen(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined; // ENXIO: nobody reads it
  }
}
