/**
 * berth's quickstart: builds the deterministic busybox test image from Debian's busybox-static,
 * starts berthd in the background (unless one already answers on the socket), imports the image
 * with containerd's own `ctr`, and runs a container that prints `hello from berth`.
 *
 *   npm run quickstart [-- --root DIR --state DIR]   (defaults: /var/lib/berth, /run/berth)
 *
 * berthd keeps running afterwards (its log is `<state>/berthd.log`), so the next commands in
 * README.md work against it; the last lines printed say how to stop it.
 */
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { testImage } from '@berth/testimages';

const run = promisify(execFile);
const IMAGE = 'docker.io/library/busybox:latest';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function ctr(address: string, ...args: string[]): Promise<string> {
  return (await run('ctr', ['--address', address, '--namespace', 'default', ...args])).stdout;
}

async function answers(address: string): Promise<boolean> {
  return ctr(address, 'version').then(
    () => true,
    () => false,
  );
}

/** Starts berthd detached, logging to `<state>/berthd.log`; resolves with its pid once it answers. */
async function startBerthd(root: string, state: string, address: string): Promise<number> {
  const berthd = join(dirname(createRequire(import.meta.url).resolve('@berth/engine/package.json')), 'dist', 'berthd.js');
  await mkdir(state, { recursive: true });
  const log = join(state, 'berthd.log');
  const child = spawn(process.execPath, [berthd, '--root', root, '--state', state, '--address', address], {
    detached: true,
    stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
  });
  child.unref();
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}; see ${log}`);
    if (await answers(address)) return child.pid!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`berthd did not answer on ${address}; see ${log}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run it as root: berthd mounts file systems and starts containers');
  const root = option('--root', '/var/lib/berth');
  const state = option('--state', '/run/berth');
  const address = join(state, 'berthd.sock');

  const archive = await testImage('busybox', 'oci');
  console.log(`built the busybox test image: ${archive.path}`);

  let started: number | undefined;
  if (await answers(address)) console.log(`berthd is already running on ${address}`);
  else {
    started = await startBerthd(root, state, address);
    console.log(`started berthd (pid ${started}, root ${root}, socket ${address}, log ${join(state, 'berthd.log')})`);
  }

  await ctr(address, 'images', 'import', archive.path);
  console.log(`imported ${IMAGE}`);
  const id = `quickstart-${process.pid}`;
  console.log(`$ ctr --address ${address} run --rm ${IMAGE} ${id} echo hello from berth`);
  process.stdout.write(await ctr(address, 'run', '--rm', IMAGE, id, 'echo', 'hello from berth'));

  console.log(`\nberthd keeps running; try: ctr --address ${address} run --rm -t ${IMAGE} shell sh`);
  if (started !== undefined) console.log(`stop it with: kill ${started}`);
}

main().catch((err) => {
  console.error(`quickstart: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
