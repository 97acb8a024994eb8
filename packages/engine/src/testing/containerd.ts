import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { umount, UnmountFlags } from '@berth/sys';

const run = promisify(execFile);

/** A containerd daemon on a private root, state dir and socket, started for one benchmark or test. */
export interface Containerd extends CtrDaemon {
  root: string;
}

/** Why containerd cannot be run here, or undefined when it can. */
export function containerdMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'containerd needs root';
  for (const bin of ['/usr/bin/containerd', '/usr/bin/ctr']) if (!existsSync(bin)) return `${bin} is missing (apt-get install containerd)`;
  return undefined;
}

/**
 * Starts Debian's containerd with its own root, state and socket under a temp dir, the CRI
 * plugin disabled, and waits until it answers `ctr version`.
 */
export async function startContainerd(): Promise<Containerd> {
  const dir = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-containerd-'));
  const root = join(dir, 'root');
  const address = join(dir, 'containerd.sock');
  await writeFile(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${root}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '',
    ].join('\n'),
  );
  const daemon = await startCtrDaemon('containerd', dir, address, '/usr/bin/containerd', ['--config', join(dir, 'config.toml')]);
  return { ...daemon, root };
}

/** A daemon process that `ctr` drives: its socket, pid, a `ctr` bound to it, and its stop. */
export interface CtrDaemon {
  address: string;
  pid: number;
  /** Runs Debian's `ctr` against the daemon in namespace `bench`; rejects on a non-zero exit. */
  ctr(...args: string[]): Promise<string>;
  /** SIGTERM (SIGKILL after 5 s), then unmounts whatever is left under `dir` and removes it. */
  stop(): Promise<void>;
}

/**
 * Spawns `command args` (a daemon owning `dir` and serving containerd's API on `address`) and
 * waits until `ctr version` answers; on failure it is stopped and the error carries its log.
 */
export async function startCtrDaemon(name: string, dir: string, address: string, command: string, args: string[]): Promise<CtrDaemon> {
  const daemon = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));

  const ctr = async (...a: string[]) => (await run('/usr/bin/ctr', ['--address', address, '--namespace', 'bench', ...a], { maxBuffer: 64 << 20 })).stdout;
  const stop = async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      const timer = setTimeout(() => daemon.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  };

  for (let i = 0; i < 100; i++) {
    if (daemon.exitCode !== null) break;
    try {
      await ctr('version');
      return { address, pid: daemon.pid!, ctr, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stop();
  throw new Error(`${name} did not start:\n${log}`);
}

/** Unmounts every mount below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((t): t is string => t !== undefined && (t === dir || t.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const target of targets) {
    try {
      umount(target, UnmountFlags.DETACH);
    } catch {
      // Already gone with its parent.
    }
  }
}
