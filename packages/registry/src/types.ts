import type { ProxySettings } from './proxy';
import type { Readable } from 'node:stream';
import type { Descriptor, Digester } from '@berth/spec';

/**
 * What an endpoint may be used for, as in containerd's hosts.toml: `resolve` turns a tag into a
 * digest, `pull` fetches content by digest, `push` uploads. A mirror should not be trusted to
 * `resolve` unless it is yours, since a tag is mutable.
 */
export type Capability = 'pull' | 'resolve' | 'push';

/** Settings shared by a registry's server and its mirrors (containerd's hosts.toml fields). */
export interface EndpointSettings {
  /**
   * CA certificates to trust for this endpoint besides the system's roots (as containerd adds
   * them): PEM file paths, or PEM text (anything starting with `-----BEGIN`).
   */
  ca?: string | string[];
  /** Client certificate and key (PEM paths or text) for mutual TLS. */
  client?: { cert: string; key: string };
  /** Accept any server certificate. Only for tests and closed networks. */
  skipVerify?: boolean;
  /** Extra headers sent on every request to this endpoint. */
  header?: Record<string, string>;
  /** Default: `['pull', 'resolve', 'push']` for the server, `['pull', 'resolve']` for mirrors. */
  capabilities?: Capability[];
}

/** A mirror: another registry tried before the server. `url` is `scheme://host[:port][/path]`. */
export interface MirrorConfig extends EndpointSettings {
  url: string;
  /**
   * Use the URL's path as the API root instead of appending `/v2` (containerd's
   * `override_path`), for mirrors that serve the API under a prefix.
   */
  overridePath?: boolean;
}

/**
 * One registry's settings, keyed in `HostsConfig` by the domain as it appears in references
 * (`docker.io`, `localhost:5000`, `127.0.0.1:5000`). The object form of containerd's
 * `hosts.d/<domain>/hosts.toml`.
 */
export interface RegistryHostConfig extends EndpointSettings {
  /**
   * The upstream server, `scheme://host[:port]`; an `http://` URL means plain HTTP. Default:
   * `https://<domain>` (`docker.io` → `https://registry-1.docker.io`); a loopback domain
   * (`localhost`, `127.0.0.0/8`, `::1`) tries HTTPS and falls back to plain HTTP when the server
   * does not speak TLS, as Docker does for its default insecure registries.
   */
  server?: string;
  /** Use the server URL's path as the API root instead of appending `/v2` (containerd's `override_path`). */
  overridePath?: boolean;
  /** Mirrors, tried in order before the server; on a miss or an error the next one is tried. */
  mirrors?: MirrorConfig[];
}

/** Per-registry settings by domain. The key `_default` applies to domains with no entry. */
export type HostsConfig = Record<string, RegistryHostConfig>;

/** A user name and secret for a registry, or an identity (refresh) token. */
export interface Credentials {
  username: string;
  /** A password or a personal access token. */
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`); used instead of the password for tokens. */
  identityToken?: string;
}

/**
 * Where credentials come from. `get(host)` receives the endpoint's `host[:port]` as it is
 * contacted (`registry-1.docker.io` for Docker Hub, `127.0.0.1:5000`) and resolves to
 * undefined when it has none. It may be called for every new token; implementations cache.
 */
export interface CredentialStore {
  get(host: string): Promise<Credentials | undefined>;
}

/** Options of `createRegistryClient`. */
export interface RegistryClientOptions {
  hosts?: HostsConfig;
  credentials?: CredentialStore;
  /** Default `berth/0.1`. */
  userAgent?: string;
  /** Cancels everything this client does. */
  signal?: AbortSignal;
  /**
   * Milliseconds without progress before a request fails: until response headers arrive, and
   * between chunks of a body being read (not while the consumer is slow). Default 30 000.
   */
  timeout?: number;
  /** Attempts after the first on 429, 5xx and dropped connections. Default 3. */
  retries?: number;
  /** The first retry's delay in ms, doubling each time (a `Retry-After` header wins). Default 200. */
  retryDelay?: number;
  /**
   * The HTTP proxies to reach registries through (see proxy.ts for the rules); default: from
   * HTTP_PROXY, HTTPS_PROXY and NO_PROXY (or their lower-case forms) at creation; false for none.
   */
  proxy?: ProxySettings | false;
}

/** What `resolve` found: the normalized reference and the descriptor of the root manifest or index. */
export interface Resolved {
  /** The normalized reference (`docker.io/library/busybox:latest`). */
  name: string;
  descriptor: Descriptor;
}

/** Options of `Fetcher.fetch`. */
export interface FetchOptions {
  /**
   * Start at this byte. The stream then yields the rest; the digest can only be checked when
   * `digester` is given, already fed the first `offset` bytes; otherwise only the size is.
   */
  offset?: number;
  digester?: Digester;
  signal?: AbortSignal;
}

/**
 * Reads content of one repository by digest.
 *
 * `fetch` resolves once a registry has answered, so `NotFound` (no endpoint has it),
 * `Unauthenticated` and `Unavailable` are thrown from it. The stream it gives yields exactly the
 * descriptor's bytes: it hashes them as they pass and fails with `DataLoss` before it ends when
 * the size or digest differs, so a consumer never sees a clean end of wrong content. A dropped
 * connection is resumed with a `Range` request from the byte reached. It honours backpressure.
 */
export interface Fetcher {
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable>;
}

/** The body of a push: bytes, or a factory that opens a fresh stream (called again on a retry). */
export type PushContent = Uint8Array | (() => Readable | Promise<Readable>);

/** What `push` did. */
export type PushResult = 'exists' | 'mounted' | 'uploaded';

/** Options of `Pusher.push`. */
export interface PushOptions {
  /**
   * Repository paths on the same registry (`library/busybox`) that may already hold the blob;
   * each is tried with a cross-repository mount before uploading.
   */
  mountFrom?: string[];
  /** Upload a blob larger than this in PATCH chunks of this many bytes. Default: one PUT. */
  chunkSize?: number;
  signal?: AbortSignal;
}

/**
 * Writes content to one repository. Blobs and manifests go through `push`, which routes by
 * media type: an index or manifest goes to `/manifests/<digest>` (push its blobs and children
 * first: the registry refuses a manifest whose blobs it lacks, `FailedPrecondition`), anything
 * else to `/blobs/`. A blob the registry already has is not sent again (`'exists'`).
 * `tag` points a tag at a manifest already pushed. The registry checks each digest; a mismatch
 * is `DataLoss`.
 */
export interface Pusher {
  push(desc: Descriptor, content: PushContent, opts?: PushOptions): Promise<PushResult>;
  /** Tags a manifest or index. `content` is its bytes; when absent they are fetched first. */
  tag(tag: string, desc: Descriptor, content?: Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;
}

/** A client for OCI distribution registries. `close()` frees its connections. */
export interface RegistryClient {
  /**
   * Finds the root descriptor of `ref` (a tag or a digest): HEAD, then GET when the registry
   * gives no digest, on `/manifests/` with the Accept header of OCI index and manifest and
   * Docker manifest list and schema 2. Throws `NotFound` when no endpoint has it, and
   * `InvalidArgument` for a reference that does not parse.
   */
  resolve(ref: string, opts?: { signal?: AbortSignal }): Promise<Resolved>;
  /** A fetcher for the repository of `ref` (its tag or digest is ignored). */
  fetcher(ref: string): Fetcher;
  /** A pusher for the repository of `ref`. */
  pusher(ref: string): Pusher;
  close(): void;
}
