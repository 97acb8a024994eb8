import { constants, existsSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../args';
import { containerDir, findContainer, logFiles, SIGNALS, taskOf, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { LogReader } from '../log-reader';
import { OPEN_STDIN_LABEL } from '../task-io';

/**
 * `berth attach [--no-stdin] [--sig-proxy=false] CONTAINER`: this terminal's stdout and stderr
 * get the running container's output from now on, and with the container's `-i` this stdin
 * feeds the container's. Ends with the container, exiting with its exit code.
 *
 * How, without berthd's help: a detached container's output goes to its log files (the shim
 * appends to them), so attaching follows them from their current end; its stdin is the FIFO
 * `run -di` made in the container's directory, which the shim reads, so attaching opens it for
 * writing. The `__monitor` helper holds that FIFO open too, so the container's stdin stays open
 * when an attach ends (Docker's behaviour for containers not run with stdin-once). With a
 * terminal, this terminal goes raw and resizes the container's; without one, signals are
 * forwarded to the container unless `--sig-proxy=false`. Detach keys are not implemented: end an
 * attach without a terminal with Ctrl-C and `--sig-proxy=false`.
 */
export default async function attach(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { 'no-stdin': { kind: 'bool' }, 'sig-proxy': { kind: 'bool' } });
  if (args.length !== 1) throw new UsageError('"attach" requires exactly 1 argument.\nUsage:  berth attach [OPTIONS] CONTAINER');
  const sigProxy = !argv.some((a) => a === '--sig-proxy=false');
  return withCtx(g, async (ctx) => {
    const c = await findContainer(ctx, args[0]!);
    const t = await taskOf(ctx, c.id);
    if (t?.status === 'paused' || t?.status === 'pausing') throw new CliError('You cannot attach to a paused container, unpause it first');
    if (t?.status !== 'running') throw new CliError('You cannot attach to a stopped container, start it first');
    const ref = { containerId: c.id };
    const tty = c.spec.process?.terminal ?? false;
    const files = logFiles(g, c.id);
    const readers = [new LogReader(files.stdout, process.stdout), new LogReader(files.stderr, process.stderr)];
    for (const r of readers) r.skipToEnd();
    const exited = ctx.tasks.wait(ref);
    let done = false;
    exited.then(
      () => (done = true),
      () => (done = true),
    );
    const cleanups: (() => void)[] = [];
    try {
      const fifo = join(containerDir(g, c.id), 'stdin');
      if (!flags['no-stdin'] && c.labels[OPEN_STDIN_LABEL] === 'true' && existsSync(fifo)) {
        const sink = new Socket({ fd: openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK), readable: false, writable: true });
        sink.on('error', () => {});
        process.stdin.pipe(sink, { end: false });
        cleanups.push(() => {
          process.stdin.unpipe(sink);
          process.stdin.pause();
          sink.destroy();
        });
        if (tty && process.stdin.isTTY) {
          process.stdin.setRawMode(true);
          cleanups.push(() => process.stdin.setRawMode(false));
        }
      }
      if (tty && process.stdout.isTTY) {
        const resize = () => void ctx.tasks.resize(ref, process.stdout.columns, process.stdout.rows).catch(() => {});
        resize();
        process.stdout.on('resize', resize);
        cleanups.push(() => process.stdout.off('resize', resize));
      }
      if (!tty && sigProxy) {
        for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
          const forward = () => void ctx.tasks.kill(ref, SIGNALS[name.slice(3)]!).catch(() => {});
          process.on(name, forward);
          cleanups.push(() => process.off(name, forward));
        }
      }
      while (!done) {
        await new Promise((r) => setTimeout(r, 50));
        for (const r of readers) r.readAll();
      }
      for (const r of readers) r.readAll();
      const status = await exited.catch(() => undefined);
      return status?.exitStatus ?? (await taskOf(ctx, c.id))?.exitStatus ?? 0;
    } finally {
      for (const f of cleanups) f();
    }
  });
}
