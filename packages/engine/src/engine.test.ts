import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { health } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berthd } from './daemon/daemon';
import { createLogger } from './daemon/log';
import { startEngine } from './engine';
import { callContext } from './grpc/context';
import { API_VERSION } from './services/version';
import { thrown } from './testing';

const CTR = '/usr/bin/ctr';
const isRoot = process.getuid?.() === 0;

function ctr(address: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(CTR, ['--address', address, ...args], (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
  );
}

let base: string;
let berthd: Berthd;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-engine-'));
  berthd = await startEngine({ root: join(base, 'root'), state: join(base, 'state') });
});

afterAll(async () => {
  await berthd?.stop();
  await rm(base, { recursive: true, force: true });
});

describe('berthd', () => {
  it('serves containerd Version to ctr', async () => {
    const out = await ctr(berthd.address, 'version');
    expect(out).toMatch(/Server:\s*\n\s*Version:\s*1\.6\.20\+berth\.0\.1\.0/);
    expect(out).toContain(API_VERSION);
  });

  it('lists its plugins to `ctr plugins ls`, filtered like containerd', async () => {
    const out = await ctr(berthd.address, 'plugins', 'ls');
    expect(out).toMatch(/io\.containerd\.grpc\.v1\s+version\s+linux\/(amd64|arm64)\s+ok/);
    const filtered = await ctr(berthd.address, 'plugins', 'ls', 'id==introspection');
    expect(filtered.trim().split('\n')).toHaveLength(2); // header + one row
  });

  it('answers grpc.health.v1 Check', async () => {
    const client = new grpc.Client(`unix://${berthd.address}`, grpc.credentials.createInsecure());
    const method = health.Health.methods.check;
    const call = (service: string) =>
      new Promise<health.HealthCheckResponse>((resolve, reject) =>
        client.makeUnaryRequest(
          method.path,
          (v: health.HealthCheckRequest) => Buffer.from(method.requestType.encode(v)),
          (b: Buffer) => method.responseType.decode(b),
          { service },
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      );
    try {
      expect((await call('')).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
      await expect(call('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });

  it('has its socket at mode 0660 and refuses a second berthd on the same root', async () => {
    expect(statSync(berthd.address).mode & 0o777).toBe(0o660);
    await expect(startEngine({ root: berthd.root, state: join(base, 'state2') })).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.FailedPrecondition && /another berthd \(pid \d+\)/.test((e as Error).message),
    );
    // …and a second server on the same socket, even with another root.
    await expect(startEngine({ root: join(base, 'root3'), address: berthd.address })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.Unavailable);
    expect(existsSync(join(base, 'root3', 'berthd.lock'))).toBe(false);
  });

  it.skipIf(!isRoot)('runs as a command and stops gracefully on SIGTERM', async () => {
    const dir = join(base, 'cmd');
    const address = join(dir, 'berthd.sock');
    const child = spawn(process.execPath, [new URL('../dist/berthd.js', import.meta.url).pathname, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 200 && !log.includes('serving'); i++) await sleep(20);
    expect(await ctr(address, 'version')).toContain(API_VERSION);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(address)).toBe(false);
    expect(existsSync(join(dir, 'root', 'berthd.lock'))).toBe(false);
    expect(log).toMatch(/SIGTERM: stopping/);
  });
});

describe('debug log', () => {
  it('logs every call with its method and duration at debug level, and nothing of it at info', async () => {
    for (const level of ['debug', 'info'] as const) {
      const lines: string[] = [];
      const dir = join(base, `log-${level}`);
      const d = await startEngine({ root: join(dir, 'root'), state: join(dir, 'state'), log: createLogger(level, (l) => void lines.push(l)) });
      try {
        await ctr(d.address, 'version');
        await ctr(d.address, 'namespaces', 'rm', 'nope').catch(() => {});
      } finally {
        await d.stop();
      }
      const rpcs = lines.filter((l) => / debug rpc /.test(l));
      if (level === 'info') expect(rpcs).toEqual([]);
      else {
        expect(rpcs.some((l) => /rpc \/containerd\.services\.version\.v1\.Version\/Version \d+\.\dms$/.test(l.trim()))).toBe(true);
        expect(rpcs.some((l) => /rpc \/containerd\.services\.namespaces\.v1\.Namespaces\/Delete \d+\.\dms error: .*not found/.test(l.trim()))).toBe(true);
      }
    }
  });
});

describe('call context', () => {
  const md = (ns?: string) => {
    const m = new grpc.Metadata();
    if (ns !== undefined) m.set('containerd-namespace', ns);
    return m;
  };
  it('requires the containerd-namespace header, as containerd does', () => {
    const signal = new AbortController().signal;
    expect(() => callContext(md(), signal).namespace()).toThrow(/namespace is required/);
    expect(kindOf(thrown(() => callContext(md(''), signal).namespace()))).toBe(ErrorKind.FailedPrecondition);
    expect(kindOf(thrown(() => callContext(md('bad/ns'), signal).namespace()))).toBe(ErrorKind.InvalidArgument);
    expect(callContext(md('default'), signal).namespace()).toBe('default');
  });
});

