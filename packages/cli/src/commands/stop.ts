import { parseArgs } from '../args';
import { forEachContainer, parseSignal, taskOf, withCtx, type Ctx } from '../context';
import type { ContainerRecord } from '@berth/client';
import type { Globals } from '../globals';

/**
 * `berth stop [-t SECONDS] [-s SIGNAL] CONTAINER...`: the stop signal (the image's, else
 * SIGTERM), then SIGKILL after the timeout (default 10 s); waits for the exit.
 */
export default async function stop(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { time: { kind: 'string', short: 't' }, timeout: { kind: 'string' }, signal: { kind: 'string', short: 's' } });
  const seconds = Number(flags.time ?? flags.timeout ?? 10);
  return withCtx(g, (ctx) =>
    forEachContainer(ctx, args, async (c, ref) => {
      await stopContainer(ctx, c, seconds, flags.signal);
    }),
  );
}

/** Stops a running container: signal, wait up to `seconds`, then SIGKILL and wait. A stopped one is left alone. */
export async function stopContainer(ctx: Ctx, c: ContainerRecord, seconds: number, signal?: string): Promise<void> {
  const t = await taskOf(ctx, c.id);
  if (!t || t.status === 'stopped' || t.status === 'created') return;
  const ref = { containerId: c.id };
  const ac = new AbortController();
  const exited = ctx.tasks.wait(ref, { signal: ac.signal });
  exited.catch(() => {});
  const sig = parseSignal(signal ?? c.labels['io.containerd.image.config.stop-signal'] ?? 'SIGTERM');
  await ctx.tasks.kill(ref, sig, { all: false });
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), seconds * 1000)))]);
  clearTimeout(timer);
  if (!done) {
    await ctx.tasks.kill(ref, 9, { all: true });
    await exited;
  }
}
