import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindOf, type ErrorKind } from '@berth/errdefs';
import type { Digest } from '@berth/spec';
import { expect, onTestFinished } from 'vitest';
import { openMetadataStore } from '../sqlite-store';
import type { Any, MetadataStore, NewContainer, NewImage, OpenOptions } from '../types';

/**
 * Test-only: a fresh temp dir, removed when the test finishes. On failure its listing is
 * printed first (containerd's DumpDirOnFailure, in small).
 */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-metadata-'));
  onTestFinished(({ task }) => {
    if (task.result?.state === 'fail') console.error(`metadata test dir ${dir}: ${readdirSync(dir).join(', ')}`);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Test-only: opens a store on `path` (default: `metadata.db` in a fresh temp dir), closed after the test. */
export function openStore(path?: string, opts: Omit<OpenOptions, 'path'> = {}): MetadataStore {
  const store = openMetadataStore({ path: path ?? join(tempDir(), 'metadata.db'), ...opts });
  onTestFinished(() => store.close());
  return store;
}

/** Test-only: asserts that `fn` throws an error of `kind` and returns it. */
export function expectKind(fn: () => unknown, kind: ErrorKind): Error {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error, `expected a ${kind} error`).toBeInstanceOf(Error);
  expect(kindOf(error), `got ${kindOf(error)}: ${(error as Error).message}`).toBe(kind);
  return error as Error;
}

/** Test-only: a valid sha256 digest made of one repeated hex character. */
export const digestOf = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;

/** Test-only: an OCI spec as containerd stores it. */
export const specAny = (json: object = { ociVersion: '1.0.2' }): Any => ({
  typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
  value: new TextEncoder().encode(JSON.stringify(json)),
});

/** Test-only: an image with a manifest target. */
export const image = (name: string, over: Partial<NewImage> = {}): NewImage => ({
  name,
  target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('a'), size: 123 },
  ...over,
});

/** Test-only: a container as `ctr run` creates one. */
export const container = (id: string, over: Partial<NewContainer> = {}): NewContainer => ({
  id,
  image: 'docker.io/library/busybox:latest',
  runtime: { name: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: new Uint8Array() } },
  spec: specAny(),
  snapshotter: 'overlayfs',
  snapshotKey: id,
  ...over,
});
