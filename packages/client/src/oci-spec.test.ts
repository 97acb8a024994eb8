import { describe, expect, it } from 'vitest';
import { mergeEnv, resolveUser, specFromImage } from './oci-spec';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n';
const group = 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nwheel:x:10:app\n';

describe('specFromImage', () => {
  const image = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['A=1', 'PATH=/bin'], WorkingDir: '/work' } };

  it("follows Docker's Entrypoint/Cmd rules", () => {
    const o = { id: 'c1', namespace: 'default' };
    expect(specFromImage(image as never, o).process?.args).toEqual(['/entry', 'default']);
    expect(specFromImage(image as never, { ...o, args: ['x'] }).process?.args).toEqual(['/entry', 'x']);
    expect(specFromImage(image as never, { ...o, entrypoint: ['/other'] }).process?.args).toEqual(['/other']);
    expect(specFromImage(image as never, { ...o, entrypoint: [], args: ['ls'] }).process?.args).toEqual(['ls']);
  });

  it('merges env by key, keeps the image PATH and adds TERM with a terminal', () => {
    const s = specFromImage(image as never, { id: 'c1', namespace: 'ns', env: ['A=2', 'B=3'], terminal: true });
    expect(s.process?.env).toEqual(['A=2', 'PATH=/bin', 'B=3', 'TERM=xterm']);
    expect(s.process?.cwd).toBe('/work');
    expect(s.linux?.cgroupsPath).toBe('/ns/c1');
    expect(s.root).toEqual({ path: 'rootfs', readonly: false });
  });

  it('adds tmpfs mounts, a read-only root and cgroup limits', () => {
    const s = specFromImage(image as never, {
      id: 'c1',
      namespace: 'ns',
      tmpfs: [{ destination: '/t', size: 1 << 20, mode: 0o1770 }, { destination: '/dev/shm' }],
      readonlyRootfs: true,
      resources: { memory: 64 << 20, cpuQuota: 50_000, pidsLimit: 10 },
    });
    expect(s.root).toEqual({ path: 'rootfs', readonly: true });
    expect(s.mounts?.find((m) => m.destination === '/t')).toEqual({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'rw', 'mode=1770', 'size=1048576'] });
    // A user mount replaces the default at the same place.
    expect(s.mounts?.filter((m) => m.destination === '/dev/shm')).toEqual([{ destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'rw', 'mode=1777'] }]);
    const r = s.linux?.resources as Record<string, unknown>;
    expect(r.memory).toEqual({ limit: 64 << 20 });
    expect(r.cpu).toEqual({ quota: 50_000, period: 100_000 });
    expect(r.pids).toEqual({ limit: 10 });
    const unlimited = specFromImage(image as never, { id: 'c1', namespace: 'ns', resources: { pidsLimit: -1, memory: 0 } }).linux?.resources as Record<string, unknown>;
    expect(Object.keys(unlimited)).toEqual(['devices']);
    expect(() => specFromImage(image as never, { id: 'c', namespace: 'n', tmpfs: [{ destination: 'rel' }] })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });

  it('refuses no command and a relative cwd (InvalidArgument)', () => {
    const bare = { ...image, config: {} };
    expect(() => specFromImage(bare as never, { id: 'c', namespace: 'n' })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => specFromImage(image as never, { id: 'c', namespace: 'n', cwd: 'rel' })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });

  it('adds bind mounts, replacing a default at the same destination', () => {
    const s = specFromImage(image as never, { id: 'c', namespace: 'n', mounts: [{ source: '/h', destination: '/dev/shm', readonly: true }] });
    expect(s.mounts?.filter((m) => m.destination === '/dev/shm')).toEqual([{ destination: '/dev/shm', type: 'bind', source: '/h', options: ['rbind', 'ro'] }]);
  });
});

describe('resolveUser', () => {
  it.each([
    ['', { uid: 0, gid: 0 }],
    ['nobody', { uid: 65534, gid: 65534 }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [10] }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [10] }],
    ['4242', { uid: 4242, gid: 0 }],
    ['app:nogroup', { uid: 1000, gid: 65534, additionalGids: [10] }],
    ['5:6', { uid: 5, gid: 6 }],
  ])('%j', (user, want) => {
    expect(resolveUser(user, passwd, group)).toEqual(want);
  });

  it('refuses unknown names', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow(/unable to find user ghost/);
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow(/unable to find group ghosts/);
  });
});

describe('mergeEnv', () => {
  it('replaces by key, appends new keys, takes a bare key from the environment or drops it', () => {
    process.env.BERTH_TEST_ENV = 'from-host';
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'BERTH_TEST_ENV', 'BERTH_TEST_UNSET'])).toEqual(['A=1', 'B=3', 'C=4', 'BERTH_TEST_ENV=from-host']);
  });
});
