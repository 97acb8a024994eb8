import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind } from '@berth/errdefs';
import { afterAll, describe, expect, it } from 'vitest';
import { invoke } from './invoke';

// invoke through @berth/sys's spawn (the default where the addon is built) and through child_process.
const dir = mkdtempSync(join(tmpdir(), 'berth-invoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A "runtime" that is a shell script: invoke's `--log FILE --log-format json` come after it, as $1…$4. */
const sh = (script: string) => (args: string[]) => ({ file: 'sh', args: ['-c', script, 'sh', ...args] });

describe.each([
  ['@berth/sys spawn', false],
  ['child_process', true],
])('invoke (%s)', (_name, childProcess) => {
  it('gives the exit code, stdout, and the last error of the JSON log or of stderr', async () => {
    expect(await invoke(sh('echo out; echo first >&2; echo last >&2; exit 4'), [], { childProcess })).toEqual({ code: 4, stdout: 'out\n', error: 'last' });
    const logged = await invoke(sh(`echo '{"level":"error","msg":"from the log"}' > "$2"; echo noise >&2; exit 1`), [], { childProcess });
    expect(logged).toEqual({ code: 1, stdout: '', error: 'from the log' });
    expect(await invoke(sh('exit 0'), [], { childProcess })).toEqual({ code: 0, stdout: '' });
  });

  it('gives the child the stdio it is told, and then captures nothing', async () => {
    const file = join(dir, `out-${String(childProcess)}`);
    const fd = openSync(file, 'w');
    try {
      expect(await invoke(sh('echo to-the-file; cat'), [], { stdio: ['ignore', fd, 'ignore'], childProcess })).toEqual({ code: 0, stdout: '' });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, 'utf8')).toBe('to-the-file\n');
  });

  it('reports a killed child as 128 + the signal', async () => {
    expect((await invoke(sh('kill -TERM $$'), [], { childProcess })).code).toBe(143);
  });

  it('is Unavailable when the program does not exist', async () => {
    await expect(invoke(() => ({ file: 'no-such-runtime-binary', args: [] }), [], { childProcess })).rejects.toMatchObject({ kind: ErrorKind.Unavailable });
  });
});
