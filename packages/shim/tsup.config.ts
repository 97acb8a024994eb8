import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  target: 'node20',
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  // The package's bin: executable, since npm links it before the build exists.
  onSuccess: 'chmod +x dist/cli.js',
});
