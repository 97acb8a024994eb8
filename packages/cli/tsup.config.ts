import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  entry: { index: 'src/index.ts', berth: 'src/berth.ts' },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  // The version `berth version` prints, from package.json at build time.
  define: { __BERTH_CLI_VERSION__: JSON.stringify(version) },
  // The package's bin: executable, since npm links it before the build exists.
  onSuccess: 'chmod +x dist/berth.js',
});
