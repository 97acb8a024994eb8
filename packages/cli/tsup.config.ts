import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', berth: 'src/berth.ts' },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  // The package's bin: executable, since npm links it before the build exists.
  onSuccess: 'chmod +x dist/berth.js',
});
