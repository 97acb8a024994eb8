import { Readable } from 'node:stream';
import { dataLoss, invalidArgument, isCanceled, notFound } from '@berth/errdefs';
import {
  MediaType,
  createDigester,
  digestAlgorithm,
  digestOf,
  isIndexMediaType,
  isManifestMediaType,
  parseDigest,
  type Descriptor,
} from '@berth/spec';
import { repositoryScope } from './auth';
import type { Endpoint } from './hosts';
import { responseError } from './http-errors';
import { combineSignals, type Repository } from './repository';
import type { FetchOptions, Fetcher } from './types';
import { VerifyingStream, type Segment } from './verifying-stream';

/** Every manifest type berth reads, for `Accept`. */
export const manifestAccept = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

function checkDescriptor(desc: Descriptor, offset: number): void {
  parseDigest(desc.digest);
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidArgument(`descriptor ${desc.digest}: invalid size ${desc.size}`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > desc.size) {
    throw invalidArgument(`fetch ${desc.digest}: offset ${offset} is outside 0..${desc.size}`);
  }
}

/** A Fetcher for `repo`: see `Fetcher` for the contract. Endpoints are tried in order. */
export function createFetcher(repo: Repository): Fetcher {
  const scopes = [repositoryScope(repo.path, false)];
  const name = `${repo.domain}/${repo.path}`;

  const open = async (ep: Endpoint, desc: Descriptor, offset: number, signal?: AbortSignal): Promise<Segment> => {
    const manifest = isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType);
    const headers: Record<string, string> = {};
    if (manifest) headers['Accept'] = `${desc.mediaType}, ${manifestAccept}`;
    if (offset > 0) headers['Range'] = `bytes=${offset}-`;
    const what = `fetch ${name}@${desc.digest} from ${ep.host}`;
    const url = repo.url(ep, `${manifest ? 'manifests' : 'blobs'}/${desc.digest}`);
    const res = await repo.request(ep, { method: 'GET', url, headers, signal }, scopes, what);
    if (res.statusCode === 200) return { body: res, start: 0 };
    if (res.statusCode === 206) {
      const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      return { body: res, start: m ? Number(m[1]) : offset };
    }
    throw await responseError(res, what);
  };

  return {
    async fetch(desc, opts: FetchOptions = {}) {
      const offset = opts.offset ?? 0;
      checkDescriptor(desc, offset);
      if (desc.data !== undefined && offset === 0) {
        const bytes = Buffer.from(desc.data, 'base64');
        if (bytes.length !== desc.size || digestOf(bytes, digestAlgorithm(desc.digest)) !== desc.digest) {
          throw dataLoss(`fetch ${name}@${desc.digest}: embedded data does not match the descriptor`);
        }
        return Readable.from([bytes]);
      }
      const signal = combineSignals(repo.ctx.signal, opts.signal);
      const digester = offset === 0 ? createDigester(digestAlgorithm(desc.digest)) : opts.digester;
      const endpoints = repo.with('pull');
      let lastError: unknown = notFound(`fetch ${name}@${desc.digest}: no endpoint may pull from ${repo.domain}`);
      for (const ep of endpoints) {
        try {
          const first = offset === desc.size ? undefined : await open(ep, desc, offset, signal);
          const options = { what: `fetch ${name}@${desc.digest}`, maxResumes: repo.ctx.retries, idleTimeout: repo.ctx.timeout };
          return new VerifyingStream(desc, offset, first, (at) => open(ep, desc, at, signal), {
            ...options,
            ...(digester ? { digester } : {}),
            ...(signal ? { signal } : {}),
          });
        } catch (err) {
          if (isCanceled(err)) throw err;
          // A mirror that lacks the content or fails gives way to the next endpoint.
          lastError = err;
        }
      }
      throw lastError;
    },
  };
}
