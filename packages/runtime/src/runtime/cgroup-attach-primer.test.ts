import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupAttachPrimer, ownCgroupProcsFile } from './cgroup-attach-primer';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// A fake /proc with the given self/cgroup and self/mountinfo.
function fakeProc(cgroup: string, mountinfo: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-primer-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'self'));
  writeFileSync(join(dir, 'self/cgroup'), cgroup);
  writeFileSync(join(dir, 'self/mountinfo'), mountinfo);
  return dir;
}

const HYBRID_CGROUP = '9:name=systemd:/user.slice\n4:memory:/mem/x\n2:cpu,cpuacct:/cpu/y\n0::/unified/z\n';

describe('ownCgroupProcsFile', () => {
  it('picks the first writable cgroup mount of a hierarchy this process is in', () => {
    const procfs = fakeProc(
      HYBRID_CGROUP,
      [
        '20 1 0:18 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
        '21 20 0:19 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
        '22 20 0:20 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd',
      ].join('\n'),
    );
    expect(ownCgroupProcsFile(procfs)).toBe('/sys/fs/cgroup/cpu,cpuacct/cpu/y/cgroup.procs');
  });

  it('takes cgroup2 by its empty key and unescapes the mount point', () => {
    const procfs = fakeProc(HYBRID_CGROUP, '30 20 0:21 / /sys/fs/cgroup/uni\\040fied rw - cgroup2 cgroup2 rw,nsdelegate');
    expect(ownCgroupProcsFile(procfs)).toBe('/sys/fs/cgroup/uni fied/unified/z/cgroup.procs');
  });

  it('skips read-only mounts, mounts of a subtree and hierarchies this process is not in', () => {
    const procfs = fakeProc(
      HYBRID_CGROUP,
      [
        '21 20 0:19 / /ro ro,relatime - cgroup cgroup rw,memory',
        '22 20 0:20 /sub /bound rw - cgroup cgroup rw,name=systemd',
        '23 20 0:22 / /pids rw - cgroup cgroup rw,pids',
        '24 20 0:23 / /mem rw - cgroup cgroup rw,memory',
      ].join('\n'),
    );
    expect(ownCgroupProcsFile(procfs)).toBe('/mem/mem/x/cgroup.procs');
  });

  it('skips a path outside the cgroup namespace or of a removed cgroup', () => {
    const mounts = ['21 20 0:19 / /cpu rw - cgroup cgroup rw,cpu', '22 20 0:20 / /uni rw - cgroup2 cgroup2 rw'].join('\n');
    expect(ownCgroupProcsFile(fakeProc('1:cpu:/../../other\n0::/ok\n', mounts))).toBe('/uni/ok/cgroup.procs');
    expect(ownCgroupProcsFile(fakeProc('1:cpu:/../x\n0::/gone (deleted)\n', mounts))).toBeNull();
  });

  it('is null without a cgroup mount or without /proc', () => {
    expect(ownCgroupProcsFile(fakeProc(HYBRID_CGROUP, '20 1 0:18 / /sys ro - sysfs sysfs ro'))).toBeNull();
    expect(ownCgroupProcsFile('/nonexistent-proc')).toBeNull();
  });

  it.skipIf(process.getuid?.() !== 0)('finds this process in its own cgroup on this host', () => {
    const file = ownCgroupProcsFile();
    expect(file).not.toBeNull();
    expect(readFileSync(file!, 'utf8').split('\n')).toContain(String(process.pid));
  });
});

describe('cgroupAttachPrimer', () => {
  // A fake cgroup2 mount at `mnt` whose cgroup.procs is a plain file, so the write can be seen.
  function fakeMount(): { procfs: string; procs: string } {
    const mnt = mkdtempSync(join(tmpdir(), 'berth-primer-mnt-'));
    dirs.push(mnt);
    mkdirSync(join(mnt, 'a'));
    return { procfs: fakeProc('0::/a\n', `30 20 0:21 / ${mnt} rw - cgroup2 cgroup2 rw`), procs: join(mnt, 'a/cgroup.procs') };
  }

  it('writes 0 (this process) to its own cgroup.procs, one write at a time', async () => {
    const { procfs, procs } = fakeMount();
    writeFileSync(procs, '');
    const primer = cgroupAttachPrimer({ procfs });
    const first = primer.prime();
    expect(primer.prime()).toBe(first);
    await first;
    expect(readFileSync(procs, 'utf8')).toBe('0');
    writeFileSync(procs, '');
    await primer.prime();
    expect(readFileSync(procs, 'utf8')).toBe('0');
  });

  it('writes to the cgroup this process is in at each prime, not the one it was first in', async () => {
    const { procfs, procs } = fakeMount();
    const mnt = dirname(dirname(procs));
    mkdirSync(join(mnt, 'b'));
    const moved = join(mnt, 'b/cgroup.procs');
    writeFileSync(procs, '');
    writeFileSync(moved, '');
    const primer = cgroupAttachPrimer({ procfs });
    await primer.prime();
    writeFileSync(join(procfs, 'self/cgroup'), '0::/b\n');
    writeFileSync(procs, '');
    await primer.prime();
    expect(readFileSync(procs, 'utf8')).toBe('');
    expect(readFileSync(moved, 'utf8')).toBe('0');
  });

  it('turns itself off after a failed write, never rejecting and never creating the file', async () => {
    const { procfs, procs } = fakeMount();
    const primer = cgroupAttachPrimer({ procfs });
    await expect(primer.prime()).resolves.toBeUndefined();
    expect(() => readFileSync(procs)).toThrow(/ENOENT/);
    writeFileSync(procs, '');
    await primer.prime();
    expect(readFileSync(procs, 'utf8')).toBe('');
  });

  it('does nothing where no cgroup is mounted', async () => {
    await expect(cgroupAttachPrimer({ procfs: '/nonexistent-proc' }).prime()).resolves.toBeUndefined();
  });

  it.skipIf(process.getuid?.() !== 0)('leaves this process in the cgroups it was in', async () => {
    const before = readFileSync('/proc/self/cgroup', 'utf8');
    await cgroupAttachPrimer().prime();
    expect(readFileSync('/proc/self/cgroup', 'utf8')).toBe(before);
  });
});
