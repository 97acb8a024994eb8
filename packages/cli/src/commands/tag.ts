import { normalizeReference } from '@berth/client';
import { UsageError, parseArgs } from '../args';
import { withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/** `berth tag SOURCE TARGET`: another name for the same image. */
export default async function tag(g: Globals, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  if (args.length !== 2) throw new UsageError('"tag" requires exactly 2 arguments.\nUsage:  berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]');
  return withCtx(g, async (ctx) => {
    let src;
    try {
      src = await ctx.images.get(normalizeReference(args[0]!));
    } catch (err) {
      if ((err as { kind?: string }).kind === 'NotFound') throw new CliError(`Error response from daemon: No such image: ${args[0]}`);
      throw err;
    }
    let target: string;
    try {
      target = normalizeReference(args[1]!);
    } catch (err) {
      throw new CliError(`invalid reference format: ${args[1]}: ${(err as Error).message}`);
    }
    await ctx.images.put({ name: target, target: src.target, labels: src.labels });
    return 0;
  });
}
