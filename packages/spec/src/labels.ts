import { invalidArgument } from '@berth/errdefs';

/** The largest label, key and value together, in UTF-8 bytes (containerd's limit). */
export const maxLabelSize = 4096;

// A long key is cut in the message so the error stays readable.
const keyInMessage = 64;

/**
 * Well-known label keys that containerd and its clients read. Keys ending in `.` are prefixes;
 * build the full key with the helpers below (`gcRefContentLayer(0)`).
 */
export const Label = {
  /** Prefix reserved for labels containerd itself defines; never copy them from untrusted input. */
  ReservedPrefix: 'containerd.io/',
  /** Prefix reserved for containerd's CRI plugin. */
  CriPrefix: 'io.cri-containerd',
  /** Pins the object against garbage collection. */
  GcRoot: 'containerd.io/gc.root',
  /** On a lease: RFC 3339 time after which the lease expires. */
  GcExpire: 'containerd.io/gc.expire',
  /** On a lease: hold only the objects leased directly, not what they reference. */
  GcFlat: 'containerd.io/gc.flat',
  /** Prefix of content references: `…content.<i>`, `…content.m.<i>`, `…content.l.<i>`, `…content.config`. */
  GcRefContentPrefix: 'containerd.io/gc.ref.content.',
  /** On a manifest: references its config blob. */
  GcRefContentConfig: 'containerd.io/gc.ref.content.config',
  /** Prefix of snapshot references, `…snapshot.<snapshotter>` = top chain ID, set on a config. */
  GcRefSnapshotPrefix: 'containerd.io/gc.ref.snapshot.',
  /** On a compressed layer blob: the digest of its uncompressed content (its diffID). */
  Uncompressed: 'containerd.io/uncompressed',
  /** Prefix of `…source.<registry host>` = comma-joined repositories a blob came from. */
  DistributionSourcePrefix: 'containerd.io/distribution.source.',
  /** On a namespace: its content may be shared with other namespaces. */
  SharedNamespace: 'containerd.io/namespace.shareable',
  /** On a container: the signal `kill` sends to stop it, from the image config. */
  ImageStopSignal: 'io.containerd.image.config.stop-signal',
} as const;

/** `containerd.io/gc.ref.content.<i>`: a generic content reference. */
export const gcRefContent = (i: number | string): string => `${Label.GcRefContentPrefix}${i}`;

/** `containerd.io/gc.ref.content.m.<i>`: an index referencing its i-th manifest. */
export const gcRefContentManifest = (i: number): string => `${Label.GcRefContentPrefix}m.${i}`;

/** `containerd.io/gc.ref.content.l.<i>`: a manifest referencing its i-th layer. */
export const gcRefContentLayer = (i: number): string => `${Label.GcRefContentPrefix}l.${i}`;

/** `containerd.io/gc.ref.snapshot.<snapshotter>`: a config referencing its unpacked top snapshot. */
export const gcRefSnapshot = (snapshotter: string): string => `${Label.GcRefSnapshotPrefix}${snapshotter}`;

/** `containerd.io/distribution.source.<host>`: where a blob was pulled from. */
export const distributionSource = (host: string): string => `${Label.DistributionSourcePrefix}${host}`;

/** True for keys in containerd's or its CRI plugin's reserved namespace. */
export function isReservedLabel(key: string): boolean {
  return key.startsWith(Label.ReservedPrefix) || key.startsWith(Label.CriPrefix);
}

/**
 * Checks one label: key and value together must be at most 4096 UTF-8 bytes. Throws
 * InvalidArgument naming the key (cut to 64 characters) otherwise.
 */
export function validateLabel(key: string, value: string): void {
  const size = Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  if (size > maxLabelSize) {
    const shown = key.length > keyInMessage ? `${key.slice(0, keyInMessage)}…` : key;
    throw invalidArgument(`label "${shown}": key and value are ${size} bytes, more than the maximum ${maxLabelSize}`);
  }
}

/**
 * Checks a label map: an object of non-empty string keys and string values, each pair within
 * `validateLabel`'s limit. Throws InvalidArgument on the first bad one; undefined is no labels.
 */
export function validateLabels(labels: Readonly<Record<string, string>> | undefined): void {
  if (labels === undefined) return;
  if (typeof labels !== 'object' || labels === null) throw invalidArgument('labels must be an object');
  for (const [key, value] of Object.entries(labels)) {
    if (key === '') throw invalidArgument('label key must not be empty');
    if (typeof value !== 'string') throw invalidArgument(`label "${key.slice(0, keyInMessage)}": value must be a string`);
    validateLabel(key, value);
  }
}
