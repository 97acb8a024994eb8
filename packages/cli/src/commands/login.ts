import { createInterface } from 'node:readline';
import { parseArgs } from '../args';
import { authKey, dockerConfigPath, readDockerConfig, writeDockerConfig } from '../docker-config';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/**
 * `berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`: stores `user:password`
 * (base64, in `auths[SERVER].auth`) in the Docker config that berthd's pulls and pushes read.
 * The credentials are not checked against the registry here: the engine uses them on the next
 * pull or push. SERVER defaults to Docker Hub.
 */
export default async function login(_g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { username: { kind: 'string', short: 'u' }, password: { kind: 'string', short: 'p' }, 'password-stdin': { kind: 'bool' } });
  if (args.length > 1) throw new CliError('"login" requires at most 1 argument: berth login [OPTIONS] [SERVER]', 125);
  const key = authKey(args[0]);
  let username = flags.username;
  let password = flags.password;
  if (flags['password-stdin']) {
    if (password !== undefined) throw new CliError('--password and --password-stdin are mutually exclusive', 125);
    if (!username) throw new CliError('Must provide --username with --password-stdin', 125);
    password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (username === undefined || password === undefined) {
    if (!process.stdin.isTTY) throw new CliError('Cannot perform an interactive login from a non TTY device');
    username ??= await ask('Username: ', false);
    password ??= await ask('Password: ', true);
  }
  if (!username || !password) throw new CliError('Error: username and password are required');
  const path = dockerConfigPath();
  const config = readDockerConfig(path);
  const auths = (config['auths'] && typeof config['auths'] === 'object' ? config['auths'] : {}) as Record<string, Record<string, unknown>>;
  auths[key] = { ...auths[key], auth: Buffer.from(`${username}:${password}`).toString('base64') };
  config['auths'] = auths;
  writeDockerConfig(path, config);
  process.stderr.write(`WARNING! Your password will be stored unencrypted in ${path}.\n`);
  process.stdout.write('Login Succeeded\n');
  return 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a line from the terminal; `hidden` keeps what is typed off the screen. */
async function ask(prompt: string, hidden: boolean): Promise<string> {
  process.stdout.write(prompt);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  if (hidden) (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const line = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  if (hidden) process.stdout.write('\n');
  return line.trim();
}
