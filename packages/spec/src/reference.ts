import { invalidArgument } from '@berth/errdefs';
import { parseDigest, type Digest } from './digest';

/** The registry a reference without a domain points to. */
export const defaultDomain = 'docker.io';

/** The tag a reference with neither tag nor digest gets when normalized. */
export const defaultTag = 'latest';

/** The longest repository path, without the domain. */
export const maxPathLength = 255;

/**
 * A parsed, normalized image reference. `name` is `domain/path`; `domain` is never empty
 * (`docker.io` when the input had none) and Docker Hub's official images carry their
 * `library/` prefix (`busybox` → path `library/busybox`).
 */
export interface Reference {
  readonly domain: string;
  readonly path: string;
  readonly name: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

const legacyDefaultDomain = 'index.docker.io';
const officialPrefix = 'library/';
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainGrammar = new RegExp(
  `^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const pathGrammar = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagGrammar = /^\w[\w.-]{0,127}$/;
const imageIdGrammar = /^[a-f0-9]{64}$/;

/**
 * Parses an image reference the way Docker and containerd's CRI do (distribution's
 * `ParseNormalizedNamed`): `busybox`, `busybox:1.36`, `ghcr.io/o/r@sha256:…`,
 * `localhost:5000/a/b:t`, `name:tag@sha256:…`.
 *
 * The first `/`-separated component is a domain when it contains `.` or `:`, is `localhost`,
 * or has upper-case letters; otherwise the reference is on Docker Hub, and a single-component
 * path there gets `library/`. `index.docker.io` becomes `docker.io`. No default tag is added
 * (see `normalizeReference`).
 *
 * Throws InvalidArgument naming the reference when it is empty, a bare 64-hex-character string
 * (ambiguous with an image ID), has upper-case letters in its path, a malformed domain, path or
 * tag (`\w[\w.-]{0,127}`), a path longer than 255 characters, or a digest `parseDigest` refuses.
 */
export function parseReference(s: string): Reference {
  const fail = (why: string, cause?: unknown): never => {
    throw invalidArgument(`reference ${JSON.stringify(s)}: ${why}`, cause === undefined ? undefined : { cause });
  };
  if (typeof s !== 'string' || s === '') throw invalidArgument('reference must not be empty');
  if (imageIdGrammar.test(s)) fail('a 64-character hexadecimal name is ambiguous with an image id; give a digest instead');

  const [domain, remainder] = splitDomain(s);
  const at = remainder.indexOf('@');
  const named = at === -1 ? remainder : remainder.slice(0, at);
  const colon = named.indexOf(':');
  const path = colon === -1 ? named : named.slice(0, colon);
  const tag = colon === -1 ? undefined : named.slice(colon + 1);

  if (path.toLowerCase() !== path) fail('repository name must be lowercase');
  if (path === '' || !pathGrammar.test(path)) fail(`invalid repository path "${path}"`);
  if (path.length > maxPathLength) fail(`repository path must not be more than ${maxPathLength} characters`);
  if (!domainGrammar.test(domain)) fail(`invalid domain "${domain}"`);
  if (tag !== undefined && !tagGrammar.test(tag)) fail(`invalid tag "${tag}": want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -`);
  let digest: Digest | undefined;
  if (at !== -1) {
    try {
      digest = parseDigest(remainder.slice(at + 1));
    } catch (err) {
      fail((err as Error).message, err);
    }
  }
  return makeReference(domain, path, tag, digest);
}

function splitDomain(s: string): [string, string] {
  const slash = s.indexOf('/');
  if (slash === -1) return [defaultDomain, officialPrefix + s];
  const first = s.slice(0, slash);
  const rest = s.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (first === legacyDefaultDomain) [domain, remote] = [defaultDomain, rest];
  else if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) [domain, remote] = [first, rest];
  else [domain, remote] = [defaultDomain, s];
  if (domain === defaultDomain && !remote.includes('/')) remote = officialPrefix + remote;
  return [domain, remote];
}

function makeReference(domain: string, path: string, tag?: string, digest?: Digest): Reference {
  const ref: { -readonly [K in keyof Reference]: Reference[K] } = { domain, path, name: `${domain}/${path}` };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The full string form, `domain/path[:tag][@digest]`. `parseReference` of it gives `ref` back. */
export function formatReference(ref: Reference): string {
  return `${ref.domain}/${ref.path}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/**
 * The reference berth stores an image under (distribution's `ParseDockerRef`): parsed and
 * normalized, with tag `latest` when neither tag nor digest is given, and with the tag dropped
 * when a digest is given, because the digest alone decides the content
 * (`busybox:1@sha256:…` → `docker.io/library/busybox@sha256:…`). Throws like `parseReference`.
 */
export function normalizeReference(s: string | Reference): string {
  const ref = typeof s === 'string' ? parseReference(s) : s;
  if (ref.digest !== undefined) return formatReference(makeReference(ref.domain, ref.path, undefined, ref.digest));
  return formatReference(makeReference(ref.domain, ref.path, ref.tag ?? defaultTag));
}

/**
 * The short name Docker shows: the domain is dropped for Docker Hub, and so is `library/`
 * for official images (`docker.io/library/busybox` → `busybox`, `docker.io/a/b` → `a/b`,
 * `ghcr.io/a/b` unchanged). Tag and digest are not included.
 */
export function familiarName(ref: string | Reference): string {
  const { domain, path } = typeof ref === 'string' ? parseReference(ref) : ref;
  if (domain !== defaultDomain) return `${domain}/${path}`;
  const short = path.startsWith(officialPrefix) ? path.slice(officialPrefix.length) : path;
  return short.includes('/') ? path : short;
}

/** `familiarName` plus the tag and digest when present (`busybox:latest@sha256:…`). */
export function familiarString(ref: string | Reference): string {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  return `${familiarName(r)}${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
}
