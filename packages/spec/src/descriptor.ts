import type { Digest } from './digest';

/**
 * An OCI platform: the OS and CPU an image (or a manifest in an index) is built for.
 * `architecture` uses GOARCH names (`amd64`, `arm64`, `arm`), `variant` e.g. `v7`, `v8`.
 */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** An OCI content descriptor: what a blob is, how big, and its digest. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  /** Size in bytes. */
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Only on manifests referenced from an index. */
  platform?: Platform;
  artifactType?: string;
  /** Embedded content, base64. */
  data?: string;
}
