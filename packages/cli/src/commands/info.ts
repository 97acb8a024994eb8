import { NamespacesClient, VersionClient } from '@berth/client';
import { parseArgs } from '../args';
import { withCtx } from '../context';
import type { Globals } from '../globals';

/** `berth info`: the server, its namespaces, and the counts of this namespace's containers and images. */
export default async function info(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { format: { kind: 'string', short: 'f' } });
  return withCtx(g, async (ctx) => {
    const [v, namespaces, containers, tasks, images] = await Promise.all([
      new VersionClient(ctx.conn).version(),
      new NamespacesClient(ctx.conn).list(),
      ctx.containers.list(),
      ctx.tasks.list(),
      ctx.images.list(),
    ]);
    const running = tasks.filter((t) => t.status === 'running').length;
    const stopped = tasks.filter((t) => t.status === 'stopped').length;
    const data = {
      ServerVersion: v.version,
      Address: g.address,
      Namespace: g.namespace,
      Namespaces: namespaces.map((n) => n.name),
      Containers: containers.length,
      ContainersRunning: running,
      ContainersStopped: stopped,
      ContainersCreated: containers.length - running - stopped,
      Images: images.length,
      Snapshotter: 'overlayfs',
    };
    if (flags.format === 'json') {
      process.stdout.write(`${JSON.stringify(data)}\n`);
      return 0;
    }
    process.stdout.write(
      `Server Version: ${data.ServerVersion}\nAddress: ${data.Address}\nNamespace: ${data.Namespace}\nNamespaces: ${data.Namespaces.join(', ')}\n` +
        `Containers: ${data.Containers}\n Running: ${running}\n Stopped: ${stopped}\n Created: ${data.ContainersCreated}\nImages: ${data.Images}\nSnapshotter: ${data.Snapshotter}\n`,
    );
    return 0;
  });
}
