import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startEngine } from '@berth/engine';
import { testImage } from '@berth/testimages';

const CLI = dirname(createRequire(import.meta.url).resolve('@berth/cli/package.json'));
/** The built `berth` program (packages/cli/dist/berth.cjs), for `node BERTH …`. */
export const BERTH = join(CLI, 'dist', 'berth.cjs');
/** The `berth` command as npm installs it (packages/cli/bin/berth, a shell script that runs BERTH). */
export const BERTH_BIN = join(CLI, 'bin', 'berth');

/** What a finished command gave. */
export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of `run`. */
export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs `berth ...args` (the installed command, a separate process) to completion. */
export function berthAt(address: string | undefined, args: string[], opts: RunOptions = {}): Promise<Result> {
  return runProgram(BERTH_BIN, [...(address ? ['--address', address] : []), ...args], opts);
}

/** Runs a program to completion, killing it after `timeoutMs` (default 30 s). */
export function runProgram(cmd: string, args: string[], opts: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A berthd on a temp root, and `berth` bound to it. */
export interface TestDaemon {
  dir: string;
  address: string;
  berth(args: string[], opts?: RunOptions): Promise<Result>;
  stop(): Promise<void>;
}

/** Starts berthd in this process on a fresh temp root and state. `stop()` removes containers' leftovers and the dir. */
export async function startDaemon(prefix = 'berth-cli-'): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const engine = await startEngine({ root: join(dir, 'root'), state: join(dir, 'state') });
  return {
    dir,
    address: engine.address,
    berth: (args, opts) => berthAt(engine.address, args, opts),
    async stop() {
      // Take down what a failed test left running, so no mount outlives the temp dir.
      const ids = (await berthAt(engine.address, ['ps', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await berthAt(engine.address, ['rm', '-f', ...ids]);
      await engine.stop();
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
      if (mounts.length === 0) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a berthd (`startDaemon`) with the busybox test image loaded through `berth load`. */
export async function startDaemonWithBusybox(prefix: string): Promise<TestDaemon> {
  const d = await startDaemon(prefix);
  const image = await testImage('busybox', 'oci');
  const loaded = await d.berth(['load', '-i', image.path]);
  if (loaded.code !== 0) {
    await d.stop();
    throw new Error(`berth load of the busybox image failed: ${loaded.stderr}`);
  }
  return d;
}

/** Polls `fn` until it returns true (at most ~10 s); no timing is asserted. */
export async function until(fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}
