import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, ContentClient, LeasesClient } from '@berth/client';
import type { ContentStore } from '@berth/content';
import { contentStoreSuite } from '@berth/content/testsuite';
import { startEngine } from '@berth/engine';
import { afterAll, beforeAll } from 'vitest';

// The ContentStore suite through @berth/client's ContentClient against a live berthd: the same
// interface at the fourth point (implementation, namespaced wrapper, server, client), so the
// wire path (Content service, Write protocol, error kinds) is proved faithful.
//
// One berthd serves the file; every case gets a fresh namespace (so a case sees only its own
// blobs and ingests, as it would with a fresh store) and its own connection. The cross-process
// cases run too: their child process is another client (content-child.mjs) of the same berthd
// and namespace, killed with SIGKILL mid-ingest, and the ingest must resume from a new process.
//
// As containerd's clients do, every case works under a lease (the `containerd-lease` header):
// berthd's garbage collector removes blobs and ingests nothing references, and the suite's are
// referenced by nothing else.
//
// berthd's Write service, like containerd's, does not bind an ingest to the first announced
// digest (a commit that failed on a wrong digest can be retried with the right one; see
// content-write.ts), and containerd's Status never reports `expected`: `statusReportsExpected:
// false` tells the suite so.

let base: string;
let berthd: Awaited<ReturnType<typeof startEngine>>;
let cases = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-conformance-content-'));
  berthd = await startEngine({ root: join(base, 'root'), state: join(base, 'state') });
});

afterAll(async () => {
  await berthd?.stop();
  await rm(base, { recursive: true, force: true });
});

contentStoreSuite(
  'berthd through @berth/client',
  async (root) => {
    const namespace = `suite-${++cases}`;
    await mkdir(root, { recursive: true });
    const base = connect(berthd.address, { namespace });
    const lease = await new LeasesClient(base).create({ id: 'suite' });
    await writeFile(join(root, 'berthd.json'), JSON.stringify({ address: berthd.address, namespace, lease: lease.id }));
    const conn = base.with({ lease: lease.id });
    // Type-checks that the client has the ContentStore shape (TypeScript is structural).
    const store: ContentStore = new ContentClient(conn);
    return { store, cleanup: async () => conn.close() };
  },
  { childModule: fileURLToPath(new URL('./content-child.mjs', import.meta.url)), statusReportsExpected: false },
);
