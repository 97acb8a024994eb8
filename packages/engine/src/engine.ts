import { containersService, contentService, diffService, eventsService, health, imagesService, introspectionService, leasesService, namespacesService, snapshotsService, streamingService, tasksService, transferService, versionService } from '@berth/api';
import { openEngineContext, type EngineContext } from './context';
import type { EventExchange } from './events';
import { resolveOptions, startServer, type Berthd, type BerthdOptions } from './daemon/daemon';
import { silentLogger, type Logger } from './daemon/log';
import { addService, type CallObserver } from './grpc/service';
import { containersImpl } from './services/containers';
import { contentImpl } from './services/content';
import { ContentNamespaces } from './services/content-namespaced';
import { diffImpl } from './services/diff';
import { eventsImpl } from './services/events';
import { healthImpl } from './services/health';
import { imagesImpl } from './services/images';
import { introspectionImpl, type PluginInfo } from './services/introspection';
import { leasesImpl } from './services/leases';
import { namespacesImpl } from './services/namespaces';
import { snapshotsImpl } from './services/snapshots';
import { streamingImpl } from './services/streaming';
import { transferImpl } from './services/transfer';
import type { RegistrySettings } from './transfer/registry';
import { StreamManager } from './transfer/streams';
import { TaskManager, tasksImpl } from './services/tasks';
import { versionImpl } from './services/version';

/** Options of `startEngine`: berthd's settings plus where it logs. */
export interface EngineOptions extends BerthdOptions {
  log?: Logger;
  /**
   * The event exchange to publish on (default: a new one). An embedding program (or a test)
   * that subscribes before `startEngine` also sees what startup publishes, such as the
   * `/tasks/exit` and `/tasks/delete` of tasks whose shim died while berthd was down.
   */
  events?: EventExchange;
  /** Registry credentials and settings for server-side pull and push (Transfer). */
  registry?: RegistrySettings;
}

/** The gRPC services berthd serves so far, as Introspection reports them. */
const GRPC_PLUGINS: PluginInfo[] = [
  { type: 'io.containerd.grpc.v1', id: 'introspection' },
  { type: 'io.containerd.grpc.v1', id: 'version' },
  { type: 'io.containerd.grpc.v1', id: 'healthcheck' },
  { type: 'io.containerd.grpc.v1', id: 'events' },
  { type: 'io.containerd.grpc.v1', id: 'namespaces' },
  { type: 'io.containerd.grpc.v1', id: 'leases' },
  { type: 'io.containerd.grpc.v1', id: 'containers' },
  { type: 'io.containerd.grpc.v1', id: 'snapshots' },
  { type: 'io.containerd.grpc.v1', id: 'content' },
  { type: 'io.containerd.content.v1', id: 'content' },
  { type: 'io.containerd.grpc.v1', id: 'images' },
  { type: 'io.containerd.grpc.v1', id: 'diff' },
  { type: 'io.containerd.differ.v1', id: 'walking' },
  { type: 'io.containerd.grpc.v1', id: 'tasks' },
  { type: 'io.containerd.grpc.v1', id: 'streaming' },
  { type: 'io.containerd.grpc.v1', id: 'transfer' },
  { type: 'io.containerd.transfer.v1', id: 'local' },
  { type: 'io.containerd.runtime.v2', id: 'task' },
  { type: 'io.containerd.snapshotter.v1', id: 'overlayfs' },
  { type: 'io.containerd.snapshotter.v1', id: 'native' },
];

/**
 * Starts berthd in this process: the gRPC server on its unix socket with the services wired so
 * far (Version, Introspection, grpc.health.v1, Namespaces, Leases, Containers, Snapshots, Content, Images, Diff, Events, Streaming, Transfer (server-side pull and push), Tasks through berth-shim). `stop()` ends it; containers keep running.
 */
export async function startEngine(opts: EngineOptions = {}): Promise<Berthd> {
  const log = opts.log ?? silentLogger;
  const o = resolveOptions(opts);
  let ctx: EngineContext | undefined;
  let tasks: TaskManager | undefined;
  const berthd = await startServer(opts, async (server) => {
    // Opened only once the root is locked: a second berthd never touches metadata.db.
    // The collector runs after deletions, every minute and once at start (containerd's schedule).
    const opened = openEngineContext({ root: o.root, state: o.state, log, gc: {} });
    ctx = opts.events ? { ...opened, events: opts.events } : opened;
    // At debug level every call is logged with its duration, as containerd's debug log does.
    const observe: CallObserver | undefined = log.enabled?.('debug') === false ? undefined : (path, ms, err) =>
      log.debug(`rpc ${path} ${ms.toFixed(1)}ms${err === undefined ? '' : ` error: ${err instanceof Error ? err.message : String(err)}`}`);
    addService(server, versionService.Version, versionImpl(), observe);
    addService(server, health.Health, healthImpl(), observe);
    addService(server, introspectionService.Introspection, introspectionImpl(o.root, () => GRPC_PLUGINS), observe);
    addService(server, eventsService.Events, eventsImpl(ctx), observe);
    addService(server, namespacesService.Namespaces, namespacesImpl(ctx), observe);
    addService(server, leasesService.Leases, leasesImpl(ctx), observe);
    addService(server, containersService.Containers, containersImpl(ctx), observe);
    addService(server, snapshotsService.Snapshots, snapshotsImpl(ctx), observe);
    // One ContentNamespaces for the whole engine: digest locks and ingest progress are shared.
    const contentNamespaces = new ContentNamespaces(ctx.content, ctx.metadata, ctx.gc);
    addService(server, contentService.Content, contentImpl(ctx, contentNamespaces), observe);
    addService(server, imagesService.Images, imagesImpl(ctx), observe);
    addService(server, diffService.Diff, diffImpl(ctx, contentNamespaces), observe);
    const streams = new StreamManager();
    addService(server, streamingService.Streaming, streamingImpl(streams), observe);
    addService(server, transferService.Transfer, transferImpl(ctx, { contentNamespaces, streams, ...(opts.registry ? { registry: opts.registry } : {}) }), observe);
    tasks = new TaskManager(ctx, { runtime: o.runtime });
    addService(server, tasksService.Tasks, tasksImpl(ctx, { manager: tasks }), observe);
    // Before serving, as containerd's loadExistingTasks: the tasks that outlived the last berthd
    // are live again, and those whose shim died are cleaned up (bounded: a slow shim goes on in the background).
    await tasks.restore();
  });
  return {
    ...berthd,
    async stop() {
      await berthd.stop();
      tasks?.close();
      await ctx?.close();
    },
  };
}
