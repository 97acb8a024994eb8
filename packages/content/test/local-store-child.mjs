// Builds a local store in a child process of the conformance suite's cross-process cases.
// Imports the BUILT package (resolved through the workspace's node_modules), as a user would.
import { createLocalStore } from '@berth/content';

export function createStore(root) {
  return createLocalStore({ root });
}
