import { createServer, connect, type Socket } from 'node:net';

export interface ProxyHooks {
  /**
   * Called with each chunk going from the server to the client, and the number of bytes this
   * connection carried that way before it; return 'cut' to destroy both sides instead of
   * forwarding, or a Buffer to forward in its place.
   */
  downstream?(chunk: Buffer, before: number): Buffer | 'cut';
  /** Sees each chunk the client sends, and the bytes this connection carried that way before it; 'cut' destroys both sides instead. */
  upstream?(chunk: Buffer, before: number): void | 'cut';
}

export interface TcpProxy {
  host: string;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `target` (`host:port`) that lets a test tamper with the bytes. */
export async function startTcpProxy(target: string, hooks: ProxyHooks = {}): Promise<TcpProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    let down = 0;
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    let up = 0;
    client.on('data', (c: Buffer) => {
      const verdict = hooks.upstream?.(c, up);
      up += c.length;
      if (verdict === 'cut') return end();
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      const out = hooks.downstream ? hooks.downstream(c, down) : c;
      down += c.length;
      if (out === 'cut') return end();
      if (!client.write(out)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
