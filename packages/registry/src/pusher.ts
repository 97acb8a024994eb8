import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { dataLoss, invalidArgument, isUnavailable, notImplemented, unavailable, unknown } from '@berth/errdefs';
import { createDigester, digestAlgorithm, isIndexMediaType, isManifestMediaType, parseDigest, type Descriptor } from '@berth/spec';
import { repositoryScope } from './auth';
import { createFetcher } from './fetcher';
import type { Endpoint } from './hosts';
import { responseError } from './http-errors';
import type { Repository } from './repository';
import { maxManifestSize } from './resolver';
import { originOf } from './transport';
import type { PushContent, PushOptions, PushResult, Pusher } from './types';

/** How many times one chunk of a chunked upload is resumed after a broken connection or a 416. */
const RESUMES = 3;

/**
 * The bytes of `source`, checked against `desc` as they pass: more bytes than the size, or a
 * different digest at the end, fail the stream with DataLoss before it ends, so the upload is
 * aborted rather than completed with wrong content.
 */
export function checkedStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, desc: Descriptor, what: string): Readable {
  return Readable.from(
    (async function* () {
      const digester = createDigester(digestAlgorithm(desc.digest));
      let n = 0;
      for await (const chunk of source) {
        n += chunk.length;
        if (n > desc.size) throw dataLoss(`${what}: the content is longer than the descriptor's ${desc.size} bytes`);
        digester.update(chunk);
        yield chunk;
      }
      if (n !== desc.size) throw dataLoss(`${what}: the content has ${n} bytes, the descriptor says ${desc.size}`);
      const got = digester.digest();
      if (got !== desc.digest) throw dataLoss(`${what}: the content's digest is ${got}`);
    })(),
    { objectMode: false },
  );
}

async function open(content: PushContent): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> {
  return content instanceof Uint8Array ? [content] : await content();
}

