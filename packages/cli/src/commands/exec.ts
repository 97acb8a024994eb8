import { ContentClient, mergeEnv, readSnapshotFiles, resolveImage, resolveUser, type ContainerRecord, randomHex } from '@berth/client';
import type { Ctx } from '../context';
import { parseArgs, UsageError } from '../args';
import { findContainer, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { createTask, runAttached } from '../task-io';

/**
 * `berth exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]`: runs a
 * process in a running container (the init process's spec as the template, as ctr does); exits
 * with its exit code, 126/127 when the command cannot be run.
 */
export default async function exec(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(
    argv,
    {
      interactive: { kind: 'bool', short: 'i' },
      tty: { kind: 'bool', short: 't' },
      detach: { kind: 'bool', short: 'd' },
      env: { kind: 'list', short: 'e' },
      workdir: { kind: 'string', short: 'w' },
      user: { kind: 'string', short: 'u' },
    },
    true,
  );
  if (args.length < 2) throw new UsageError('"exec" requires at least 2 arguments.\nUsage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]');
  const [ref, ...cmd] = args as [string, ...string[]];
  if (flags.interactive && flags.tty && !process.stdin.isTTY) throw new CliError('the input device is not a TTY: drop -t, or run berth from a terminal', 1);
  return withCtx(g, async (ctx) => {
    const c = await findContainer(ctx, ref);
    const t = await taskOf(ctx, c.id);
    if (!t || t.status !== 'running') throw new CliError(`Error response from daemon: container ${c.id} is not running: start it with: berth start ${ref}`, 125);
    const base = c.spec.process!;
    const process_ = {
      ...base,
      args: cmd,
      terminal: flags.tty,
      env: mergeEnv(base.env ?? [], [...flags.env, ...(flags.tty && !(base.env ?? []).some((e) => e.startsWith('TERM=')) ? ['TERM=xterm'] : [])]),
      cwd: flags.workdir ?? base.cwd,
      ...(flags.user ? { user: await userOf(ctx, c, flags.user) } : {}),
    };
    const execId = `exec-${randomHex(8)}`;
    const ref_ = { containerId: c.id, execId };
    if (flags.detach) {
      await createTask(() => ctx.tasks.exec(c.id, execId, process_, {}));
      await ctx.tasks.start(ref_);
      return 0;
    }
    try {
      return await runAttached(ctx, ref_, (stdio) => createTask(() => ctx.tasks.exec(c.id, execId, process_, stdio)), {
        interactive: flags.interactive,
        tty: flags.tty,
        log: false,
      });
    } finally {
      await ctx.tasks.deleteProcess(c.id, execId).catch(() => {});
    }
  });
}

/** `--user`: numeric `uid[:gid]` as is, names from the image's /etc/passwd and /etc/group. */
async function userOf(ctx: Ctx, c: ContainerRecord, user: string): Promise<{ uid: number; gid: number }> {
  const numeric = /^(\d+):(\d+)$/.exec(user);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2]) };
  const image = await resolveImage(new ContentClient(ctx.conn), (await ctx.images.get(c.image)).target);
  const top = image.chainIds.at(-1);
  const [passwd, group] = top ? await readSnapshotFiles(ctx.conn, c.snapshotter || 'overlayfs', top, ['etc/passwd', 'etc/group']) : ['', ''];
  try {
    return resolveUser(user, passwd!, group!);
  } catch (err) {
    throw new CliError((err as Error).message, 125);
  }
}
