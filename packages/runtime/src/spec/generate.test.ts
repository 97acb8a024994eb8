import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, kindOf } from '@berth/errdefs';
import type { ImageConfig, Spec } from '@berth/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH_ENV, defaultCapabilities } from './defaults';
import { generateSpec } from './generate';
import type { GenerateSpecOptions } from './types';
import { resolveUser } from './user';

let rootfs: string;
let bare: string;
beforeAll(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'berth-runtime-spec-'));
  await mkdir(join(rootfs, 'etc'));
  await mkdir(join(rootfs, 'real'));
  await writeFile(
    join(rootfs, 'real/passwd'),
    '# comment\nroot:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nweb:x:33:33::/var/www:/bin/false\nbroken line\n',
  );
  // An absolute symlink must resolve inside the rootfs, not on the host.
  await symlink('/real/passwd', join(rootfs, 'etc/passwd'));
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nstaff:x:50:user,web\nuser:x:1000:\nweb:x:33:\naudio:x:29:user\n');
  bare = await mkdtemp(join(tmpdir(), 'berth-runtime-bare-'));
});
afterAll(async () => {
  await rm(rootfs, { recursive: true, force: true });
  await rm(bare, { recursive: true, force: true });
});

const image = (config: ImageConfig['config'] = {}): ImageConfig => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config });
const gen = (over: Partial<GenerateSpecOptions> = {}): Promise<Spec> =>
  generateSpec({ image: image({ Cmd: ['sh'] }), rootfs, id: 'c1', hostNofileHard: 20000, ...over });

