import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { invalidArgument } from '@berth/errdefs';
import { digestAlgorithm, digestEncoded, parseDigest, type Digest } from '@berth/spec';

/**
 * The on-disk layout of a local content store under `root`:
 *
 * ```
 * blobs/<alg>/<hex>            committed blobs (read-only files)
 * labels/<alg>/<hex>.json      labels of a blob, when it has any
 * ingest/<sha256(ref)>/data    bytes of an ingest so far
 * ingest/<sha256(ref)>/meta.json  { ref, total, expected, startedAt }
 * ingest/<sha256(ref)>/lock    the writer's lock (owner pid and process start time)
 * ```
 *
 * Ingest directories are named by a hash of the ref so any ref is a safe path component.
 * Blobs and ingests share one file system, which makes publishing a single `link(2)`.
 */
export class Layout {
  constructor(readonly root: string) {}

  blobsDir(algorithm: string): string {
    return join(this.root, 'blobs', algorithm);
  }

  blobPath(digest: Digest): string {
    return join(this.root, 'blobs', digestAlgorithm(digest), digestEncoded(digest));
  }

  labelsDir(algorithm: string): string {
    return join(this.root, 'labels', algorithm);
  }

  labelsPath(digest: Digest): string {
    return join(this.root, 'labels', digestAlgorithm(digest), `${digestEncoded(digest)}.json`);
  }

  ingestRoot(): string {
    return join(this.root, 'ingest');
  }

  ingestDir(ref: string): string {
    return join(this.root, 'ingest', ingestKey(ref));
  }
}

/** The directory name of a ref's ingest: hex sha256 of the ref. */
export function ingestKey(ref: string): string {
  return createHash('sha256').update(ref).digest('hex');
}

/** True when `name` looks like an ingest directory (ignores temporary and foreign entries). */
export function isIngestKey(name: string): boolean {
  return /^[a-f0-9]{64}$/.test(name);
}

/** Validates a ref: a non-empty string. Throws InvalidArgument. */
export function checkRef(ref: unknown): string {
  if (typeof ref !== 'string' || ref === '') throw invalidArgument('ref must not be empty');
  return ref;
}

/** Validates a digest given as a string (InvalidArgument via parseDigest). */
export function checkDigest(digest: unknown): Digest {
  return parseDigest(digest as string);
}
