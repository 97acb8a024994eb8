import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    target: 'node20',
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    clean: true,
  },
  {
    // The CLI as one CommonJS file (client, wire codecs and grpc-js included), which bin.ts
    // compiles as a vm.Script with a V8 code cache: a command starts by reading two files
    // instead of resolving and compiling hundreds of modules.
    entry: { 'berth-main': 'src/berth.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'node20',
    sourcemap: true,
    noExternal: [/.*/],
    // `import.meta.url` (used to find berthd next to the CLI) in the CommonJS bundle.
    shims: true,
    // The version `berth version` prints, from package.json at build time.
    define: { __BERTH_CLI_VERSION__: JSON.stringify(version) },
    // Less to read and hash at every start; names are kept (stack traces, and the source map).
    esbuildOptions(o) {
      o.minifyWhitespace = true;
      o.minifySyntax = true;
    },
  },
  {
    // The program bin/berth runs: loads berth-main.cjs. CommonJS, so that Node starts it
    // without setting up its ES module loader (~8 ms of a short command).
    entry: { berth: 'src/bin.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'node20',
  },
]);
