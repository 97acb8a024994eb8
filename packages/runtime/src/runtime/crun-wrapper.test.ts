import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { crunNeedsWrapper, UNIFIED_MOUNT, wrapHidingUnified } from './crun-wrapper';

describe('wrapHidingUnified', () => {
  it("runs the binary through @berth/sys's helper when it is built, through unshare + sh otherwise", () => {
    expect(wrapHidingUnified('crun', ['create', 'x'], '/h/berth-hide-unified')).toEqual({
      file: '/h/berth-hide-unified',
      args: [UNIFIED_MOUNT, 'crun', 'create', 'x'],
    });
    expect(wrapHidingUnified('/proc/1/fd/9', ['create', 'x'], '/h/berth-hide-unified', '/usr/bin/crun').args).toEqual([
      UNIFIED_MOUNT,
      '--argv0',
      '/usr/bin/crun',
      '/proc/1/fd/9',
      'create',
      'x',
    ]);
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

  it.skipIf(process.getuid?.() !== 0 || !crunNeedsWrapper())("gives the wrapped program the argv[0] it is asked to", () => {
    const cmd = wrapHidingUnified('/bin/sh', ['-c', 'echo "$0"'], undefined, 'my-name');
    expect(spawnSync(cmd.file, cmd.args, { encoding: 'utf8' }).stdout).toBe('my-name\n');
  });
});
