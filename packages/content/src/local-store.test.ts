import { fileURLToPath } from 'node:url';
import { createLocalStore } from './index';
import { contentStoreSuite } from './testsuite';

contentStoreSuite('local', async (root) => ({ store: createLocalStore({ root }), cleanup: async () => {} }), {
  childModule: fileURLToPath(new URL('../test/local-store-child.mjs', import.meta.url)),
});
