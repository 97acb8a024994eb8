import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { openEngineContext, type EngineContext } from '../context';
import { startServer, type Berthd } from '../daemon/daemon';
import { silentLogger, type Logger } from '../daemon/log';
import type { GcSchedulerOptions } from '../gc';

/** A berthd on a fresh temp dir, serving what the test registered. */
export interface TestEngine extends Berthd {
  /** The temp dir holding `root/` and `state/`; removed by `stop()`. */
  readonly dir: string;
  /** The services' shared context (metadata store, content store) over `root`. */
  readonly ctx: EngineContext;
}

/** Options of `startTestEngine`. */
export interface TestEngineOptions {
  log?: Logger;
  /** Prefix of the temp dir's name (default `berth-test-`). */
  prefix?: string;
  /** Keep the temp dir after `stop()` (to look at it after a failure). */
  keep?: boolean;
  /** The garbage collector's schedule (see `openEngineContext`); default: only when asked. */
  gc?: Omit<GcSchedulerOptions, 'log'>;
}

/**
 * Starts berthd's gRPC server on a new temp dir (`<dir>/root`, `<dir>/state/berthd.sock`) with
 * only the services `register` adds, over an `EngineContext` opened on that root: the way to
 * test a service before engine.ts wires it, e.g.
 *
 * ```ts
 * const engine = await startTestEngine((server, ctx) => addService(server, leasesService.Leases, leasesImpl(ctx)));
 * await ctr(engine.address, 'leases', 'ls');
 * await engine.stop();
 * ```
 *
 * `stop()` stops the server, closes the context and removes the temp dir (unless `keep`).
 */
export async function startTestEngine(
  register: (server: grpc.Server, ctx: EngineContext) => void | Promise<void>,
  opts: TestEngineOptions = {},
): Promise<TestEngine> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix ?? 'berth-test-'));
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  let ctx: EngineContext | undefined;
  let berthd: Berthd;
  try {
    berthd = await startServer({ root, state }, async (server) => {
      ctx = openEngineContext({ root, state, log: opts.log ?? silentLogger, ...(opts.gc && { gc: opts.gc }) });
      await register(server, ctx);
    });
  } catch (err) {
    ctx?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const opened = ctx!;
  return {
    ...berthd,
    dir,
    ctx: opened,
    async stop() {
      await berthd.stop();
      await opened.close();
      if (!opts.keep) await rm(dir, { recursive: true, force: true });
    },
  };
}
