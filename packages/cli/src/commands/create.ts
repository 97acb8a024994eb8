import { CONTAINER_NAME_LABEL } from '@berth/client';
import { withCtx } from '../context';
import type { Globals } from '../globals';
import { OPEN_STDIN_LABEL } from '../task-io';
import { claimName, createFromImage, createOptions, CREATE_FLAGS, parseRun } from '../run-options';

const USAGE = 'berth create [OPTIONS] IMAGE [COMMAND] [ARG...]';

/** `berth create`: a container that `berth start` runs later; prints its id. */
export default async function create(g: Globals, argv: string[]): Promise<number> {
  const { flags, args, help } = parseRun(argv, CREATE_FLAGS, USAGE);
  if (help) {
    process.stdout.write(`Usage:  ${USAGE}\n\nCreate a new container (the options of berth run, without -d and --rm)\n`);
    return 0;
  }
  return withCtx(g, async (ctx) => {
    const name = await claimName(ctx, flags.name);
    const opts = createOptions(flags, args);
    opts.labels = { ...opts.labels, [CONTAINER_NAME_LABEL]: name, ...(flags.interactive ? { [OPEN_STDIN_LABEL]: 'true' } : {}) };
    const { container } = await createFromImage(ctx, opts);
    process.stdout.write(`${container.id}\n`);
    return 0;
  });
}
