import type { Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { invalidArgument } from '@berth/errdefs';

/** node:crypto, loaded by the first digest rather than with this package (~3 ms of a short command). */
let crypto: typeof import('node:crypto') | undefined;
const nodeCrypto = () => (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

/**
 * A content digest, `algorithm:encoded` (OCI image-spec descriptor grammar), for example
 * `sha256:e3b0c442…`. Values of this type have been validated by `parseDigest` or produced
 * by a `Digester`.
 */
export type Digest = `${string}:${string}` & { readonly __brand?: 'Digest' };

/** The digest algorithms berth can verify. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** The default algorithm, as in containerd and the registries. */
export const canonicalAlgorithm: DigestAlgorithm = 'sha256';

const hexLength: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };
const algorithmGrammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const encodedGrammar = /^[a-zA-Z0-9=_-]+$/;

/** True when `algorithm` is one berth can verify. */
export function isSupportedAlgorithm(algorithm: string): algorithm is DigestAlgorithm {
  return Object.hasOwn(hexLength, algorithm);
}

/**
 * Validates a digest string. Throws InvalidArgument naming the problem: a malformed string,
 * an algorithm berth does not support (`md5:…`), or an encoded part that is not lower-case hex
 * of the algorithm's length.
 */
export function parseDigest(value: string): Digest {
  if (typeof value !== 'string' || value === '') throw invalidArgument('digest must not be empty');
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) throw invalidArgument(`invalid digest "${value}": want algorithm:encoded`);
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (!algorithmGrammar.test(algorithm) || !encodedGrammar.test(encoded)) {
    throw invalidArgument(`invalid digest "${value}": malformed`);
  }
  if (!isSupportedAlgorithm(algorithm)) throw invalidArgument(`invalid digest "${value}": unsupported algorithm ${algorithm}`);
  const want = hexLength[algorithm];
  if (encoded.length !== want || !/^[a-f0-9]+$/.test(encoded)) {
    throw invalidArgument(`invalid digest "${value}": ${algorithm} wants ${want} lower-case hex characters`);
  }
  return value as Digest;
}

/** True when `value` is a digest `parseDigest` accepts. */
export function isDigest(value: unknown): value is Digest {
  try {
    parseDigest(value as string);
    return true;
  } catch {
    return false;
  }
}

/** The algorithm part of a valid digest. */
export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

/** The encoded (hex) part of a valid digest. */
export function digestEncoded(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** Incremental digest computation. */
export interface Digester {
  readonly algorithm: DigestAlgorithm;
  update(data: Uint8Array | string): this;
  /** The digest of everything given so far. Call once. */
  digest(): Digest;
}

/** Creates a Digester for `algorithm` (default sha256). */
export function createDigester(algorithm: DigestAlgorithm = canonicalAlgorithm): Digester {
  if (!isSupportedAlgorithm(algorithm)) throw invalidArgument(`unsupported digest algorithm ${String(algorithm)}`);
  const hash: Hash = nodeCrypto().createHash(algorithm);
  return {
    algorithm,
    update(data) {
      hash.update(data);
      return this;
    },
    digest: () => `${algorithm}:${hash.digest('hex')}` as Digest,
  };
}

/** The digest of `data` (default sha256). */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = canonicalAlgorithm): Digest {
  return createDigester(algorithm).update(data).digest();
}
