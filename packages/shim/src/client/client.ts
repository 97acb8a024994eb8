import { task } from '@berth/api';
import { connect, createClient, type Client } from '@berth/ttrpc';
import { socketPathOf } from './paths';

/** A typed client of a shim's task API; `close()` drops the connection (the shim keeps running). */
export type ShimClient = Client<(typeof task.Task)['methods']> & { close(): void };

/**
 * Connects to the shim at `address` (`unix:///path` or a path). Unavailable when no shim
 * listens there (for example after it died: run `cleanupTask` then).
 */
export async function connectShim(address: string, opts: { timeoutMs?: number } = {}): Promise<ShimClient> {
  const conn = await connect(socketPathOf(address), opts);
  const client = createClient(conn, task.Task) as ShimClient;
  client.close = () => conn.close();
  return client;
}
