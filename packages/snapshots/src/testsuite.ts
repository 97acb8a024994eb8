import { describe } from 'vitest';
import { fsCases } from './testsuite/fs-cases';
import { metadataCases } from './testsuite/metadata-cases';
import type { SnapshotterFactory } from './testsuite/context';

export type { CaseContext, SnapshotterFactory, Changes } from './testsuite/context';
export {
  applyChanges,
  commitLayer,
  expectKind,
  isRoot,
  listTree,
  mountsUnder,
  readTree,
  withSnapshotter,
  withView,
} from './testsuite/context';

/**
 * The Snapshotter conformance suite, for vitest (an optional peer dependency). Run it against
 * every implementation:
 *
 * ```ts
 * snapshotterSuite('overlay', async (root) => {
 *   const snapshotter = await createOverlaySnapshotter({ root });
 *   return { snapshotter, cleanup: () => snapshotter.close() };
 * });
 * ```
 *
 * Every case gets a fresh temp dir (the factory's `root` lies inside it) and calls `cleanup`
 * afterwards; a cleanup that throws fails the case, and so does a mount left under the temp
 * dir. On failure the temp dir's tree is printed. Cases assert error kinds, never messages.
 * The file-system cases mount snapshots (with `mountAll`) and skip, with a reason, when the
 * process is not root; the metadata cases run everywhere.
 */
export function snapshotterSuite(name: string, factory: SnapshotterFactory): void {
  describe(`snapshotter conformance: ${name}`, () => {
    metadataCases(factory);
    fsCases(factory);
  });
}
