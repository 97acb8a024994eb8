// Test-only helpers for the shim's integration tests (not exported by the package).
import { closeSync, constants, openSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { runcOptions, type task } from '@berth/api';
import type { ImageConfig } from '@berth/spec';
import { generateSpec, type GenerateSpecOptions } from '@berth/runtime';
import { mkfifo } from '@berth/sys';
import type { ShimClient } from './client/client';
import { RUNC_OPTIONS_TYPE_URL } from './server/task-service';

export const busyboxImage: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
  config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
};

/** A bundle: config.json generated for `lower` (a busybox tree), rootfs as an overlay on it. */
export async function makeBundle(
  base: string,
  id: string,
  lower: string,
  over: Partial<GenerateSpecOptions> = {},
): Promise<{ dir: string; rootfs: task.CreateTaskRequest['rootfs'] }> {
  const dir = join(base, 'bundles', id);
  await mkdir(join(dir, 'rootfs'), { recursive: true });
  await mkdir(join(dir, 'upper'), { recursive: true });
  await mkdir(join(dir, 'work'), { recursive: true });
  const spec = await generateSpec({ image: busyboxImage, rootfs: lower, id, ...over });
  spec.root = { path: 'rootfs', readonly: over.readonlyRootfs ?? false };
  await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
  const rootfs = [
    { type: 'overlay', source: 'overlay', target: '', options: [`lowerdir=${lower}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`] },
  ];
  return { dir, rootfs };
}

/** The task options that pick a runtime (containerd's runc options, as ctr sends them). */
export function runtimeOptions(binary: string, root: string): task.CreateTaskRequest['options'] {
  return { typeUrl: RUNC_OPTIONS_TYPE_URL, value: runcOptions.Options.encode({ binaryName: binary, root }) };
}

/** The client side of a process's stdio FIFOs, opened the way ctr opens them (never blocking). */
export class ClientIO {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  private readonly out: Promise<Buffer>;
  private readonly err: Promise<Buffer>;

  constructor(dir: string, name: string, opts: { stderr?: boolean } = {}) {
    this.stdin = join(dir, `${name}-stdin`);
    this.stdout = join(dir, `${name}-stdout`);
    this.stderr = opts.stderr === false ? '' : join(dir, `${name}-stderr`);
    for (const p of [this.stdin, this.stdout, this.stderr]) if (p) mkfifo(p, 0o600);
    this.out = collect(this.stdout);
    this.err = this.stderr ? collect(this.stderr) : Promise.resolve(Buffer.alloc(0));
  }

  /** Writes `data` to stdin and closes it (after the shim opened its end, i.e. after Create/Exec). */
  writeStdin(data: string | Buffer): Promise<void> {
    const fd = openSync(this.stdin, constants.O_WRONLY | constants.O_NONBLOCK);
    const s = new Socket({ fd, readable: false, writable: true });
    return new Promise((resolve, reject) => {
      s.on('error', reject);
      s.end(data, () => {
        s.destroy();
        resolve();
      });
    });
  }

  async output(): Promise<{ stdout: string; stderr: string }> {
    return { stdout: (await this.out).toString(), stderr: (await this.err).toString() };
  }

  async outputBytes(): Promise<Buffer> {
    return this.out;
  }
}

function collect(path: string): Promise<Buffer> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const s = new Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

/** Runs a task to its end: create, start, wait, delete; returns its output and exit status. */
export async function runToEnd(
  client: ShimClient,
  req: Partial<task.CreateTaskRequest> & { id: string; bundle: string },
  io: ClientIO,
  stdin?: string,
): Promise<{ stdout: string; stderr: string; exitStatus: number }> {
  await client.create({ stdin: stdin === undefined ? '' : io.stdin, stdout: io.stdout, stderr: io.stderr, ...req });
  if (stdin !== undefined) {
    // As ctr does: write, close the FIFO, then CloseIO (the shim holds the FIFO open until then).
    await io.writeStdin(stdin);
    await client.closeIO({ id: req.id, stdin: true });
  }
  await client.start({ id: req.id });
  const { exitStatus } = await client.wait({ id: req.id });
  const out = await io.output();
  await client.delete({ id: req.id });
  return { ...out, exitStatus };
}

/** Pids of zombie children of `ppid`. */
export function zombieChildren(ppid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z' && Number(rest[1]) === ppid) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** Mount points under `dir` (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closed
  }
}
