#!/usr/bin/env node
/**
 * berth-shim: `serve` runs a shim (normally started by `start`), `start` prints the address of
 * the shim for a group (starting it if needed), `delete` cleans up after a dead shim and prints
 * the exit as JSON.
 */
import { parseArgs } from 'node:util';
import { cleanupTask } from './client/cleanup';
import { startShim } from './client/start';
import { serveShim } from './server/serve';

const USAGE = `usage:
  berth-shim start [--group KEY] [--socket-dir DIR] [--runtime crun|runc|PATH] [--runtime-root DIR] [--idle-exit-ms N]
  berth-shim delete --bundle DIR --id ID [--runtime R --runtime-root DIR]
  berth-shim serve --socket PATH --runtime R --runtime-root DIR [--idle-exit-ms N] [--ready-fd N]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      group: { type: 'string' },
      'socket-dir': { type: 'string' },
      socket: { type: 'string' },
      runtime: { type: 'string' },
      'runtime-root': { type: 'string' },
      'idle-exit-ms': { type: 'string' },
      'ready-fd': { type: 'string' },
      bundle: { type: 'string' },
      id: { type: 'string' },
    },
    strict: true,
  });
  const idle = values['idle-exit-ms'] === undefined ? undefined : Number(values['idle-exit-ms']);
  switch (command) {
    case 'serve': {
      if (!values.socket || !values.runtime || !values['runtime-root']) break;
      await serveShim({
        socket: values.socket,
        runtime: values.runtime,
        runtimeRoot: values['runtime-root'],
        idleExitMs: idle,
        readyFd: values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']),
      });
      // Stopped serving (Shutdown, idle): leave now, even with containers still running (they
      // keep running; pending pidfd waits and stdio copies would otherwise keep this process up).
      process.exit(0);
    }
    case 'start': {
      const shim = await startShim({
        group: values.group,
        socketDir: values['socket-dir'],
        runtime: values.runtime,
        runtimeRoot: values['runtime-root'],
        idleExitMs: idle,
      });
      process.stdout.write(`${shim.address}\n`);
      return 0;
    }
    case 'delete': {
      if (!values.bundle || !values.id) break;
      const r = await cleanupTask({ bundle: values.bundle, id: values.id, runtime: values.runtime, runtimeRoot: values['runtime-root'] });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`berth-shim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
