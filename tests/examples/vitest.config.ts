import { defineConfig } from 'vitest/config';

// Integration tests drive real processes (runtimes, shims, ctr); on a loaded 2-core CI machine a
// step can take seconds, so a slow test is not a failed one.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 60_000 },
});
