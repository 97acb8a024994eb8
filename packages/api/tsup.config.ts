import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { defineConfig } from 'tsup';

// Declarations come from tsc (tsconfig.build.json, into dist/types), not from tsup's bundled
// .d.ts: that turns `export * as task from ...` into a namespace of values only, losing the
// interfaces that share their names with codecs (`task.CreateTaskRequest` as a type).
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  dts: false,
  sourcemap: true,
  clean: true,
  onSuccess: async () => {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  },
});
