import { parseArgs } from '../args';
import { authKey, dockerConfigPath, readDockerConfig, writeDockerConfig } from '../docker-config';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/** `berth logout [SERVER]`: removes the server's `auths` entry from the Docker config (Docker Hub by default). */
export default async function logout(_g: Globals, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  if (args.length > 1) throw new CliError('"logout" requires at most 1 argument: berth logout [SERVER]', 125);
  const key = authKey(args[0]);
  const path = dockerConfigPath();
  const config = readDockerConfig(path);
  const auths = config['auths'] as Record<string, unknown> | undefined;
  if (!auths || !(key in auths)) {
    process.stdout.write(`Not logged in to ${key}\n`);
    return 0;
  }
  process.stdout.write(`Removing login credentials for ${key}\n`);
  delete auths[key];
  writeDockerConfig(path, config);
  return 0;
}
