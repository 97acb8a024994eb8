// The child-process half of the content suite's cross-process cases, through @berth/client: a
// separate process with its own gRPC connection to the same berthd and namespace, which the
// suite SIGKILLs mid-ingest. content.test.ts's factory writes `<root>/berthd.json`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, ContentClient } from '@berth/client';

/** A ContentClient on the berthd, namespace and lease the suite's factory recorded under `root`. */
export function createStore(root) {
  const { address, namespace, lease } = JSON.parse(readFileSync(join(root, 'berthd.json'), 'utf8'));
  return new ContentClient(connect(address, { namespace, lease }));
}
