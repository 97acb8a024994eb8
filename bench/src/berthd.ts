import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { unmountUnder } from './containerd';

const run = promisify(execFile);

/** A berthd process on a private root, state dir and socket, driven by the same `ctr` as containerd. */
export interface BerthdProcess {
  address: string;
  pid: number;
  ctr(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const BERTHD = fileURLToPath(new URL('../../packages/engine/dist/berthd.js', import.meta.url));

/** Starts `berthd` (the built command) under a temp dir and waits until `ctr version` answers. */
export async function startBerthd(): Promise<BerthdProcess> {
  const dir = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-bench-berthd-'));
  const address = join(dir, 'berthd.sock');
  const daemon = spawn(process.execPath, [BERTHD, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  daemon.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const ctr = async (...args: string[]) => (await run('/usr/bin/ctr', ['--address', address, '--namespace', 'bench', ...args], { maxBuffer: 64 << 20 })).stdout;
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
  throw new Error(`berthd did not start:\n${log}`);
}
