import { CLI_VERSION, type Globals } from '../globals';
import { parseArgs } from '../args';

/** `berth version`: the client's version at once, then the server's (if berthd answers). */
export default async function version(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { format: { kind: 'string', short: 'f' } });
  const client = { Version: CLI_VERSION, ApiVersion: '1.6.20', Os: process.platform, Arch: process.arch, Node: process.version };
  if (flags.format !== 'json') process.stdout.write(`Client:\n Version:     ${client.Version}\n API version: ${client.ApiVersion}\n Node:        ${client.Node}\n OS/Arch:     ${client.Os}/${client.Arch}\n\n`);
  const { VersionClient, connect } = await import('@berth/client');
  const conn = connect(g.address, { namespace: g.namespace });
  try {
    const v = await new VersionClient(conn).version({ deadline: 5000 });
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ Client: client, Server: { Version: v.version, Revision: v.revision, Address: g.address } })}\n`);
    else process.stdout.write(`Server: berthd\n Version:     ${v.version}\n Revision:    ${v.revision || '-'}\n Address:     ${g.address}\n`);
    return 0;
  } catch (err) {
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ Client: client, Server: null })}\n`);
    throw err;
  } finally {
    conn.close();
  }
}
