import { invalidArgument } from '@berth/errdefs';
import type { Platform } from './descriptor';

const knownOS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux',
  'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos',
]);
const knownArch = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64',
  'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64',
  's390', 's390x', 'sparc', 'sparc64', 'wasm',
]);

// Node's names for what Go (and so OCI) calls GOOS and GOARCH.
const nodeToGoOS: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'solaris' };
const nodeToGoArch: Readonly<Record<string, string>> = {
  x64: 'amd64', ia32: '386', mipsel: 'mipsle', mips64el: 'mips64le', ppc64: 'ppc64le',
};

/**
 * The platform this process runs on, from `process.platform` and `process.arch`, already
 * normalized. On 32-bit arm the variant is the ARM version Node was built for (default v7).
 */
export function defaultPlatform(): Platform {
  const os = nodeToGoOS[process.platform] ?? process.platform;
  const architecture = nodeToGoArch[process.arch] ?? process.arch;
  if (architecture !== 'arm') return { os, architecture };
  const variables = (process.config as { variables?: Record<string, unknown> }).variables ?? {};
  const version = variables['arm_version'];
  return normalizePlatform({ os, architecture, variant: typeof version === 'string' ? `v${version}` : 'v7' });
}

function normalizeArch(arch: string, variant: string): [string, string] {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case 'i386':
    case 'i686':
      return ['386', ''];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', v === 'v1' ? '' : v];
    case 'aarch64':
    case 'arm64':
      if (v === '8' || v === 'v8' || v === 'v8.0') return ['arm64', ''];
      if (v === '9' || v === '9.0' || v === 'v9.0') return ['arm64', 'v9'];
      return ['arm64', v];
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      if (v === '' || v === '7') return ['arm', 'v7'];
      if (v === '5' || v === '6' || v === '8') return ['arm', `v${v}`];
      return ['arm', v];
    default:
      return [a, v];
  }
}

function normalizeOS(os: string): string {
  if (os === '') return defaultPlatform().os;
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/**
 * The canonical form used for matching: OS lower-case (`macos` → `darwin`, empty → this host's);
 * architecture aliases resolved (`x86_64`/`x86-64` → amd64, `aarch64` → arm64, `i386`/`i686` →
 * 386, `armhf` → arm v7, `armel` → arm v6); the default variants dropped or made explicit
 * (amd64 v1 and arm64 v8 drop away, arm without a variant is v7, a bare digit gets a `v`);
 * OS features sorted and de-duplicated. Unset optional fields stay unset. Never throws.
 */
export function normalizePlatform(p: Platform): Platform {
  const [architecture, variant] = normalizeArch(p.architecture ?? '', p.variant ?? '');
  const out: Platform = { os: normalizeOS(p.os ?? ''), architecture };
  if (variant !== '') out.variant = variant;
  if (p['os.version'] !== undefined && p['os.version'] !== '') out['os.version'] = p['os.version'];
  const features = p['os.features'];
  if (features !== undefined && features.length > 0) out['os.features'] = [...new Set(features)].sort();
  return out;
}

const osGrammar = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;
const componentGrammar = /^[A-Za-z0-9_.-]+$/;

/**
 * Parses a platform specifier as containerd does: `os[/arch[/variant]]`, or a lone `arch`.
 * The OS may carry a version and features, `windows(10.0.17763+win32k)`, with `%`-escapes.
 * A lone known OS gets this host's architecture, a lone known architecture this host's OS.
 * Aliases are resolved (`linux/aarch64` → linux/arm64); with two components an arm v7 variant
 * is left out (`linux/armhf` → linux/arm), with three an arm64 variant is kept explicit
 * (`linux/arm64/v8` stays v8). `normalizePlatform` gives the matching form.
 *
 * Throws InvalidArgument naming the specifier for wildcards, more than three components,
 * malformed components, and a lone word that is neither a known OS nor a known architecture.
 */
export function parsePlatform(specifier: string): Platform {
  const fail = (why: string): never => {
    throw invalidArgument(`platform ${JSON.stringify(specifier)}: ${why}`);
  };
  if (specifier.includes('*')) fail('wildcards are not supported');
  const parts = specifier.split('/');
  if (parts.length > 3) fail('want os[/arch[/variant]]');
  const osMatch = osGrammar.exec(parts[0]!) ?? fail(`invalid os component "${parts[0]}"`);
  for (const part of parts.slice(1)) if (!componentGrammar.test(part)) fail(`invalid component "${part}"`);

  const p: Platform = { os: normalizeOS(osMatch[1]!), architecture: '' };
  const version = decode(osMatch[2] ?? '', fail);
  if (version !== '') p['os.version'] = version;
  const features = (osMatch[3] ?? '').split('+').slice(1).map((f) => decode(f, fail)).filter((f) => f !== '');
  if (features.length > 0) p['os.features'] = features;

  if (parts.length === 1) {
    if (knownOS.has(p.os)) {
      const host = defaultPlatform();
      p.architecture = host.architecture;
      if (host.variant !== undefined && !(host.architecture === 'arm' && host.variant === 'v7')) p.variant = host.variant;
      return p;
    }
    const [arch, variant] = normalizeArch(parts[0]!, '');
    if (!knownArch.has(arch)) fail('unknown operating system or architecture');
    const host = defaultPlatform();
    const out: Platform = { os: host.os, architecture: arch };
    if (variant !== '' && !(arch === 'arm' && variant === 'v7')) out.variant = variant;
    return out;
  }
  const [arch, variant] = normalizeArch(parts[1]!, parts[2] ?? '');
  p.architecture = arch;
  if (parts.length === 2) {
    if (variant !== '' && !(arch === 'arm' && variant === 'v7')) p.variant = variant;
  } else if (variant !== '') p.variant = variant;
  else if (arch === 'arm64') p.variant = 'v8';
  return p;
}

function decode(value: string, fail: (why: string) => never): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return fail(`invalid escape in "${value}"`);
  }
}

const encodeOption = (v: string): string =>
  v.replace(/[%+()/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/**
 * The specifier form `os/arch[/variant]` (`unknown` when the OS is empty). With `all`, the OS
 * version and features are included as `os(version+feature)`, the form `parsePlatform` reads.
 */
export function formatPlatform(p: Platform, options: { all?: boolean } = {}): string {
  if (!p.os) return 'unknown';
  let os = p.os;
  if (options.all) {
    const version = encodeOption(p['os.version'] ?? '');
    const features = [...new Set(p['os.features'] ?? [])].filter((f) => f !== '').sort().map(encodeOption).join('+');
    if (version !== '' || features !== '') os += `(${version}${features === '' ? '' : `+${features}`})`;
  }
  return [os, p.architecture, p.variant].filter((c) => c !== undefined && c !== '').join('/');
}
