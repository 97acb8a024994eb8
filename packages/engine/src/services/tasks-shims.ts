import { join } from 'node:path';
import { isDeadlineExceeded, isUnavailable, notFound } from '@berth/errdefs';
import { detectRuntimes } from '@berth/runtime';
import { connectShim, shimSocketPath, startShim, type ShimClient } from '@berth/shim';
import type { EngineContext } from '../context';

/**
 * berthd's shims: one berth-shim per namespace (group `<state>/<ns>`, sockets under
 * `<state>/s`, runtime state under `<state>/runtime/<runtime>/<ns>`), and one ttrpc connection
 * to each, kept open. A shim that went away (idle exit, crash) is reconnected, or restarted when
 * a task is being created; any other call then finds no task (NotFound).
 */
export class TaskShims {
  private readonly clients = new Map<string, Promise<ShimClient>>();
  private runtime: Promise<string> | undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly opts: { runtime?: string; idleExitMs?: number } = {},
  ) {}

  /** The runtime the shims run by default: the option, else the detected default ('crun' or 'runc'). */
  runtimeName(): Promise<string> {
    this.runtime ??= this.opts.runtime
      ? Promise.resolve(this.opts.runtime)
      : detectRuntimes().then(
          (d) => d.default ?? 'runc',
          () => 'runc',
        );
    return this.runtime;
  }

  get socketDir(): string {
    return join(this.ctx.state, 's');
  }

  group(ns: string): string {
    return `${this.ctx.state}/${ns}`;
  }

  async runtimeRoot(ns: string): Promise<string> {
    const runtime = await this.runtimeName();
    return join(this.ctx.state, 'runtime', runtime.split('/').pop()!, ns);
  }

  /**
   * Runs `fn` with the namespace's shim. `start`: start the shim when none answers (Create);
   * otherwise a namespace without a live shim has no tasks, so `fn` is not run and the call is
   * NotFound with `what`. A connection found closed is dropped and made again once.
   */
  async with<T>(ns: string, what: string, start: boolean, fn: (client: ShimClient) => Promise<T>): Promise<T> {
    return this.call(ns, start, fn, {
      onConnectError: (err) => (!start && isUnavailable(err) ? notFound(`${what}: not found`) : err),
    });
  }

  /**
   * Whether the namespace's shim answers (a Connect call within `timeoutMs`): 'dead' when nothing
   * listens on its socket (containerd then runs cleanupAfterDeadShim), 'unresponsive' when it
   * accepts the connection but does not answer in time (alive but slow or stopped: leave it).
   */
  async probe(ns: string, timeoutMs: number): Promise<'alive' | 'dead' | 'unresponsive'> {
    try {
      await this.call(ns, false, (c) => c.connect({}, { timeoutMs }), { connectTimeoutMs: timeoutMs });
      return 'alive';
    } catch (err) {
      if (isUnavailable(err)) return 'dead';
      if (isDeadlineExceeded(err)) return 'unresponsive';
      throw err;
    }
  }

  /** The shim socket of a namespace (what its bundles' `address` files hold). */
  socketPath(ns: string): string {
    return shimSocketPath(this.socketDir, this.group(ns));
  }

  /**
   * `fn` with the namespace's client; a connection found closed is made again once. A failed
   * connect (Unavailable: no shim listens) is thrown as `onConnectError` maps it.
   */
  private async call<T>(
    ns: string,
    start: boolean,
    fn: (client: ShimClient) => Promise<T>,
    opts: { connectTimeoutMs?: number; onConnectError?: (err: unknown) => unknown } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: ShimClient;
      try {
        client = await this.client(ns, start, opts.connectTimeoutMs ?? 5000);
      } catch (err) {
        throw opts.onConnectError ? opts.onConnectError(err) : err;
      }
      try {
        return await fn(client);
      } catch (err) {
        if (attempt > 0 || !isUnavailable(err)) throw err;
        this.drop(ns, client);
      }
    }
  }

  /** Asks every shim this engine connected to to exit now (tests, and an engine that stops its containers). */
  async shutdownAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      all.map(async (p) => {
        const c = await p.catch(() => undefined);
        if (!c) return;
        await c.shutdown({ now: true }).catch(() => {});
        c.close();
      }),
    );
  }

  /** Closes the connections; the shims (and their containers) keep running. */
  close(): void {
    for (const p of this.clients.values()) void p.then((c) => c.close(), () => {});
    this.clients.clear();
  }

  private client(ns: string, start: boolean, connectTimeoutMs: number): Promise<ShimClient> {
    let p = this.clients.get(ns);
    if (!p) {
      p = this.open(ns, start, connectTimeoutMs);
      this.clients.set(ns, p);
      p.catch(() => {
        if (this.clients.get(ns) === p) this.clients.delete(ns);
      });
    }
    return p;
  }

  private async open(ns: string, start: boolean, connectTimeoutMs: number): Promise<ShimClient> {
    if (start) {
      const runtime = await this.runtimeName();
      const shim = await startShim({
        group: this.group(ns),
        socketDir: this.socketDir,
        runtime,
        runtimeRoot: await this.runtimeRoot(ns),
        ...(this.opts.idleExitMs !== undefined ? { idleExitMs: this.opts.idleExitMs } : {}),
      });
      return connectShim(shim.address, { timeoutMs: 5000 });
    }
    return connectShim(this.socketPath(ns), { timeoutMs: connectTimeoutMs });
  }

  private drop(ns: string, client: ShimClient): void {
    const p = this.clients.get(ns);
    if (!p) return;
    void p.then((c) => {
      if (c === client && this.clients.get(ns) === p) this.clients.delete(ns);
    }, () => {});
    // Remove synchronously when it is (almost certainly) this client's promise.
    this.clients.delete(ns);
    client.close();
  }
}
