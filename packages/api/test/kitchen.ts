// Generates the codecs of test/kitchen.proto (every field kind) into test/gen/<name>/
// (gitignored; one directory per test file, as vitest runs files in parallel) and imports them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../../../tools/protogen/generate.mjs';

/** The directory of kitchen.proto. */
export const testDir = dirname(fileURLToPath(import.meta.url));

/** Generates the kitchen-sink codecs into test/gen/`name` and imports their index. */
export async function loadKitchen(name: string): Promise<Record<string, unknown>> {
  const configDir = mkdtempSync(join(tmpdir(), 'berth-kitchen-'));
  try {
    writeFileSync(
      join(configDir, 'protogen.json'),
      JSON.stringify({
        protoRoot: testDir,
        files: ['kitchen.proto'],
        out: join(testDir, 'gen', name),
        modules: { kitchen: 'kitchen' },
        runtime: '../../../src/runtime',
      }),
    );
    generate(configDir);
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
  return import(/* @vite-ignore */ `./gen/${name}/index.ts`);
}
