import { describe } from 'vitest';
import { crashCases } from './testsuite/crash-cases';
import { ingestCases } from './testsuite/ingest-cases';
import { managerCases } from './testsuite/manager-cases';
import { readCases } from './testsuite/read-cases';
import type { StoreFactory, SuiteOptions } from './testsuite/context';

export type { CaseContext, StoreFactory, SuiteOptions } from './testsuite/context';

/**
 * The ContentStore conformance suite, for vitest. Run it against every implementation:
 *
 * ```ts
 * contentStoreSuite('local', async (root) => ({ store: createLocalStore({ root }), cleanup: async () => {} }));
 * ```
 *
 * Every case gets a fresh temp dir (the factory's `root` lies inside it) and calls `cleanup`
 * afterwards; a cleanup that throws fails the case. Cases assert error kinds, never messages.
 * The cross-process cases (a writer killed with SIGKILL and resumed by a new process, a lock
 * held by another process) run only with `options.childModule`, a module that builds the
 * same kind of store in a child process (see `SuiteOptions`).
 */
export function contentStoreSuite(name: string, factory: StoreFactory, options: SuiteOptions = {}): void {
  describe(`content store conformance: ${name}`, () => {
    ingestCases(factory);
    managerCases(factory, options);
    readCases(factory);
    crashCases(factory, options);
  });
}
