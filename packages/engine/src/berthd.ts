#!/usr/bin/env node
/**
 * berthd [--root DIR] [--state DIR] [--address SOCK] [--config FILE] [--runtime crun|runc|PATH]
 *        [--registry-config-path DIRS] [--log-level L]
 *
 * Serves containerd's v1 gRPC API on a unix socket. SIGTERM or SIGINT stops it gracefully;
 * containers keep running under their shims. `--config` is a JSON file with the same keys
 * (root, state, address, runtime, registryConfigPath, logLevel); flags win over it.
 * `--registry-config-path` is containerd's `config_path`: directories (colon-separated) of
 * `<host>/hosts.toml` registry settings, default /etc/berth/certs.d:/etc/containerd/certs.d.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEngine } from './engine';
import { createLogger, type LogLevel } from './daemon/log';

const USAGE =
  'usage: berthd [--root DIR] [--state DIR] [--address SOCK] [--config FILE] [--runtime crun|runc|PATH] [--registry-config-path DIRS] [--log-level debug|info|warn|error]';

/** Where registry host settings are looked for when nothing says otherwise (berth's, then containerd's). */
const DEFAULT_REGISTRY_CONFIG_PATH = '/etc/berth/certs.d:/etc/containerd/certs.d';

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string' },
        state: { type: 'string' },
        address: { type: 'string', short: 'a' },
        config: { type: 'string', short: 'c' },
        runtime: { type: 'string' },
        'registry-config-path': { type: 'string' },
        'log-level': { type: 'string', short: 'l' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = values.config ? (JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, string | undefined>) : {};
  const level = (values['log-level'] ?? file.logLevel ?? 'info') as LogLevel;
  const log = createLogger(level);
  const engine = await startEngine({
    root: values.root ?? file.root,
    state: values.state ?? file.state,
    address: values.address ?? file.address,
    runtime: values.runtime ?? file.runtime,
    registry: { configPath: values['registry-config-path'] ?? file.registryConfigPath ?? DEFAULT_REGISTRY_CONFIG_PATH },
    log,
  });
  log.info(`serving containerd's v1 API on ${engine.address} (root ${engine.root}, state ${engine.state})`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info(`${signal}: stopping (containers keep running)`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await engine.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`berthd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
