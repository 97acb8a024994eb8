import { withCtx } from '../context';
import type { Globals } from '../globals';
import { OPEN_STDIN_LABEL } from '../task-io';
import { createNamedContainer, createOptions, CREATE_FLAGS, parseRun } from '../run-options';

const USAGE = 'berth create [OPTIONS] IMAGE [COMMAND] [ARG...]';

/** `berth create`: a container that `berth start` runs later; prints its id. */
export default async function create(g: Globals, argv: string[]): Promise<number> {
  const { flags, args, help } = parseRun(argv, CREATE_FLAGS, USAGE);
  if (help) {
    process.stdout.write(`Usage:  ${USAGE}\n\nCreate a new container (the options of berth run, without -d and --rm)\n`);
    return 0;
  }
  return withCtx(g, async (ctx) => {
    const opts = createOptions(flags, args);
    if (flags.interactive) opts.labels = { ...opts.labels, [OPEN_STDIN_LABEL]: 'true' };
    const { container, leaseReleased } = await createNamedContainer(ctx, flags.name, opts);
    await leaseReleased;
    process.stdout.write(`${container.id}\n`);
    return 0;
  });
}
