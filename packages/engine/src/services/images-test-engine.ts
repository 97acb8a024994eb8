import { contentService, diffService, health, imagesService, introspectionService, leasesService, namespacesService, snapshotsService, versionService } from '@berth/api';
import type * as grpc from '@grpc/grpc-js';
import type { EngineContext } from '../context';
import { addService } from '../grpc/service';
import { startTestEngine, type TestEngine, type TestEngineOptions } from '../testing';
import { contentImpl } from './content';
import { ContentNamespaces } from './content-namespaced';
import { diffImpl } from './diff';
import { healthImpl } from './health';
import { imagesImpl } from './images';
import { introspectionImpl } from './introspection';
import { leasesImpl } from './leases';
import { namespacesImpl } from './namespaces';
import { snapshotsImpl } from './snapshots';
import { versionImpl } from './version';

/**
 * A test berthd serving what `ctr images import` / `ctr images ls` / unpack need: Version,
 * Introspection, Health, Namespaces, Leases, Content and Diff over one shared ContentNamespaces,
 * Snapshots and Images (the way engine.ts wires them), plus what `also` adds. Test-only.
 */
export function startImagesTestEngine(
  opts: TestEngineOptions & {
    /** More services to serve beside those (the test's own). */
    also?: (server: grpc.Server, ctx: EngineContext) => void;
  } = {},
): Promise<TestEngine> {
  const { also, ...engineOpts } = opts;
  return startTestEngine((server, ctx) => {
    const contentNamespaces = new ContentNamespaces(ctx.content, ctx.metadata, ctx.gc);
    addService(server, versionService.Version, versionImpl());
    addService(server, health.Health, healthImpl());
    addService(server, introspectionService.Introspection, introspectionImpl(ctx.root, () => []));
    addService(server, namespacesService.Namespaces, namespacesImpl(ctx));
    addService(server, leasesService.Leases, leasesImpl(ctx));
    addService(server, contentService.Content, contentImpl(ctx, contentNamespaces));
    addService(server, snapshotsService.Snapshots, snapshotsImpl(ctx));
    addService(server, imagesService.Images, imagesImpl(ctx));
    addService(server, diffService.Diff, diffImpl(ctx, contentNamespaces));
    also?.(server, ctx);
  }, engineOpts);
}
