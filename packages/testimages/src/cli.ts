#!/usr/bin/env node
import { buildImage } from './build';
import type { ArchiveFormat, ImageName } from './types';

const usage = 'usage: berth-testimages <busybox|layers|large> <oci|docker> OUT.tar';

/** `berth-testimages <busybox|layers|large> <oci|docker> OUT.tar`: builds the archive and prints its manifest digest. */
async function main(argv: readonly string[]): Promise<number> {
  const [name, format, out] = argv;
  if (argv.length !== 3 || !['busybox', 'layers', 'large'].includes(name ?? '') || (format !== 'oci' && format !== 'docker') || !out) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const built = await buildImage(name as ImageName, format as ArchiveFormat, out);
  process.stdout.write(`${built.manifest.digest}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`berth-testimages: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