async function readAll(content: PushContent, desc: Descriptor, what: string): Promise<Buffer> {
  if (desc.size > maxManifestSize) throw invalidArgument(`${what}: a manifest of ${desc.size} bytes is over the ${maxManifestSize} byte limit`);
  const chunks: Buffer[] = [];
  for await (const c of checkedStream(await open(content), desc, what)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A Pusher for `repo`: see `Pusher` for the contract. It pushes to the first endpoint with `push`. */
export function createPusher(repo: Repository): Pusher {
  const name = `${repo.domain}/${repo.path}`;
  const scopes = [repositoryScope(repo.path, true)];
  const endpoint = (): Endpoint => {
    const ep = repo.with('push')[0];
    if (!ep) throw notImplemented(`push ${name}: no endpoint of ${repo.domain} has the push capability`);
    return ep;
  };

  const putManifest = async (ep: Endpoint, target: string, desc: Descriptor, bytes: Buffer, signal?: AbortSignal): Promise<void> => {
    const what = `push ${name}:${target} to ${ep.host}`;
    const res = await repo.request(
      ep,
      { method: 'PUT', url: repo.url(ep, `manifests/${target}`), headers: { 'Content-Type': desc.mediaType }, body: bytes, signal },
      scopes,
      what,
    );
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await responseError(res, what);
    res.resume();
    const got = res.headers['docker-content-digest'];
    if (got !== undefined && got !== desc.digest) throw dataLoss(`${what}: the registry stored it as ${String(got)}`);
  };

  const exists = async (ep: Endpoint, kind: 'blobs' | 'manifests', desc: Descriptor, signal?: AbortSignal): Promise<boolean> => {
    const what = `push ${name}@${desc.digest}: check ${kind} on ${ep.host}`;
    const headers = kind === 'manifests' ? { Accept: desc.mediaType } : undefined;
    const res = await repo.request(ep, { method: 'HEAD', url: repo.url(ep, `${kind}/${desc.digest}`), ...(headers ? { headers } : {}), signal }, scopes, what);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await responseError(res, what);
  };

  /** Starts an upload, or mounts; the URL of the upload, or 'mounted'. */
  const start = async (ep: Endpoint, desc: Descriptor, from: string | undefined, signal?: AbortSignal): Promise<URL | 'mounted'> => {
    const what = `push ${name}@${desc.digest}: start upload on ${ep.host}`;
    const query: Record<string, string> = from ? { mount: desc.digest, from } : {};
    const s = from ? [...scopes, repositoryScope(from, false)] : scopes;
    const url = repo.url(ep, 'blobs/uploads/', query);
    const res = await repo.request(ep, { method: 'POST', url, headers: { 'Content-Length': '0' }, signal }, s, what);
    if (res.statusCode === 201 && from) {
      res.resume();
      return 'mounted';
    }
    if (res.statusCode !== 202) throw await responseError(res, what);
    res.resume();
    const location = res.headers.location;
    if (!location) throw unknown(`${what}: 202 without a Location`);
    return new URL(location, `${originOf(ep)}${url}`);
  };

  /** How many bytes an upload holds, from its status (GET: 204 with `Range: 0-<last byte>`), and where it goes on. */
  const uploadedBytes = async (ep: Endpoint, at: URL, what: string): Promise<{ size: number; location?: URL }> => {
    const res = await repo.request(ep, { method: 'GET', url: at.href }, scopes, what);
    if (res.statusCode !== 204) throw await responseError(res, `${what}: upload status`);
    res.resume();
    const range = /^0-(\d+)$/.exec(String(res.headers.range ?? ''));
    if (!range) throw unavailable(`${what}: upload status without a Range (${JSON.stringify(res.headers.range ?? '')})`);
    // "0-0" is both nothing and one byte (distribution writes size-1, floored at 0); nothing is the safe reading.
    const last = Number(range[1]);
    return { size: last === 0 ? 0 : last + 1, ...(res.headers.location ? { location: new URL(res.headers.location, at) } : {}) };
  };

  const upload = async (ep: Endpoint, at: URL, desc: Descriptor, content: PushContent, opts: PushOptions): Promise<void> => {
    const what = `push ${name}@${desc.digest} to ${ep.host}`;
    const signal = opts.signal;
    let location = at;
    if (opts.chunkSize !== undefined && opts.chunkSize > 0 && desc.size > opts.chunkSize) {
      let offset = 0;
      // One chunk, resumed where the registry stands when the connection breaks or the registry
      // says the range does not follow what it has (416): at most RESUMES times per chunk.
      const patch = async (whole: Buffer): Promise<void> => {
        let chunk = whole;
        for (let attempt = 0; ; attempt++) {
          let res: IncomingMessage | undefined;
          let broken: unknown;
          try {
            res = await repo.request(
              ep,
              {
                method: 'PATCH',
                url: location.href,
                headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}` },
                body: chunk,
                signal,
                retry: false,
              },
              scopes,
              what,
            );
          } catch (err) {
            if (signal?.aborted || !isUnavailable(err)) throw err;
            broken = err;
          }
          if (res?.statusCode === 202) {
            res.resume();
            offset += chunk.length;
            if (res.headers.location) location = new URL(res.headers.location, location);
            return;
          }
          if (res && res.statusCode !== 416) throw await responseError(res, what);
          res?.resume();
          if (attempt >= RESUMES) throw broken ?? unavailable(`${what}: the registry refused the range ${offset}-${offset + chunk.length - 1} ${RESUMES + 1} times`);
          const held = await uploadedBytes(ep, location, what);
          if (held.location) location = held.location;
          if (held.size < offset || held.size > offset + chunk.length) {
            throw unavailable(`${what}: cannot resume: the registry holds ${held.size} bytes of the upload, expected ${offset} to ${offset + chunk.length}`, { cause: broken });
          }
          chunk = chunk.subarray(held.size - offset);
          offset = held.size;
          if (chunk.length === 0) return;
        }
      };
      let pending: Buffer[] = [];
      let pendingSize = 0;
      for await (const c of checkedStream(await open(content), desc, what)) {
        let chunk = c as Buffer;
        while (chunk.length > 0) {
          const take = Math.min(chunk.length, opts.chunkSize - pendingSize);
          pending.push(chunk.subarray(0, take));
          pendingSize += take;
          chunk = chunk.subarray(take);
          if (pendingSize === opts.chunkSize) {
            await patch(Buffer.concat(pending));
            pending = [];
            pendingSize = 0;
          }
        }
      }
      if (pendingSize > 0) await patch(Buffer.concat(pending));
      location.searchParams.set('digest', desc.digest);
      const res = await repo.request(ep, { method: 'PUT', url: location.href, body: Buffer.alloc(0), signal }, scopes, what);
      if (res.statusCode !== 201) throw await responseError(res, what);
      res.resume();
      return;
    }
    location.searchParams.set('digest', desc.digest);
    const body = async (): Promise<Readable> => checkedStream(await open(content), desc, what);
    const res = await repo.request(
      ep,
      {
        method: 'PUT',
        url: location.href,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(desc.size) },
        body,
        signal,
      },
      scopes,
      what,
    );
    if (res.statusCode !== 201) throw await responseError(res, what);
    res.resume();
  };

  return {
    async push(desc, content, opts = {}) {
      parseDigest(desc.digest);
      if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidArgument(`push ${desc.digest}: invalid size ${desc.size}`);
      const ep = endpoint();
      if (isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType)) {
        if (await exists(ep, 'manifests', desc, opts.signal)) return 'exists';
        await putManifest(ep, desc.digest, desc, await readAll(content, desc, `push ${name}@${desc.digest}`), opts.signal);
        return 'uploaded';
      }
      if (await exists(ep, 'blobs', desc, opts.signal)) return 'exists';
      let at: URL | undefined;
      for (const from of opts.mountFrom ?? []) {
        if (from === repo.path) continue;
        const r = await start(ep, desc, from, opts.signal);
        if (r === 'mounted') return 'mounted';
        // The registry could not mount and began an ordinary upload instead: use it.
        at = r;
        break;
      }
      at ??= (await start(ep, desc, undefined, opts.signal)) as URL;
      await upload(ep, at, desc, content, opts);
      return 'uploaded';
    },

    async tag(tag, desc, content, opts = {}) {
      if (!/^\w[\w.-]{0,127}$/.test(tag)) throw invalidArgument(`tag ${JSON.stringify(tag)}: want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -`);
      const ep = endpoint();
      const bytes = content
        ? await readAll(content, desc, `tag ${name}:${tag}`)
        : await readAll(() => createFetcher(repo).fetch(desc, opts), desc, `tag ${name}:${tag}`);
      await putManifest(ep, tag, desc, bytes, opts.signal);
    },
  };
}
