import { invalidArgument } from '@berth/errdefs';
import { normalizeReference } from '@berth/spec';

/**
 * How archives name images, after containerd's `images/archive` and `ctr images import`.
 *
 * An index entry names its image with the annotation `io.containerd.image.name` (a full
 * reference, used as is) or else `org.opencontainers.image.ref.name` (in OCI layouts usually
 * just a tag), which goes through a *translator*: a tag-only name gets a prefix, a full name
 * is kept (or dropped when it does not start with the prefix and the prefix filters).
 */

/** The annotation containerd puts the full image name in. */
export const AnnotationImageName = 'io.containerd.image.name';
/** The OCI annotation for a reference name (a tag, in OCI layouts). */
export const AnnotationRefName = 'org.opencontainers.image.ref.name';

/**
 * The OCI ref name for a full image name: what follows the repository, a tag
 * (`docker.io/library/busybox:latest` → `latest`) or `@digest`. A name with no `/` is returned
 * unchanged; a name without tag or digest gives "".
 */
export function ociReferenceName(name: string): string {
  const slash = name.indexOf('/');
  if (slash === -1) return name;
  const path = name.slice(slash + 1);
  const at = path.search(/[:@]/);
  if (at === -1) return '';
  const object = path.slice(at);
  return object.startsWith(':') ? object.slice(1) : object;
}

/**
 * A Docker `RepoTags` entry (`busybox:latest`, `ghcr.io/a/b:1`) as the full reference it stands
 * for (`docker.io/library/busybox:latest`). InvalidArgument naming the tag when it does not parse.
 */
export function normalizeRepoTag(tag: string): string {
  try {
    return normalizeReference(tag);
  } catch (err) {
    throw invalidArgument(`manifest.json: RepoTags ${JSON.stringify(tag)}: ${(err as Error).message}`, { cause: err });
  }
}

function hasImagePrefix(ref: string, prefix: string): boolean {
  if (!ref.startsWith(prefix)) return false;
  return ref.length === prefix.length || '/:@'.includes(ref[prefix.length]!);
}

/**
 * A translator for `org.opencontainers.image.ref.name` values. A tag-only value becomes
 * `<prefix>:<tag>`; a value with `/`, `:` or `@` is a full name, kept as is when `filter` is
 * false, or kept only if it starts with `prefix` (at a `/`, `:` or `@` boundary) when `filter`
 * is true, else "" (no image). An empty prefix yields "" for everything.
 */
export function refTranslator(prefix: string, filter: boolean): (ref: string) => string {
  return (ref) => {
    if (prefix === '' || ref === '') return '';
    if (/[/:@]/.test(ref)) return filter && !hasImagePrefix(ref, prefix) ? '' : ref;
    return `${prefix}:${ref}`;
  };
}

/** `import-YYYY-MM-DD`, the prefix `ctr images import` gives tag-only names by default. */
export function defaultImportPrefix(now: Date = new Date()): string {
  return `import-${now.toISOString().slice(0, 10)}`;
}

/**
 * The image name an index entry's annotations give: `io.containerd.image.name` if set, else
 * the translated `org.opencontainers.image.ref.name`, else "" (the entry names no image).
 */
export function imageNameOf(annotations: Readonly<Record<string, string>> | undefined, translate: (ref: string) => string): string {
  const full = annotations?.[AnnotationImageName];
  if (full) return full;
  const ref = annotations?.[AnnotationRefName];
  return ref ? translate(ref) : '';
}
