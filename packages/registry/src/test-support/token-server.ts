import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

export interface TokenServerOptions {
  /** PEM paths of the signing key and its certificate (the registry's rootcertbundle). */
  key: string;
  cert: string;
  issuer: string;
  service: string;
  /** Users and their passwords; each gets pull and push. */
  users: Record<string, string>;
  /** Actions an anonymous caller gets. Default none. */
  anonymous?: string[];
}

export interface TokenServer {
  realm: string;
  /** Every token request: the account it authenticated as ('' for anonymous) and the scopes asked. */
  requests: Array<{ account: string; scopes: string[] }>;
  close(): Promise<void>;
}

const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

/**
 * A token server in the manner of Docker's: GET /token?service&scope…, Basic credentials checked
 * against `users`; it answers with an RS256 JWT the registry verifies through the certificate
 * in the `x5c` header, granting the asked actions the caller is allowed.
 */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(readFileSync(opts.key));
  const der = new X509Certificate(readFileSync(opts.cert)).raw;
  const requests: TokenServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const deny = (why: string): void => {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: why }] }));
    };
    if (url.pathname !== '/token' || url.searchParams.get('service') !== opts.service) {
      res.writeHead(404).end();
      return;
    }
    let account = '';
    let allowed = opts.anonymous ?? [];
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const [user, ...rest] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8').split(':');
      if (!auth.startsWith('Basic ') || opts.users[user ?? ''] === undefined || opts.users[user!] !== rest.join(':')) {
        deny('invalid username or password');
        return;
      }
      account = user!;
      allowed = ['pull', 'push'];
    } else if (allowed.length === 0) {
      deny('authentication required');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ account, scopes });
    const access = scopes.map((s) => {
      const parts = s.split(':');
      const actions = parts.pop()!.split(',').filter((a) => allowed.includes(a));
      const [type, ...name] = parts;
      return { type, name: name.join(':'), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: opts.issuer, sub: account, aud: opts.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
