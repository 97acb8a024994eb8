import { open } from 'node:fs/promises';

// ELF e_machine values (System V ABI) mapped to GOARCH names, as OCI platforms spell them.
const elfMachines: ReadonlyMap<number, string> = new Map([
  [0x03, '386'],
  [0x08, 'mips64le'],
  [0x14, 'ppc'],
  [0x15, 'ppc64le'],
  [0x16, 's390x'],
  [0x28, 'arm'],
  [0x3e, 'amd64'],
  [0xb7, 'arm64'],
  [0xf3, 'riscv64'],
  [0x102, 'loong64'],
]);

const nodeArches: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/**
 * The OCI architecture (GOARCH name) of the ELF executable at `path`, read from its header, so an
 * image built around a binary says what the binary is, whichever host builds it. Throws for a file
 * that is not ELF or a machine this table does not know.
 */
export async function elfArchitecture(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(20);
    await handle.read(header, 0, 20, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
    const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
    const arch = elfMachines.get(machine);
    if (!arch) throw new Error(`${path}: unknown ELF machine 0x${machine.toString(16)}`);
    return arch;
  } finally {
    await handle.close();
  }
}

/** The OCI architecture of the running Node process (`process.arch` in GOARCH spelling). */
export function hostArchitecture(): string {
  const arch = nodeArches[process.arch];
  if (!arch) throw new Error(`unsupported host architecture ${process.arch}`);
  return arch;
}
