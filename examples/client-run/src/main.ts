/**
 * A program that drives berthd through @berth/client, the way a tool embedding berth would:
 * connects to the socket, loads the busybox test image if the namespace lacks it, runs a command
 * in a container (what `ctr run --rm` does: snapshot, spec from the image config, task with
 * FIFOs, wait, delete), prints its output and exit code, and exits with that code.
 *
 *   node examples/client-run/dist/main.js [--address SOCK] [--namespace NS] [-- CMD ARGS…]
 *   (defaults: /run/berth/berthd.sock, namespace `default`, `echo hello from berth`)
 */
import { dirname, join } from 'node:path';
import { connect, ImagesClient, importArchive, runContainer } from '@berth/client';
import { isNotFound } from '@berth/errdefs';
import { testImage } from '@berth/testimages';

const IMAGE = 'docker.io/library/busybox:latest';

function option(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
}

async function main(argv: string[]): Promise<number> {
  const dashes = argv.indexOf('--');
  const args = dashes >= 0 ? argv.slice(dashes + 1) : ['echo', 'hello from berth'];
  const own = dashes >= 0 ? argv.slice(0, dashes) : argv;
  const address = option(own, '--address', '/run/berth/berthd.sock');
  const conn = connect(address, { namespace: option(own, '--namespace', 'default') });
  try {
    try {
      await new ImagesClient(conn).get(IMAGE);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const loaded = await importArchive(conn, (await testImage('busybox', 'oci')).path);
      console.error(`loaded ${loaded.map((i) => i.name).join(', ')}`);
    }
    // The stdio FIFOs go beside the socket, as berth's CLI puts them.
    const fifoDir = join(dirname(address), 'fifo');
    const { exitStatus } = await runContainer(conn, { image: IMAGE, args, fifoDir, stdout: process.stdout, stderr: process.stderr });
    console.error(`exit code ${exitStatus}`);
    return exitStatus;
  } finally {
    conn.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`client-run: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(125);
  },
);
