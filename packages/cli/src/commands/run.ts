import { removeContainer, randomHex } from '@berth/client';
import { withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { createNamedContainer, createOptions, parseRun, RUN_FLAGS, type NamedContainer } from '../run-options';
import { createTask, makeFifos, OPEN_STDIN_LABEL, removeContainerFiles, runAttached, startDetached } from '../task-io';

const USAGE = 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]';

/**
 * `berth run`: create a container from an image and run it. In the foreground the exit code is
 * the container's; `-d` prints the id and leaves it running with its output in its log files.
 */
export default async function run(g: Globals, argv: string[]): Promise<number> {
  const { flags, args, help } = parseRun(argv, RUN_FLAGS, USAGE);
  if (help) return usage();
  if (!flags.detach && flags.interactive && flags.tty && !process.stdin.isTTY) throw new CliError('the input device is not a TTY: drop -t, or run berth from a terminal', 1);
  return withCtx(g, async (ctx) => {
    // In the foreground, `mkfifo` runs while the container is being made.
    const fifos = flags.detach ? undefined : makeFifos(ctx, randomHex(6), flags);
    let created: NamedContainer;
    try {
      const opts = createOptions(flags, args);
      if (flags.interactive) opts.labels = { ...opts.labels, [OPEN_STDIN_LABEL]: 'true' };
      created = await createNamedContainer(ctx, flags.name, opts);
    } catch (err) {
      void fifos?.then((f) => f.close(), () => {});
      throw err;
    }
    const { container, mounts } = created;
    try {
      if (flags.detach) {
        try {
          await startDetached(ctx, container, { remove: flags.rm, mounts });
        } catch (err) {
          if (flags.rm) {
            await removeContainer(ctx.conn, container, { force: true }).catch(() => {});
            removeContainerFiles(ctx, container.id);
          }
          throw err;
        }
        process.stdout.write(`${container.id}\n`);
        return 0;
      }
      // With --rm, the removal starts as soon as the container exited (and at the latest here).
      let removal: Promise<void> | undefined;
      const remove = () =>
        (removal ??= removeContainer(ctx.conn, container, { force: true })
          .catch(() => {})
          .then(() => removeContainerFiles(ctx, container.id)));
      try {
        return await runAttached(
          ctx,
          { containerId: container.id },
          (stdio) => createTask(() => ctx.tasks.create(container.id, mounts, stdio)),
          { interactive: flags.interactive, tty: flags.tty, log: !flags.rm, ...(fifos ? { fifos } : {}), ...(flags.rm ? { afterExit: remove } : {}) },
        );
      } finally {
        if (flags.rm) await remove();
      }
    } finally {
      await created.leaseReleased;
    }
  });
}

function usage(): number {
  process.stdout.write(`Usage:  ${USAGE}

Create and run a new container from an image

Options:
  -d, --detach               Run in the background and print the container ID
      --rm                   Remove the container when it exits
  -i, --interactive          Keep STDIN open
  -t, --tty                  Allocate a pseudo-TTY
  -e, --env list             Set environment variables (KEY=VALUE or KEY)
      --env-file list        Read environment variables from a file
  -w, --workdir string       Working directory inside the container
  -u, --user string          Username or UID (format: <name|uid>[:<group|gid>])
      --name string          Assign a name to the container
      --entrypoint string    Overwrite the image's ENTRYPOINT
  -h, --hostname string      Container host name
  -l, --label list           Set metadata on the container
  -v, --volume list          Bind mount a host path: /host:/container[:ro]
      --mount mount          Attach a filesystem mount: type=bind,source=/a,target=/b[,readonly]
                             or type=tmpfs,target=/t[,tmpfs-size=BYTES][,tmpfs-mode=1777]
      --read-only            Mount the container's root filesystem as read only
  -m, --memory bytes         Memory limit (units b, k, m, g)
      --cpus decimal         Number of CPUs (CFS quota over a 100ms period)
      --pids-limit int       Tune container pids limit (-1 for unlimited)
      --network string       none (default) or host
`);
  return 0;
}
