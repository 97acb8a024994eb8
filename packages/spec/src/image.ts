import type { Descriptor } from './descriptor';
import type { Digest } from './digest';

/**
 * OCI image-spec documents (v1.1) as their JSON is shaped. Docker schema 2 documents have the
 * same shape: a manifest list is an `Index`, a v2 manifest a `Manifest`, a Docker image config
 * an `ImageConfig` (with a few extra fields Docker writes, kept optional here).
 */

/** An image index (or Docker manifest list): manifests for several platforms. */
export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  /** Descriptors of manifests (or nested indexes), each usually with a `platform`. */
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image manifest: one config and the layers, bottom first. */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The run-time defaults an image carries (`config` in the image config). */
export interface ImageRuntimeConfig {
  User?: string;
  /** Keys are `port/proto` (`80/tcp`); values are empty objects. */
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  /** Keys are paths; values are empty objects. */
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Windows only: `Cmd`/`Entrypoint` are already escaped. */
  ArgsEscaped?: boolean;
  /** Docker's extension. */
  Healthcheck?: HealthConfig;
  /** Docker's extension. */
  OnBuild?: string[];
  /** Docker's extension. */
  Shell?: string[];
}

/** Docker's healthcheck settings; durations are nanoseconds. */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The layers of the root file system by their uncompressed digests (diffIDs), bottom first. */
export interface RootFS {
  type: 'layers';
  diff_ids: Digest[];
}

/** One step of the image's build history. `empty_layer` steps have no entry in `diff_ids`. */
export interface History {
  /** RFC 3339 time. */
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image configuration (OCI `application/vnd.oci.image.config.v1+json` or Docker's). */
export interface ImageConfig {
  /** RFC 3339 time. */
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageRuntimeConfig;
  rootfs: RootFS;
  history?: History[];
}
