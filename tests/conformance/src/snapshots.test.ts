import { dirname, join } from 'node:path';
import { connect, LeasesClient, SnapshotsClient } from '@berth/client';
import { startEngine } from '@berth/engine';
import type { Snapshotter } from '@berth/snapshots';
import { snapshotterSuite } from '@berth/snapshots/testsuite';

// The Snapshotter suite through @berth/client's SnapshotsClient against a live berthd, for both
// of berthd's snapshotters: the same interface at the fourth point (implementation,
// namespaced wrapper, server, client).
//
// Every case starts its own berthd with its root at the suite's `root`, so the suite's checks
// on that directory ("a failed prepare leaves nothing behind", no mount left under the temp
// dir) look at berthd's own snapshotter directories. The mounts berthd answers are mounted by
// the suite in this process (the file-system cases need root), as `ctr run` does with them.
//
// As containerd's clients do, every case works under a lease (the `containerd-lease` header):
// berthd's garbage collector removes snapshots nothing references, and the suite's snapshots
// are referenced by nothing else.


for (const name of ['overlayfs', 'native']) {
  snapshotterSuite(`berthd ${name} through @berth/client`, async (root) => {
    const berthd = await startEngine({ root, state: join(dirname(root), 'state') });
    const base = connect(berthd.address, { namespace: 'suite' });
    const lease = await new LeasesClient(base).create({ id: 'suite' });
    const conn = base.with({ lease: lease.id });
    // Type-checks that the client has the Snapshotter shape (TypeScript is structural).
    const snapshotter: Snapshotter = new SnapshotsClient(conn, name);
    return {
      snapshotter,
      cleanup: async () => {
        conn.close();
        await berthd.stop();
      },
    };
  });
}
