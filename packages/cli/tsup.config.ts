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
  // One bundle (client, wire types, grpc-js, protobufjs): a command starts by reading a few
  // files instead of resolving and compiling hundreds of modules.
  noExternal: [/.*/],
  // The bundled CommonJS modules (grpc-js, protobufjs) require Node's builtins at run time.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  // The package's bin: executable, since npm links it before the build exists.
  onSuccess: 'chmod +x dist/berth.js',
});
