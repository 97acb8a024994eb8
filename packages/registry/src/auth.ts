import type { IncomingMessage } from 'node:http';
import { unauthenticated } from '@berth/errdefs';
import { parseChallenges, type Challenge } from './challenge';
import { hostName, type Endpoint } from './hosts';
import { responseError } from './http-errors';
import { readBody, type Transport } from './transport';
import type { CredentialStore, Credentials } from './types';

/** The scope a request needs, `repository:<path>:pull` or `repository:<path>:pull,push`. */
export function repositoryScope(path: string, push: boolean): string {
  return `repository:${path}:${push ? 'pull,push' : 'pull'}`;
}

interface CachedToken {
  header: string;
  expires: number;
}

const systemTls: Endpoint['tls'] = { rejectUnauthorized: true };

/**
 * Answers registries' authentication challenges. A host is sent no credentials until it has
 * answered 401 with a `WWW-Authenticate` challenge; after that every request to it carries the
 * answer: `Basic` with the host's credentials, or a `Bearer` token from the challenge's realm
 * for the request's scopes (anonymous when there are no credentials, else with Basic
 * credentials or an identity token), cached per host, scopes and user until shortly before it
 * expires. Errors are Unauthenticated and say whether credentials were missing or refused.
 */
export class Authorizer {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly transport: Transport,
    private readonly credentials: CredentialStore | undefined,
  ) {}

  /** The Authorization header for a request to `ep` needing `scopes`, or undefined when none is needed yet. */
  async header(ep: Endpoint, scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenges.get(ep.host);
    if (!challenge) return undefined;
    const creds = await this.credentials?.get(ep.host);
    if (challenge.scheme === 'basic') {
      if (!creds) throw unauthenticated(`registry ${ep.host}: authentication required and no credentials are configured for it`);
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const key = [ep.host, challenge.params['realm'], challenge.params['service'], [...scopes].sort().join(' '), creds?.username ?? ''].join('|');
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return cached.header;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetchToken(ep, challenge, scopes, creds, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return token.header;
  }

  /**
   * Records the challenge of a 401 response from `ep` and forgets the tokens for `scopes`, so
   * that the next `header` call answers it afresh. Throws Unauthenticated when the response
   * carries no challenge berth can answer.
   */
  unauthorized(ep: Endpoint, res: IncomingMessage, scopes: string[]): void {
    const challenges = parseChallenges(res.headers['www-authenticate']);
    const usable = challenges.find((c) => c.scheme === 'bearer' && c.params['realm']) ?? challenges.find((c) => c.scheme === 'basic');
    if (!usable) {
      throw unauthenticated(`registry ${ep.host}: 401 with no usable WWW-Authenticate challenge (${String(res.headers['www-authenticate'] ?? 'none')})`);
    }
    this.challenges.set(ep.host, usable);
    const suffix = [...scopes].sort().join(' ');
    for (const key of this.tokens.keys()) if (key.startsWith(`${ep.host}|`) && key.includes(`|${suffix}|`)) this.tokens.delete(key);
  }

  /** The error for a request still refused after answering the challenge. */
  async refused(ep: Endpoint, res: IncomingMessage, what: string): Promise<Error> {
    const creds = await this.credentials?.get(ep.host);
    const base = await responseError(res, what);
    return unauthenticated(
      creds
        ? `${base.message} (the credentials of user ${JSON.stringify(creds.username)} were refused or lack access)`
        : `${base.message} (authentication required and no credentials are configured for ${ep.host})`,
      { cause: base },
    );
  }

  private async fetchToken(
    ep: Endpoint,
    challenge: Challenge,
    scopes: string[],
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CachedToken> {
    const realm = new URL(challenge.params['realm']!);
    const service = challenge.params['service'];
    const tokenEp: Endpoint = {
      ...ep,
      scheme: realm.protocol === 'http:' ? 'http' : 'https',
      host: realm.host,
      header: {},
      // The registry's own trust settings serve a token server on the same host; any other uses the system's.
      tls: hostName(realm.host) === hostName(ep.host) ? ep.tls : systemTls,
      httpFallback: false,
    };
    const what = `registry ${ep.host}: token from ${realm.origin}${realm.pathname}`;
    let res: IncomingMessage;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.transport.send(tokenEp, {
        method: 'POST',
        url: realm.href,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        signal,
      });
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds) {
        url.searchParams.set('account', creds.username);
        headers['Authorization'] = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      }
      res = await this.transport.send(tokenEp, { method: 'GET', url: url.href, headers, signal });
    }
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      const base = await responseError(res, what);
      throw unauthenticated(
        creds
          ? `${base.message} (the credentials of user ${JSON.stringify(creds.username)} were refused)`
          : `${base.message} (anonymous access refused and no credentials are configured for ${ep.host})`,
        { cause: base },
      );
    }
    if (status < 200 || status > 299) throw await responseError(res, what);
    const body = JSON.parse((await readBody(res, 1 << 20, what)).toString('utf8')) as Record<string, unknown>;
    const token = typeof body['token'] === 'string' ? body['token'] : body['access_token'];
    if (typeof token !== 'string' || token === '') throw unauthenticated(`${what}: the response has no token`);
    const lifetime = typeof body['expires_in'] === 'number' && body['expires_in'] > 0 ? body['expires_in'] : 60;
    // Refresh a little early so a token does not expire between our check and the registry's.
    return { header: `Bearer ${token}`, expires: Date.now() + Math.max(lifetime - 10, lifetime / 2) * 1000 };
  }
}
