import { spawn } from 'node:child_process';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH, startDaemon, type TestDaemon } from './harness';

// Streams: `berth events` and `berth logs -f` against a live berthd (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemon('berth-cli-ev-');
  expect((await d.berth(['load', '-i', (await testImage('busybox', 'oci')).path])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await d?.stop();
}, 60_000);

describe.skipIf(!isRoot)('streams', () => {
  it('events shows a container life cycle as JSON lines and ends on SIGINT', async () => {
    const child = spawn(process.execPath, [BERTH, '--address', d.address, 'events', '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    try {
      // The subscription goes live at some point of some run (perhaps in the middle of one):
      // run containers until a whole life cycle has shown.
      const cycle = ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete'];
      for (let i = 0; i < 50 && !cycle.every((t) => out.includes(`"${t}"`)); i++) {
        expect((await d.berth(['run', '--rm', 'busybox', 'true'])).code).toBe(0);
      }
      const events = out.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; namespace: string; event: Record<string, unknown> });
      const topics = events.map((e) => e.topic);
      for (const t of cycle) expect(topics).toContain(t);
      expect(events.every((e) => e.namespace === 'default')).toBe(true);
      expect(events.find((e) => e.topic === '/tasks/exit')?.event).toMatchObject({ exitStatus: 0 });
    } finally {
      child.kill('SIGINT');
    }
    expect(await closed).toBe(0);
  });

  it("events prints Docker's TYPE ACTION ID lines by default", async () => {
    const child = spawn(process.execPath, [BERTH, '--address', d.address, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    try {
      for (let i = 0; i < 50 && !out.includes('container die'); i++) {
        expect((await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
      }
      expect(out).toMatch(/^\S+Z container die [0-9a-f]{64} \(exitCode=3\)$/m);
      expect(out).toMatch(/^\S+Z container destroy [0-9a-f]{64}$/m);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await closed).toBe(0);
  });

  it('logs -f follows the output until the container exits', async () => {
    const id = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second'])).stdout.trim();
    const r = await d.berth(['logs', '-f', id]);
    expect(r).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: '' });
    expect((await d.berth(['rm', id])).code).toBe(0);
  });
});
