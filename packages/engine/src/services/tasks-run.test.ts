import { containersService, contentService, diffService, imagesService, leasesService, namespacesService, snapshotsService, tasksService } from '@berth/api';
import { imageReference, testImage } from '@berth/testimages';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { ctrTable, hasCtr, runCtr, startTestEngine, type TestEngine } from '../testing';
import { containersImpl } from './containers';
import { contentImpl } from './content';
import { ContentNamespaces } from './content-namespaced';
import { diffImpl } from './diff';
import { imagesImpl } from './images';
import { leasesImpl } from './leases';
import { namespacesImpl } from './namespaces';
import { snapshotsImpl } from './snapshots';
import { TaskShims, tasksImpl } from './tasks';

// `ctr run` end to end: import a busybox image, unpack it, run it. Needs the Images and Diff
// services (another engineer's work) besides Tasks. Root only.
const isRoot = process.getuid?.() === 0;
let engine: TestEngine;
let shims: TaskShims;
const ref = imageReference('busybox');

beforeAll(async () => {
  if (!isRoot || !hasCtr) return;
  engine = await startTestEngine((server, ctx) => {
    shims = new TaskShims(ctx, { idleExitMs: 600_000 });
    const cn = new ContentNamespaces(ctx.content, ctx.metadata);
    addService(server, namespacesService.Namespaces, namespacesImpl(ctx));
    addService(server, leasesService.Leases, leasesImpl(ctx));
    addService(server, containersService.Containers, containersImpl(ctx));
    addService(server, snapshotsService.Snapshots, snapshotsImpl(ctx));
    addService(server, contentService.Content, contentImpl(ctx, cn));
    addService(server, imagesService.Images, imagesImpl(ctx));
    addService(server, diffService.Diff, diffImpl(ctx, cn));
    addService(server, tasksService.Tasks, tasksImpl(ctx, { shims }));
  }, { prefix: 'berth-tasks-run-' });
  const image = await testImage('busybox', 'oci');
  const r = await runCtr(engine.address, ['images', 'import', '--no-unpack', image.path]);
  if (r.code !== 0) throw new Error(r.stderr);
}, 120_000);

afterAll(async () => {
  // After a failure, take down what still runs (a shim shut down with containers leaves their mounts).
  if (engine) {
    for (const t of ['r1', 'r2']) {
      await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', t]);
      await runCtr(engine.address, ['tasks', 'rm', '-f', t]);
    }
  }
  await shims?.shutdownAll();
  const left = engine ? readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(engine.dir)) : [];
  await engine?.stop();
  expect(left).toEqual([]);
}, 60_000);

describe.skipIf(!isRoot || !hasCtr)('ctr run', () => {
  it('runs --rm in the foreground with the exit code and output', async () => {
    const r = await runCtr(engine.address, ['run', '--rm', '--fifo-dir', `${engine.dir}/fifo`, ref, 'r1', 'sh', '-c', 'echo hello; exit 3']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\n');
    expect(r.code).toBe(3);
    expect((await runCtr(engine.address, ['containers', 'ls', '-q'])).stdout).toBe('');
  });

  it('runs -d, then tasks ls / kill / containers rm', async () => {
    const d = await runCtr(engine.address, ['run', '-d', '--null-io', ref, 'r2', 'sleep', '1000']);
    expect(d.stderr).toBe('');
    const ls = ctrTable((await runCtr(engine.address, ['tasks', 'ls'])).stdout, ['TASK', 'PID', 'STATUS']);
    expect(ls).toContainEqual({ TASK: 'r2', PID: expect.stringMatching(/^\d+$/), STATUS: 'RUNNING' });
    expect((await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', 'r2'])).code).toBe(0);
    for (let i = 0; i < 100; i++) {
      const rows = ctrTable((await runCtr(engine.address, ['tasks', 'ls'])).stdout, ['TASK', 'PID', 'STATUS']);
      if (rows.some((t) => t.TASK === 'r2' && t.STATUS === 'STOPPED')) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const rm = await runCtr(engine.address, ['containers', 'rm', 'r2']);
    expect(rm.stderr).toBe('');
    expect((await runCtr(engine.address, ['tasks', 'ls', '-q'])).stdout).toBe('');
  });
});
