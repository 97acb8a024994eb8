/**
 * berth's quickstart: builds the deterministic busybox test image from Debian's busybox-static,
 * starts berthd in the background with `berth daemon start` (unless one already answers on the
 * socket), loads the image with `berth load`, and runs `berth run --rm busybox echo hello from
 * berth`, which prints `hello from berth`.
 *
 *   npm run quickstart [-- --root DIR --state DIR]   (defaults: /var/lib/berth, /run/berth)
 *
 * berthd keeps running afterwards (its log is `<state>/berthd.log`), so the next commands in
 * README.md work against it; `berth daemon stop` stops it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { testImage } from '@berth/testimages';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** The built `berth` command and `berthd` program of this checkout. */
const BERTH = join(dirname(require.resolve('@berth/cli/package.json')), 'bin', 'berth');
const BERTHD = join(dirname(require.resolve('@berth/engine/package.json')), 'dist', 'berthd.js');

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run it as root: berthd mounts file systems and starts containers');
  const root = option('--root', '/var/lib/berth');
  const state = option('--state', '/run/berth');
  const address = join(state, 'berthd.sock');
  const berth = (...args: string[]) => run(BERTH, ['--address', address, ...args]).then((r) => r.stdout);
  const shown = (args: string[]) => `npx berth ${address === '/run/berth/berthd.sock' ? '' : `--address ${address} `}${args.join(' ')}`;

  const archive = await testImage('busybox', 'oci');
  console.log(`built the busybox test image: ${archive.path}`);

  process.stdout.write(await berth('daemon', 'start', '--root', root, '--state', state, '--berthd', BERTHD));
  process.stdout.write(await berth('load', '-i', archive.path));

  // The container's output goes straight to this terminal, as it would from a shell.
  const args = ['run', '--rm', 'busybox', 'echo', 'hello from berth'];
  console.log(`$ ${shown(args)}`);
  const r = spawnSync(BERTH, ['--address', address, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`berth run exited with ${r.status ?? r.signal}`);

  console.log(`\nberthd keeps running; try: ${shown(['run', '--rm', '-it', 'busybox', 'sh'])}`);
  console.log(`stop it with: ${shown(['daemon', 'stop'])}`);
}

main().catch((err) => {
  console.error(`quickstart: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
