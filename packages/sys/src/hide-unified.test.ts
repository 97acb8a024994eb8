import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hideUnifiedHelper, mount, umount, UnmountFlags } from './index';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'berth-hide-unified-'));

afterAll(() => {
  try {
    umount(dir, UnmountFlags.DETACH);
  } catch {
    // not mounted
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('berth-hide-unified', () => {
  it('runs the program without the given mount, which the host keeps', () => {
    const helper = hideUnifiedHelper();
    expect(helper).toBeDefined();
    mount('tmpfs', dir, 'tmpfs', 0, 'size=1m');
    // grep -c exits 1 when it counts nothing: read its output, not its status.
    const inside = spawnSync(helper!, [dir, 'grep', '-c', ` ${dir} `, '/proc/self/mountinfo'], { encoding: 'utf8' });
    expect(inside.stdout.trim()).toBe('0');
    expect(execFileSync('grep', ['-c', ` ${dir} `, '/proc/self/mountinfo'], { encoding: 'utf8' }).trim()).toBe('1');
  });

  it("passes the program's exit status through, and fails with 125 and a message when a step fails", () => {
    const helper = hideUnifiedHelper()!;
    expect(spawnSync(helper, [dir, 'sh', '-c', 'exit 7']).status).toBe(7);
    const notMounted = spawnSync(helper, [join(dir, 'nothing-here'), 'true'], { encoding: 'utf8' });
    expect(notMounted.status).toBe(125);
    expect(notMounted.stderr).toMatch(/berth-hide-unified: umount .*nothing-here/);
    const noProgram = spawnSync(helper, [dir, '/nonexistent/program'], { encoding: 'utf8' });
    expect(noProgram.status).toBe(125);
    expect(noProgram.stderr).toMatch(/exec \/nonexistent\/program: No such file/);
  });
});

