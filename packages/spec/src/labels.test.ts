import { isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { Label, gcRefContentLayer, gcRefContentManifest, gcRefSnapshot, isReservedLabel, validateLabel, validateLabels } from './labels';

describe('validateLabel', () => {
  it.each([
    ['short', 'k', 'v'],
    ['exactly 4096 bytes', 'k'.repeat(2048), 'v'.repeat(2048)],
    ['empty value', 'k', ''],
  ])('accepts %s', (_, key, value) => {
    expect(() => validateLabel(key, value)).not.toThrow();
  });

  it.each([
    ['4097 bytes', 'k'.repeat(2048), 'v'.repeat(2049)],
    ['a long key alone', 'k'.repeat(4097), ''],
    // 2048 two-byte characters are 4096 bytes but only 2048 UTF-16 units: the limit is in bytes.
    ['4097 UTF-8 bytes in fewer characters', 'é'.repeat(2048), 'v'],
  ])('refuses %s as InvalidArgument', (_, key, value) => {
    expect(() => validateLabel(key, value)).toThrow(expect.toSatisfy(isInvalidArgument));
  });

  it('validateLabels checks every entry', () => {
    expect(() => validateLabels({ a: 'b', c: 'd' })).not.toThrow();
    expect(() => validateLabels(undefined)).not.toThrow();
    expect(() => validateLabels({ a: 'b', c: 'd'.repeat(5000) })).toThrow(expect.toSatisfy(isInvalidArgument));
    expect(() => validateLabels({ '': 'x' })).toThrow(expect.toSatisfy(isInvalidArgument));
    expect(() => validateLabels({ a: 1 as unknown as string })).toThrow(expect.toSatisfy(isInvalidArgument));
  });
});

describe('label keys', () => {
  it('build containerd gc keys', () => {
    expect(gcRefContentLayer(2)).toBe('containerd.io/gc.ref.content.l.2');
    expect(gcRefContentManifest(0)).toBe('containerd.io/gc.ref.content.m.0');
    expect(gcRefSnapshot('overlayfs')).toBe('containerd.io/gc.ref.snapshot.overlayfs');
    expect(Label.Uncompressed).toBe('containerd.io/uncompressed');
    expect(Label.GcRefContentConfig).toBe('containerd.io/gc.ref.content.config');
  });

  it.each([
    ['containerd.io/gc.root', true],
    ['io.cri-containerd.image', true],
    ['org.opencontainers.image.title', false],
    ['containerd.iox', false],
  ])('%s reserved: %s', (key, reserved) => {
    expect(isReservedLabel(key)).toBe(reserved);
  });
});
