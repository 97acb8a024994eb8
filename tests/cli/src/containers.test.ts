import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDaemon, until, startDaemonWithBusybox } from './harness';

// Detached containers and the commands that manage them, against a live berthd (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemonWithBusybox('berth-cli-ctr-');
}, 120_000);

afterAll(async () => {
  await d?.stop();
}, 60_000);


describe.skipIf(!isRoot)('detached containers', () => {
  it('run -d, ps, logs, exec, stop, start, kill, wait, rm', async () => {
    const run = await d.berth(['run', '-d', '--name', 'web', '--label', 'tier=front', 'busybox', 'sh', '-c', 'echo out; echo err >&2; trap "exit 0" TERM; while true; do sleep 0.1; done']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    expect((await d.berth(['ps', '-q'])).stdout).toBe(`${id.slice(0, 12)}\n`);
    const rows = (await d.berth(['ps', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toEqual([expect.objectContaining({ ID: id.slice(0, 12), Names: 'web', Image: 'busybox', State: 'running' })]);
    expect((await d.berth(['ps', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('web running\n');

    await until(async () => (await d.berth(['logs', 'web'])).stdout === 'out\n');
    expect(await d.berth(['logs', 'web'])).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    expect((await d.berth(['logs', '--tail', '0', 'web'])).stdout).toBe('');

    // By name, by unique id prefix.
    expect(await d.berth(['exec', 'web', 'sh', '-c', 'echo in-exec; exit 3'])).toEqual({ code: 3, stdout: 'in-exec\n', stderr: '' });
    expect((await d.berth(['exec', id.slice(0, 6), 'echo', 'by-prefix'])).stdout).toBe('by-prefix\n');
    expect((await d.berth(['exec', '-i', 'web', 'cat'], { input: 'piped\n' })).stdout).toBe('piped\n');
    expect((await d.berth(['exec', 'web', 'no-such-command'])).code).toBe(127);
    expect(await d.berth(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'X=1', 'web', 'sh', '-c', 'id -un; pwd; echo $X'])).toEqual({ code: 0, stdout: 'nobody\n/tmp\n1\n', stderr: '' });

    const inspected = JSON.parse((await d.berth(['inspect', 'web'])).stdout) as { Id: string; Name: string; State: { Running: boolean }; Config: { Labels: Record<string, string> } }[];
    expect(inspected).toHaveLength(1);
    expect(inspected[0]).toMatchObject({ Id: id, Name: '/web', State: { Running: true }, Config: { Labels: expect.objectContaining({ tier: 'front' }) } });

    // Names are unique in the namespace.
    const dup = await d.berth(['run', '-d', '--name', 'web', 'busybox', 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain('Conflict. The container name "/web" is already in use');

    const rmRunning = await d.berth(['rm', 'web']);
    expect(rmRunning.code).toBe(1);
    expect(rmRunning.stderr).toContain('You cannot remove a running container');

    expect(await d.berth(['stop', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect((await d.berth(['ps', '-q'])).stdout).toBe('');
    expect((await d.berth(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.ExitCode}}'])).stdout).toBe('web exited 0\n');
    expect((await d.berth(['ps', '--filter', 'status=exited', '--filter', 'label=tier=front', '--format', '{{.Names}}'])).stdout).toBe('web\n');
    expect((await d.berth(['ps', '-a', '--filter', 'name=nope', '-q'])).stdout).toBe('');
    expect((await d.berth(['ps', '--filter', 'bogus=1'])).code).toBe(125);

    expect(await d.berth(['start', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect((await d.berth(['ps', '--format', '{{.Names}}'])).stdout).toBe('web\n');
    expect((await d.berth(['kill', '-s', 'KILL', 'web'])).code).toBe(0);
    expect(await d.berth(['wait', 'web'])).toEqual({ code: 0, stdout: '137\n', stderr: '' });
    expect(await d.berth(['rm', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect((await d.berth(['ps', '-a', '-q'])).stdout).toBe('');
    expect((await d.berth(['logs', 'web'])).code).toBe(1);
  });

  it('stop sends SIGKILL after -t when the signal is ignored', async () => {
    // sh as pid 1 ignores SIGTERM: stop has to kill it.
    const id = (await d.berth(['run', '-d', 'busybox', 'sleep', '1000'])).stdout.trim();
    expect(await d.berth(['stop', '-t', '1', id])).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect((await d.berth(['inspect', '--format', '{{json .State}}', id])).stdout).toContain('"ExitCode":137');
    expect((await d.berth(['rm', id])).code).toBe(0);
  });

  it('rm -f removes a running container', async () => {
    const id = (await d.berth(['run', '-d', '--name', 'doomed', 'busybox', 'sleep', '1000'])).stdout.trim();
    expect(await d.berth(['rm', '-f', 'doomed'])).toEqual({ code: 0, stdout: 'doomed\n', stderr: '' });
    const gone = await d.berth(['inspect', id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`No such object: ${id}`);
  });

  it('create then start runs the command with output in the logs', async () => {
    const id = (await d.berth(['create', '--name', 'later', 'busybox', 'echo', 'created-then-started'])).stdout.trim();
    expect((await d.berth(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout).toBe('later Created\n');
    expect((await d.berth(['start', 'later'])).code).toBe(0);
    expect(await d.berth(['wait', id])).toEqual({ code: 0, stdout: '0\n', stderr: '' });
    expect((await d.berth(['logs', 'later'])).stdout).toBe('created-then-started\n');
    const stopped = await d.berth(['exec', 'later', 'true']);
    expect(stopped.code).toBe(125);
    expect(stopped.stderr).toContain('is not running: start it with: berth start later');
    // start -a runs it again in the foreground, with its exit code.
    expect(await d.berth(['start', '-a', 'later'])).toEqual({ code: 0, stdout: 'created-then-started\n', stderr: '' });
    expect((await d.berth(['logs', 'later'])).stdout).toBe('created-then-started\ncreated-then-started\n');
    expect((await d.berth(['rm', 'later'])).code).toBe(0);
  });

  it('a foreground run without --rm keeps the container and its logs', async () => {
    expect((await d.berth(['run', '--name', 'fg', 'busybox', 'sh', '-c', 'echo kept; exit 2'])).code).toBe(2);
    expect((await d.berth(['ps', '-a', '--format', '{{.Names}} {{.ExitCode}}'])).stdout).toBe('fg 2\n');
    expect((await d.berth(['logs', 'fg'])).stdout).toBe('kept\n');
    expect((await d.berth(['rm', 'fg'])).code).toBe(0);
  });

  it('run -dit keeps a shell alive on an open stdin; -dt logs the terminal output', async () => {
    expect((await d.berth(['run', '-dit', '--name', 'shell', 'busybox', 'sh'])).code).toBe(0);
    expect((await d.berth(['ps', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('shell running\n');
    expect((await d.berth(['exec', 'shell', 'sh', '-c', 'test -t 0 && echo has-tty'])).stdout).toBe('');
    expect((await d.berth(['exec', '-t', 'shell', 'sh', '-c', 'test -t 1 && echo has-tty'])).stdout).toContain('has-tty');
    expect((await d.berth(['rm', '-f', 'shell'])).code).toBe(0);
    const id = (await d.berth(['run', '-dt', 'busybox', 'sh', '-c', 'test -t 1 && echo is-a-tty'])).stdout.trim();
    expect((await d.berth(['wait', id])).stdout).toBe('0\n');
    expect((await d.berth(['logs', id])).stdout).toBe('is-a-tty\r\n');
    expect((await d.berth(['rm', id])).code).toBe(0);
  });

  it('run -d --rm removes the container once it exits', async () => {
    const id = (await d.berth(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 0.5'])).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await until(async () => !(await d.berth(['ps', '-a', '-q', '--no-trunc'])).stdout.includes(id));
    expect((await d.berth(['inspect', id])).code).toBe(1);
  });

  it('says "No such container" for an unknown name', async () => {
    const r = await d.berth(['stop', 'nobody-here']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No such container: nobody-here');
  });
});
