import { busyboxImage } from './busybox';
import { bytesContent, prngContent } from './content';
import type { ImageDefinition, LayerDefinition, LayerEntry } from './types';

/** Layers on top of busybox in the `large` image. */
export const LARGE_LAYER_COUNT = 6;

// Per layer: 100 files cycling through these sizes (≈26.8 MiB) plus 500 small files, so a layer
// costs both bandwidth (big files) and per-entry work (many small ones), as real images do.
const sizes = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
const bigFilesPerLayer = 100;
const smallFilesPerLayer = 500;

function layer(n: number): LayerDefinition {
  const root = `usr/share/large-${n}`;
  const entries: LayerEntry[] = [
    { path: 'usr', type: 'directory', mode: 0o755 },
    { path: 'usr/share', type: 'directory', mode: 0o755 },
    { path: root, type: 'directory', mode: 0o755 },
    { path: `${root}/blobs`, type: 'directory', mode: 0o755 },
    { path: `${root}/small`, type: 'directory', mode: 0o755 },
  ];
  for (let i = 0; i < bigFilesPerLayer; i++) {
    const size = sizes[i % sizes.length]!;
    entries.push({ path: `${root}/blobs/${String(i).padStart(3, '0')}.bin`, type: 'file', mode: 0o644, content: prngContent(n * 1000 + i, size) });
  }
  for (let i = 0; i < smallFilesPerLayer; i++) {
    const text = `layer ${n} small file ${i}\n`.repeat(1 + (i % 16));
    entries.push({ path: `${root}/small/${String(i).padStart(3, '0')}.txt`, type: 'file', mode: 0o644, content: bytesContent(text) });
  }
  return { createdBy: `large ${n + 1}/${LARGE_LAYER_COUNT + 1}: ${bigFilesPerLayer} files of 4 KiB–1 MiB, ${smallFilesPerLayer} small files`, compression: 'gzip', entries };
}

/**
 * The `large` image, for benchmarks: busybox's layer and six more gzip layers of ≈27 MiB each
 * (≈163 MiB uncompressed, about half that compressed), deterministic like the other test images.
 */
export async function largeImage(): Promise<ImageDefinition> {
  const busybox = await busyboxImage();
  return {
    ...busybox,
    name: 'large',
    layers: [...busybox.layers, ...Array.from({ length: LARGE_LAYER_COUNT }, (_, n) => layer(n + 1))],
  };
}
