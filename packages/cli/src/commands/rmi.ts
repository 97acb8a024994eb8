import { familiarString, normalizeReference } from '@berth/client';
import { parseArgs } from '../args';
import { withCtx } from '../context';
import type { Globals } from '../globals';
import { imageRows } from '../image-list';

/**
 * `berth rmi IMAGE...`: by name (untags it) or by image id (removes every name of it). The
 * blobs go with the garbage collection once nothing references them. Exit 1 if any was missing.
 */
export default async function rmi(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { force: { kind: 'bool', short: 'f' } });
  return withCtx(g, async (ctx) => {
    let code = 0;
    const rows = await imageRows(ctx);
    const containers = await ctx.containers.list();
    for (const ref of args) {
      let names: string[];
      const byId = /^(sha256:)?[0-9a-f]{4,64}$/.test(ref) ? rows.filter((r) => r.FullID.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, ''))) : [];
      if (byId.length) names = byId.map((r) => r.Name);
      else {
        let n: string;
        try {
          n = normalizeReference(ref);
        } catch {
          n = ref;
        }
        names = rows.some((r) => r.Name === n) ? [n] : [];
      }
      if (names.length === 0) {
        process.stderr.write(`berth: Error response from daemon: No such image: ${ref}\n`);
        code = 1;
        continue;
      }
      const user = flags.force ? undefined : containers.find((c) => names.includes(c.image));
      if (user) {
        process.stderr.write(`berth: Error response from daemon: conflict: unable to remove repository reference "${ref}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image\n`);
        code = 1;
        continue;
      }
      for (const n of names) {
        await ctx.images.delete(n, { sync: true });
        process.stdout.write(`Untagged: ${familiarString(n)}\n`);
      }
    }
    return code;
  });
}
