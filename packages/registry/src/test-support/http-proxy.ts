import http from 'node:http';
import { connect, type Socket } from 'node:net';

/** What a test proxy saw: one line per request, `GET http://…` or `CONNECT host:port`. */
export interface TestHttpProxy {
  /** `http://127.0.0.1:<port>` (with `user:pass@` when it asks for credentials). */
  url: string;
  seen: string[];
  close(): Promise<void>;
}

/**
 * A forward HTTP proxy on 127.0.0.1 for tests: absolute-form requests are forwarded, CONNECT
 * opens a tunnel. Host names in `hosts` are resolved by it alone (`registry.test` → 127.0.0.1),
 * so a request that arrives there can only have come through the proxy. With `credentials`
 * (`user:pass`) it answers 407 to requests without that Proxy-Authorization.
 */
export async function startHttpProxy(opts: { hosts?: Record<string, string>; credentials?: string } = {}): Promise<TestHttpProxy> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const resolve = (host: string): string => opts.hosts?.[host] ?? host;
  const authorized = (req: http.IncomingMessage): boolean =>
    !opts.credentials || req.headers['proxy-authorization'] === `Basic ${Buffer.from(opts.credentials).toString('base64')}`;

  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (!authorized(req)) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const target = new URL(req.url ?? '');
    const { 'proxy-authorization': _, ...headers } = req.headers;
    const upstream = http.request(
      { host: resolve(target.hostname), port: target.port || 80, path: `${target.pathname}${target.search}`, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    sockets.add(client);
    if (!authorized(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const upstream = connect(port, resolve(host), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    client.on('error', end);
  });
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${opts.credentials ? `${opts.credentials}@` : ''}127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
