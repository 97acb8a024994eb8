import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { crunNeedsWrapper, UNIFIED_MOUNT, wrapHidingUnified } from './crun-wrapper';

describe('wrapHidingUnified', () => {
  it("runs the binary through @berth/sys's helper when it is built, through unshare + sh otherwise", () => {
    expect(wrapHidingUnified('crun', ['create', 'x'], '/h/berth-hide-unified')).toEqual({
      file: '/h/berth-hide-unified',
      args: [UNIFIED_MOUNT, 'crun', 'create', 'x'],
    });
    const fallback = wrapHidingUnified('crun', ['create', 'x'], null);
    expect(fallback.file).toBe('unshare');
    expect(fallback.args.slice(-3)).toEqual(['crun', 'create', 'x']);
  });

  it.skipIf(process.getuid?.() !== 0 || !crunNeedsWrapper())('hides the unified mount from the wrapped program, with either wrapper', () => {
    const script = ['-c', 'grep -c " /sys/fs/cgroup/unified " /proc/self/mountinfo; exit 3'];
    for (const cmd of [wrapHidingUnified('sh', script), wrapHidingUnified('sh', script, null)]) {
      const r = spawnSync(cmd.file, cmd.args, { encoding: 'utf8' });
      expect(r.stdout.trim()).toBe('0');
      expect(r.status).toBe(3);
    }
  });
});
