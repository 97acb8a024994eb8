import { createReadStream, existsSync } from 'node:fs';
import { importRootfs, normalizeReference, parsePlatform } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { imageChanges } from '../image-changes';

/**
 * `berth import [-c CHANGE] [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]`: a one-layer image from a
 * root filesystem tar (plain or gzip; `-` reads stdin), as `docker import`. Prints the image id
 * (`sha256:…`, the config digest). Without a name the image is `import-YYYY-MM-DD@sha256:…`
 * (containerd's naming), which `berth images` lists with TAG `<none>`.
 */
export default async function importCmd(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { change: { kind: 'list', short: 'c' }, message: { kind: 'string', short: 'm' }, platform: { kind: 'string' } });
  if (args.length < 1 || args.length > 2) throw new UsageError('"import" requires at least 1 and at most 2 arguments.\nUsage:  berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]');
  const [file, repo] = args as [string, string | undefined];
  let name: string | undefined;
  if (repo !== undefined) {
    try {
      name = normalizeReference(repo);
    } catch (err) {
      throw new CliError(`invalid reference format: ${repo}: ${(err as Error).message}`);
    }
  }
  if (/^https?:\/\//.test(file)) throw new CliError(`importing from a URL is not supported by berth: download ${file} first`);
  if (file === '-' && process.stdin.isTTY) throw new CliError('requested import from stdin, but stdin is a terminal: pipe a tar into berth import -');
  if (file !== '-' && !existsSync(file)) throw new CliError(`open ${file}: no such file or directory`);
  const config = imageChanges(flags.change);
  const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
  const source = file === '-' ? process.stdin : createReadStream(file);
  return withCtx(g, async (ctx) => {
    const { config: id } = await importRootfs(ctx.conn, source, {
      ...(name ? { name } : {}),
      config,
      ...(flags.message ? { message: flags.message } : {}),
      ...(platform ? { platform } : {}),
    });
    process.stdout.write(`${id.digest}\n`);
    return 0;
  });
}
