import { containersService, contentService, diffService, imagesService, leasesService, namespacesService, snapshotsService, tasksService } from '@berth/api';
import { testImage } from '@berth/testimages';
import { addService } from '../grpc/service';
import { runCtr, startTestEngine, type TestEngine } from '../testing';
import { containersImpl } from './containers';
import { contentImpl } from './content';
import { ContentNamespaces } from './content-namespaced';
import { diffImpl } from './diff';
import { imagesImpl } from './images';
import { leasesImpl } from './leases';
import { namespacesImpl } from './namespaces';
import { snapshotsImpl } from './snapshots';
import { TaskShims, tasksImpl } from './tasks';

/**
 * A test berthd serving what `ctr run` needs (Namespaces, Leases, Containers, Snapshots,
 * Content and Diff over one ContentNamespaces, Images, Tasks through a `TaskShims` whose shims
 * stay up for the whole file), with the busybox test image imported (not unpacked: `ctr run`
 * unpacks it). Test-only; the caller shuts the shims down and stops the engine.
 */
export async function startTasksTestEngine(prefix: string): Promise<{ engine: TestEngine; shims: TaskShims }> {
  let shims: TaskShims | undefined;
  const engine = await startTestEngine(
    (server, ctx) => {
      shims = new TaskShims(ctx, { idleExitMs: 600_000 });
      const cn = new ContentNamespaces(ctx.content, ctx.metadata, ctx.gc);
      addService(server, namespacesService.Namespaces, namespacesImpl(ctx));
      addService(server, leasesService.Leases, leasesImpl(ctx));
      addService(server, containersService.Containers, containersImpl(ctx));
      addService(server, snapshotsService.Snapshots, snapshotsImpl(ctx));
      addService(server, contentService.Content, contentImpl(ctx, cn));
      addService(server, imagesService.Images, imagesImpl(ctx));
      addService(server, diffService.Diff, diffImpl(ctx, cn));
      addService(server, tasksService.Tasks, tasksImpl(ctx, { shims: shims! }));
    },
    { prefix },
  );
  const image = await testImage('busybox', 'oci');
  const r = await runCtr(engine.address, ['images', 'import', '--no-unpack', image.path]);
  if (r.code !== 0) {
    await shims!.shutdownAll();
    await engine.stop();
    throw new Error(r.stderr);
  }
  return { engine, shims: shims! };
}
