import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testImage } from '@berth/testimages';
import { afterAll, describe, expect, it } from 'vitest';
import { BERTH, BERTH_BIN, berthAt, runProgram } from './harness';

// berth without a berthd, and `berth daemon start|stop|status` running a real berthd in the background.
const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'berth-cli-daemon-'));
const address = join(dir, 'state', 'berthd.sock');

afterAll(async () => {
  await berthAt(address, ['daemon', 'stop']);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('startup path', () => {
  it('loads no gRPC before a subcommand that needs it runs', async () => {
    // A preload that records the builtins the process loads: the gRPC client needs net as soon
    // as it is initialized, and the bundle initializes it only when a command's module asks for it.
    const preload = join(dir, 'record-builtins.cjs');
    writeFileSync(
      preload,
      `const Module = require('node:module'); const load = Module._load; const seen = new Set();
       Module._load = function (request, ...rest) { seen.add(request.replace(/^node:/, '')); return load.call(this, request, ...rest); };
       process.on('exit', () => require('node:fs').writeSync(2, 'builtins: ' + [...seen].join(',') + '\\n'));`,
    );
    const builtins = async (args: string[]) => {
      const r = await runProgram(process.execPath, ['--require', preload, BERTH, '--address', address, ...args]);
      return r.stderr.match(/^builtins: (.*)$/m)?.[1]?.split(',') ?? [];
    };
    expect(await builtins(['--help'])).not.toContain('net');
    expect(await builtins(['ps', '--help'])).not.toContain('net');
    // The check can fail: a command that talks to berthd does load net, for its socket; and
    // never Node's http2 (~9 ms to load): the client speaks HTTP/2 itself.
    const version = await builtins(['version']);
    expect(version).toContain('net');
    // Nor the modules a short command does not use, which the client loads on first use.
    for (const unused of ['http2', 'crypto', 'child_process', 'zlib', 'fs/promises']) expect(version).not.toContain(unused);
  });
});

describe('the berth command (bin/berth)', () => {
  // A certificate file Node cannot read makes it warn at startup: the warning shows whether Node
  // was told to load extra certificates at all.
  const missingCa = { NODE_EXTRA_CA_CERTS: join(dir, 'no-such-ca.pem') };

  it('runs through the symlinks npm makes to it', async () => {
    const bin = join(dir, 'node_modules', '.bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(BERTH_BIN, join(bin, 'berth'));
    expect(await runProgram(join(bin, 'berth'), ['--version'])).toEqual({ code: 0, stdout: expect.stringMatching(/^berth version /), stderr: '' });
  });

  it('does not make Node parse NODE_EXTRA_CA_CERTS for a command that needs no TLS', async () => {
    expect((await runProgram(process.execPath, [BERTH, '--version'], { env: missingCa })).stderr).toContain('Ignoring extra certs');
    expect(await runProgram(BERTH_BIN, ['--version'], { env: missingCa })).toEqual({ code: 0, stdout: expect.stringMatching(/^berth version /), stderr: '' });
  });
});

describe('without berthd', () => {
  it('run exits 125 and prints the exact command that starts berthd', async () => {
    const r = await berthAt(address, ['run', '--rm', 'busybox', 'echo', 'hi']);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`berth: cannot connect to berthd at ${address}: is it running?\nStart it with: berth --address ${address} daemon start\n`);
  });

  it('other commands exit 1 with the same advice; the default address gives the short command', async () => {
    const r = await berthAt(address, ['ps']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Start it with: berth --address ${address} daemon start`);
    const env = await berthAt(undefined, ['images'], { env: { BERTH_ADDRESS: address } });
    expect(env.stderr).toContain(`cannot connect to berthd at ${address}`);
  });

  it('version prints the client part and fails on the server part', async () => {
    const r = await berthAt(address, ['version']);
    expect(r.stdout).toMatch(/^Client:\n Version:\s+\d+\.\d+\.\d+\n/);
    expect(r.code).toBe(1);
    expect((await berthAt(address, ['--version'])).stdout).toMatch(/^berth version \d+\.\d+\.\d+\n$/);
  });

  it('daemon status exits 3 and says how to start it', async () => {
    expect(await berthAt(address, ['daemon', 'status'])).toEqual({
      code: 3,
      stdout: `berthd is not running at ${address}\nStart it with: berth --address ${address} daemon start\n`,
      stderr: '',
    });
  });

  it('prints help without berthd', async () => {
    expect(await berthAt(address, ['ps', '--help'])).toEqual({ code: 0, stdout: expect.stringMatching(/^Usage:  berth ps /), stderr: '' });
    expect((await berthAt(address, ['run', '--help'])).stdout).toMatch(/^Usage:  berth run \[OPTIONS\] IMAGE/);
    expect((await berthAt(address, ['--help'])).stdout).toContain('daemon start|stop|status');
  });

  it('an unknown command exits 125', async () => {
    const r = await berthAt(address, ['frobnicate']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("'frobnicate' is not a berth command.");
  });
});

describe.skipIf(!isRoot)('berth daemon', () => {
  it('starts berthd in the background with a log file, serves, and stops it', async () => {
    // berthd talks to registries: it gets the NODE_EXTRA_CA_CERTS that bin/berth kept from berth.
    const start = await berthAt(address, ['daemon', 'start', '--root', join(dir, 'root')], { env: { NODE_EXTRA_CA_CERTS: join(dir, 'no-such-ca.pem') } });
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/^berthd started \(pid \d+\)/);
    const log = join(dir, 'state', 'berthd.log');
    expect(existsSync(log)).toBe(true);
    expect(readFileSync(log, 'utf8')).toContain('serving');
    expect(readFileSync(log, 'utf8')).toContain(`Ignoring extra certs from \`${join(dir, 'no-such-ca.pem')}\``);

    const status = await berthAt(address, ['daemon', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^berthd is running at .* \(version .*, pid \d+\)\n$/);
    // A second start is a no-op.
    expect((await berthAt(address, ['daemon', 'start', '--root', join(dir, 'root')])).stdout).toContain('already running');

    const version = JSON.parse((await berthAt(address, ['version', '--format', 'json'])).stdout) as { Server: { Version: string } };
    expect(version.Server.Version).toMatch(/berth/);
    const image = await testImage('busybox', 'oci');
    expect((await berthAt(address, ['load', '-i', image.path])).code).toBe(0);
    expect(await berthAt(address, ['run', '--rm', 'busybox', 'echo', 'hi'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    const info = JSON.parse((await berthAt(address, ['info', '--format', 'json'])).stdout) as { Images: number; Containers: number };
    expect(info).toMatchObject({ Images: 1, Containers: 0 });

    const stop = await berthAt(address, ['daemon', 'stop']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^berthd stopped/);
    expect((await berthAt(address, ['daemon', 'status'])).code).toBe(3);
  });
});