describe('generateSpec args', () => {
  const cases: Array<[string, ImageConfig['config'], Partial<GenerateSpecOptions>, string[]]> = [
    ['image cmd', { Cmd: ['sh'] }, {}, ['sh']],
    ['entrypoint + cmd', { Entrypoint: ['/init'], Cmd: ['--x'] }, {}, ['/init', '--x']],
    ['args replace cmd', { Entrypoint: ['/init'], Cmd: ['--x'] }, { args: ['--y'] }, ['/init', '--y']],
    ['entrypoint override clears cmd', { Entrypoint: ['/init'], Cmd: ['--x'] }, { entrypoint: ['/other'] }, ['/other']],
    ['entrypoint override plus args', { Entrypoint: ['/init'], Cmd: ['--x'] }, { entrypoint: ['/other'], args: ['a'] }, ['/other', 'a']],
    ['empty entrypoint override, args only', { Entrypoint: ['/init'], Cmd: ['--x'] }, { entrypoint: [], args: ['ls'] }, ['ls']],
  ];
  it.each(cases)('%s', async (_name, config, over, want) => {
    expect((await gen({ image: image(config), ...over })).process!.args).toEqual(want);
  });
  it('rejects an empty command', async () => {
    await expect(gen({ image: image({ Entrypoint: ['/init'] }), entrypoint: [] })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
});

describe('generateSpec env', () => {
  const cases: Array<[string, string[] | undefined, Partial<GenerateSpecOptions>, string[]]> = [
    ['default PATH when absent', undefined, {}, [DEFAULT_PATH_ENV]],
    ['image env kept', ['PATH=/bin', 'A=1'], {}, ['PATH=/bin', 'A=1']],
    ['override by key in place, new appended', ['PATH=/bin', 'A=1'], { env: ['A=2', 'B=3'] }, ['PATH=/bin', 'A=2', 'B=3']],
    ['bare key removes', ['PATH=/bin', 'A=1'], { env: ['A'] }, ['PATH=/bin']],
    ['value with =', ['PATH=/bin'], { env: ['X=a=b'] }, ['PATH=/bin', 'X=a=b']],
    ['TERM with a terminal', ['PATH=/bin'], { terminal: true }, ['PATH=/bin', 'TERM=xterm']],
  ];
  it.each(cases)('%s', async (_name, env, over, want) => {
    expect((await gen({ image: image({ Cmd: ['sh'], Env: env }), ...over })).process!.env).toEqual(want);
  });
});

describe('generateSpec cwd, user, defaults', () => {
  it.each([
    [{}, {}, '/'],
    [{ WorkingDir: '/srv' }, {}, '/srv'],
    [{ WorkingDir: '/srv' }, { cwd: '/tmp' }, '/tmp'],
  ] as const)('cwd %#', async (config, over, want) => {
    expect((await gen({ image: image({ Cmd: ['sh'], ...config }), ...over })).process!.cwd).toBe(want);
  });
  it('rejects a relative cwd', async () => {
    await expect(gen({ cwd: 'tmp' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
  it('takes the image user unless overridden', async () => {
    expect((await gen({ image: image({ Cmd: ['sh'], User: 'web' }) })).process!.user).toMatchObject({ uid: 33, gid: 33 });
    expect((await gen({ image: image({ Cmd: ['sh'], User: 'web' }), user: 'user' })).process!.user).toMatchObject({ uid: 1000 });
  });
  it('has containerd defaults', async () => {
    const spec = await gen({ hostname: 'box' });
    const caps = defaultCapabilities();
    expect(spec.process!.capabilities).toEqual({ bounding: caps, effective: caps, permitted: caps });
    expect(caps).toHaveLength(14);
    expect(spec.process!.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    expect(spec.process!.oomScoreAdj).toBeUndefined();
    expect(spec.process!.noNewPrivileges).toBe(false);
    expect(spec.process!.terminal).toBe(false);
    expect(spec.linux!.namespaces!.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(spec.mounts!.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(spec.mounts!.find((m) => m.destination === '/sys')!.options).toContain('ro');
    expect(spec.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!.options).toContain('ro');
    expect(spec.linux!.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux!.readonlyPaths).toContain('/proc/sys');
    expect(spec.linux!.cgroupsPath).toBe('/berth/c1');
    expect(spec.linux!.resources!.devices![0]).toEqual({ allow: false, access: 'rwm' });
    expect(spec.root).toEqual({ path: rootfs, readonly: false });
    expect(spec.hostname).toBe('box');
  });
  it('clamps RLIMIT_NOFILE to a lower host hard limit', async () => {
    expect((await gen({ hostNofileHard: 512 })).process!.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 512, soft: 512 }]);
  });
  it('applies options: readonly rootfs, noNewPrivileges, cgroupsPath, resources', async () => {
    const spec = await gen({
      readonlyRootfs: true,
      noNewPrivileges: true,
      cgroupsPath: '/x/y',
      resources: { memory: 64 << 20, cpuShares: 512, cpuQuota: 50_000, pids: 20 },
    });
    expect(spec.root!.readonly).toBe(true);
    expect(spec.process!.noNewPrivileges).toBe(true);
    expect(spec.linux!.cgroupsPath).toBe('/x/y');
    expect(spec.linux!.resources).toMatchObject({ memory: { limit: 64 << 20 }, cpu: { shares: 512, quota: 50_000, period: 100_000 }, pids: { limit: 20 } });
  });
  it.each([{ memory: 0 }, { pids: -1 }, { cpuShares: 1.5 }])('rejects resources %j', async (resources) => {
    await expect(gen({ resources })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
  it.each([
    ['none', ['pid', 'ipc', 'uts', 'mount', 'network'], undefined],
    ['host', ['pid', 'ipc', 'uts', 'mount'], undefined],
    [{ path: '/proc/1/ns/net' }, ['pid', 'ipc', 'uts', 'mount', 'network'], '/proc/1/ns/net'],
  ] as const)('network %j', async (network, types, path) => {
    const ns = (await gen({ network })).linux!.namespaces!;
    expect(ns.map((n) => n.type)).toEqual(types);
    expect(ns.find((n) => n.type === 'network')?.path).toBe(path);
  });
  it('adds bind and tmpfs mounts, replacing a default at the same destination', async () => {
    const spec = await gen({
      mounts: [
        { type: 'bind', source: '/srv/data', destination: '/data', readonly: true },
        { type: 'tmpfs', destination: '/dev/shm', size: 1 << 20 },
      ],
    });
    expect(spec.mounts!.filter((m) => m.destination === '/dev/shm')).toEqual([
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=1048576'] },
    ]);
    expect(spec.mounts!.at(-2)).toEqual({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] });
  });
  it.each([
    [{ type: 'bind', source: 'rel', destination: '/d' }],
    [{ type: 'tmpfs', destination: 'd' }],
  ] as const)('rejects mount %j', async (mount) => {
    await expect(gen({ mounts: [mount] })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
});

describe('resolveUser', () => {
  const cases: Array<[string, object]> = [
    ['', { uid: 0, gid: 0, additionalGids: [0], username: 'root' }],
    ['root', { uid: 0, gid: 0, additionalGids: [0], username: 'root' }],
    ['user', { uid: 1000, gid: 1000, additionalGids: [1000, 50, 29], username: 'user' }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [1000, 50, 29], username: 'user' }],
    ['1000:33', { uid: 1000, gid: 33, additionalGids: [33, 50, 29], username: 'user' }],
    ['user:staff', { uid: 1000, gid: 50, additionalGids: [50, 29], username: 'user' }],
    ['web:web', { uid: 33, gid: 33, additionalGids: [33, 50], username: 'web' }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [0] }],
    ['4242:77', { uid: 4242, gid: 77, additionalGids: [77] }],
  ];
  it.each(cases)('%j', async (user, want) => {
    expect(await resolveUser(rootfs, user)).toEqual(want);
  });
  it.each(['nobody', 'user:nogroup', 'a:b:c', ':1', '1:'])('rejects %j', async (user) => {
    await expect(resolveUser(rootfs, user)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
  it('works without /etc/passwd for numeric ids only', async () => {
    expect(await resolveUser(bare, '5:6')).toEqual({ uid: 5, gid: 6, additionalGids: [6] });
    await expect(resolveUser(bare, 'user')).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
});
