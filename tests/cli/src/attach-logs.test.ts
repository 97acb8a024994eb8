import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH, runProgram, type TestDaemon, until, startDaemonWithBusybox } from './harness';

// `berth logs -t/--since/--until` and `berth attach` against a live berthd with real
// containers (root only). No timing is asserted: times are compared with the test's own clock.
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemonWithBusybox('berth-cli-attach-');
}, 120_000);

afterAll(async () => {
  await d?.stop();
}, 60_000);


const STAMPED = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z) (.*)$/;

/** The lines of `-t` output as [unix ms, text]; fails on a line without Docker's timestamp. */
function stamped(out: string): [number, string][] {
  return out.split('\n').filter(Boolean).map((l) => {
    const m = STAMPED.exec(l);
    expect(m, l).not.toBeNull();
    return [Date.parse(m![1]!), m![2]!];
  });
}

describe.skipIf(!isRoot)('berth logs -t, --since, --until', () => {
  it("prefixes each line of a detached container with the time it was written, keeping stdout and stderr apart", async () => {
    const before = Date.now() - 1000; // the file mtime's clock is coarser than Date.now()
    const id = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'echo one; echo oops >&2; echo two'])).stdout.trim();
    expect((await d.berth(['wait', id])).stdout).toBe('0\n');
    await until(async () => (await d.berth(['logs', id])).stdout === 'one\ntwo\n');
    const after = Date.now() + 1000;
    const r = await d.berth(['logs', '-t', id]);
    expect(r.code).toBe(0);
    const out = stamped(r.stdout);
    expect(out.map(([, l]) => l)).toEqual(['one', 'two']);
    const err = stamped(r.stderr);
    expect(err.map(([, l]) => l)).toEqual(['oops']);
    for (const [t] of [...out, ...err]) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    expect(out[0]![0]).toBeLessThanOrEqual(out[1]![0]);
    // Without -t, the output is exactly what it was.
    expect(await d.berth(['logs', id])).toEqual({ code: 0, stdout: 'one\ntwo\n', stderr: 'oops\n' });
    expect(stamped((await d.berth(['logs', '-t', '--tail', '1', id])).stdout).map(([, l]) => l)).toEqual(['two']);
    expect((await d.berth(['rm', id])).code).toBe(0);
  });

  it("keeps every byte of a foreground run's output in its logs", async () => {
    const r = await d.berth(['run', '--name', 'loud', 'busybox', 'sh', '-c', 'yes | head -c 20000000']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(20_000_000);
    const logs = await d.berth(['logs', 'loud']);
    expect(logs.stdout.length).toBe(20_000_000);
    expect(logs.stdout === r.stdout).toBe(true);
    // A reader that stops early ends berth quietly (status 141, as SIGPIPE would), with no trace.
    const cut = await runProgram('sh', ['-c', `${process.execPath} ${BERTH} --address ${d.address} logs loud | head -c 2`]);
    expect(cut).toEqual({ code: 0, stdout: 'y\n', stderr: '' });
    expect((await d.berth(['rm', 'loud'])).code).toBe(0);
  });

  it('timestamps the output of a foreground run too', async () => {
    const before = Date.now() - 1000;
    expect((await d.berth(['run', '--name', 'fg', 'busybox', 'echo', 'in-front'])).stdout).toBe('in-front\n');
    const out = stamped((await d.berth(['logs', '--timestamps', 'fg'])).stdout);
    expect(out.map(([, l]) => l)).toEqual(['in-front']);
    expect(out[0]![0]).toBeGreaterThanOrEqual(before);
    expect(out[0]![0]).toBeLessThanOrEqual(Date.now() + 1000);
    expect((await d.berth(['rm', 'fg'])).code).toBe(0);
  });

  it('keeps the lines of a time window with --since and --until', async () => {
    // Two runs of one container, so the two lines are written at clearly different times.
    expect((await d.berth(['run', '--name', 'twice', 'busybox', 'sh', '-c', 'echo run-$(cat /n 2>/dev/null || echo 1); echo 2 > /n'])).code).toBe(0);
    const first = stamped((await d.berth(['logs', '-t', 'twice'])).stdout);
    expect(first.map(([, l]) => l)).toEqual(['run-1']);
    const between = first[0]![0] + 1;
    await until(async () => Date.now() > between + 1000);
    expect((await d.berth(['start', '-a', 'twice'])).stdout).toBe('run-2\n');
    const iso = new Date(between).toISOString();
    expect((await d.berth(['logs', '--since', iso, 'twice'])).stdout).toBe('run-2\n');
    expect((await d.berth(['logs', '--until', iso, 'twice'])).stdout).toBe('run-1\n');
    expect((await d.berth(['logs', '--since', String(between / 1000), 'twice'])).stdout).toBe('run-2\n');
    expect((await d.berth(['logs', '--since', '1h', 'twice'])).stdout).toBe('run-1\nrun-2\n');
    expect((await d.berth(['logs', '--until', '1h', 'twice'])).stdout).toBe('');
    const bad = await d.berth(['logs', '--since', 'yesterday-ish', 'twice']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid value for "since"');
    expect((await d.berth(['rm', 'twice'])).code).toBe(0);
  });
});

describe.skipIf(!isRoot)('berth attach', () => {
  it("streams the output written after attaching, feeds stdin with -i, and exits with the container's code", async () => {
    const id = (await d.berth(['run', '-di', '--name', 'reader', 'busybox', 'sh', '-c', 'echo before; read line; echo got:$line; echo err:$line >&2; exit 3'])).stdout.trim();
    await until(async () => (await d.berth(['logs', id])).stdout === 'before\n');
    const r = await d.berth(['attach', 'reader'], { input: 'hello\n' });
    expect(r).toEqual({ code: 3, stdout: 'got:hello\n', stderr: 'err:hello\n' });
    expect((await d.berth(['logs', 'reader'])).stdout).toBe('before\ngot:hello\n');
    expect((await d.berth(['rm', 'reader'])).code).toBe(0);
  });

  it("keeps the container's stdin open when an attach ends, for the next one", async () => {
    expect((await d.berth(['run', '-di', '--name', 'tworeads', 'busybox', 'sh', '-c', 'read a; echo a:$a; read b; echo b:$b; exit 4'])).code).toBe(0);
    // The first attach ends (its stdin at EOF, then --sig-proxy=false lets SIGTERM end it) once
    // the first line came back; the container still reads the second line from the next attach.
    const first = spawn(process.execPath, [BERTH, '--address', d.address, 'attach', '--sig-proxy=false', 'tworeads'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    first.stdout.on('data', (b: Buffer) => (out += b.toString()));
    first.stdin.end('first\n');
    await until(async () => out === 'a:first\n');
    first.kill('SIGTERM');
    await new Promise((r) => first.once('close', r));
    expect((await d.berth(['ps', '--format', '{{.Names}}'])).stdout).toBe('tworeads\n');
    expect(await d.berth(['attach', 'tworeads'], { input: 'second\n' })).toEqual({ code: 4, stdout: 'b:second\n', stderr: '' });
    expect((await d.berth(['rm', 'tworeads'])).code).toBe(0);
  });

  it('refuses a stopped container and an unknown one', async () => {
    const id = (await d.berth(['create', 'busybox', 'true'])).stdout.trim();
    expect(await d.berth(['attach', id])).toEqual({ code: 1, stdout: '', stderr: 'berth: You cannot attach to a stopped container, start it first\n' });
    expect((await d.berth(['container', 'attach', 'nobody'])).stderr).toBe('berth: Error response from daemon: No such container: nobody\n');
    expect((await d.berth(['rm', id])).code).toBe(0);
  });
});
