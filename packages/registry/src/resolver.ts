import type { IncomingMessage } from 'node:http';
import { dataLoss, isCanceled, notFound } from '@berth/errdefs';
import {
  MediaType,
  defaultTag,
  digestAlgorithm,
  digestOf,
  formatReference,
  isDigest,
  type Descriptor,
  type Digest,
  type Reference,
} from '@berth/spec';
import { repositoryScope } from './auth';
import { manifestAccept } from './fetcher';
import type { Endpoint } from './hosts';
import { responseError } from './http-errors';
import type { Repository } from './repository';
import { readBody } from './transport';
import type { Resolved } from './types';

/** The largest manifest accepted, as in the distribution spec and containerd. */
export const maxManifestSize = 4 << 20;

function mediaTypeOf(res: IncomingMessage): string | undefined {
  const ct = res.headers['content-type']?.split(';')[0]?.trim();
  return ct && ct !== 'application/json' && ct !== 'text/plain' ? ct : undefined;
}

/**
 * Resolves `ref` on `repo`'s endpoints with the `resolve` capability, in order: HEAD on
 * `/manifests/<tag|digest>`, and a GET when the answer lacks the digest or size (the body is
 * then hashed, and for a digest reference must match it). A miss or an error on one endpoint
 * gives way to the next; the last error is thrown.
 */
export async function resolveReference(repo: Repository, ref: Reference, signal?: AbortSignal): Promise<Resolved> {
  const tag = ref.digest === undefined ? (ref.tag ?? defaultTag) : undefined;
  const name = formatReference(ref.digest === undefined ? { ...ref, tag: tag! } : { domain: ref.domain, path: ref.path, name: ref.name, digest: ref.digest });
  const target = ref.digest ?? tag!;
  const scopes = [repositoryScope(repo.path, false)];
  let lastError: unknown = notFound(`resolve ${name}: no endpoint may resolve on ${repo.domain}`);
  for (const ep of repo.with('resolve')) {
    try {
      return { name, descriptor: await resolveOn(repo, ep, target, ref.digest, scopes, name, signal) };
    } catch (err) {
      if (isCanceled(err)) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

async function resolveOn(
  repo: Repository,
  ep: Endpoint,
  target: string,
  digest: Digest | undefined,
  scopes: string[],
  name: string,
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  const what = `resolve ${name} on ${ep.host}`;
  const url = repo.url(ep, `manifests/${target}`);
  const headers = { Accept: manifestAccept };
  const head = await repo.request(ep, { method: 'HEAD', url, headers, signal }, scopes, what);
  head.resume();
  if (head.statusCode === 404) throw notFound(`${what}: not found`);
  if (head.statusCode === 200) {
    const got = head.headers['docker-content-digest'];
    const size = Number(head.headers['content-length']);
    const mediaType = mediaTypeOf(head);
    const d = digest ?? (isDigest(got) ? got : undefined);
    if (d !== undefined && Number.isSafeInteger(size) && size > 0 && mediaType !== undefined) return { mediaType, digest: d, size };
  }
  // No usable HEAD answer (some registries refuse HEAD or omit the digest): read the manifest.
  const res = await repo.request(ep, { method: 'GET', url, headers, signal }, scopes, what);
  if (res.statusCode !== 200) throw await responseError(res, what);
  const body = await readBody(res, maxManifestSize, what);
  const computed = digestOf(body, digest ? digestAlgorithm(digest) : 'sha256');
  if (digest !== undefined && computed !== digest) throw dataLoss(`${what}: the manifest's digest is ${computed}`);
  let mediaType = mediaTypeOf(res);
  if (mediaType === undefined) {
    const doc = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : doc.manifests !== undefined ? MediaType.OciIndex : MediaType.OciManifest;
  }
  return { mediaType, digest: computed, size: body.length };
}
